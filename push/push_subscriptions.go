package push

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"civicdesk/city"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// MaxDevices is how many push subscriptions one citizen may have.
const MaxDevices = 10

// SubscriptionKeys are a browser's PushSubscription keys (base64url).
type SubscriptionKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// decodeKey accepts base64url with or without padding (browsers omit it) and standard base64.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Validate checks that p256dh is an uncompressed P-256 point and auth a 16-byte secret.
func (k SubscriptionKeys) Validate() error {
	pub, err := decodeKey(k.P256dh)
	if err != nil || len(pub) != 65 {
		return errors.New("keys.p256dh must be a base64url P-256 public key (65 bytes)")
	}
	if _, err := ecdh.P256().NewPublicKey(pub); err != nil {
		return errors.New("keys.p256dh is not a valid P-256 point")
	}
	auth, err := decodeKey(k.Auth)
	if err != nil || len(auth) != 16 {
		return errors.New("keys.auth must be a base64url 16-byte secret")
	}
	return nil
}

// AllowListOf returns the endpoint allow-list of app's city configuration.
func AllowListOf(app core.App) AllowList {
	return AllowList{Extra: city.Of(app).PushAllowHosts}
}

// validateSubscription is the data-layer check of every push_subscriptions write
// (route, records API, dashboard): the endpoint allow-list, the keys and the device limit.
func validateSubscription(e *core.RecordEvent) error {
	rec := e.Record
	errs := validation.Errors{}
	if err := AllowListOf(e.App).Check(rec.GetString("endpoint")); err != nil {
		errs["endpoint"] = validation.NewError("validation_push_endpoint", strings.TrimPrefix(err.Error(), ErrEndpointRefused.Error()+": "))
	}
	var keys SubscriptionKeys
	if raw := rec.GetString("keys"); raw == "" || json.Unmarshal([]byte(raw), &keys) != nil {
		errs["keys"] = validation.NewError("validation_push_keys", "keys must be an object {p256dh, auth}")
	} else if err := keys.Validate(); err != nil {
		errs["keys"] = validation.NewError("validation_push_keys", err.Error())
	}
	if lang := rec.GetString("lang"); lang != "" {
		rec.Set("lang", city.Of(e.App).MatchLang(lang))
	}
	// a device belongs to a citizen or to a staff member (console notifications), never both
	if (rec.GetString("citizen") == "") == (rec.GetString("staff") == "") {
		errs["citizen"] = validation.NewError("validation_push_owner", "a subscription belongs to exactly one citizen or staff member")
	}
	if rec.IsNew() {
		for _, owner := range []string{"citizen", "staff"} {
			id := rec.GetString(owner)
			if id == "" {
				continue
			}
			n, err := e.App.CountRecords(CollectionSubscriptions, dbx.HashExp{owner: id})
			if err != nil {
				return err
			}
			if n >= MaxDevices {
				errs[owner] = validation.NewError("validation_push_device_limit", "this "+owner+" already has the maximum number of push devices")
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return e.Next()
}
