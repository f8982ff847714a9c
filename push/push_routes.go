package push

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"civicdesk/city"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Route paths (CONTRACT §5; staff: docs/staff-api.md §6).
const (
	PathKey                = "/api/mobile/push/key"
	PathSubscriptions      = "/api/mobile/push/subscriptions"
	PathStaffSubscriptions = "/api/staff/push/subscriptions"
)

// maxSubscriptionBody bounds a subscription request (a real one is ~400 bytes).
const maxSubscriptionBody = 8 << 10

type subscriptionBody struct {
	Endpoint string           `json:"endpoint"`
	Keys     SubscriptionKeys `json:"keys"`
	Lang     string           `json:"lang"`
}

// SubscriptionResponse is the answer to a subscription upsert.
type SubscriptionResponse struct {
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
	Lang     string `json:"lang"`
}

func bindRoutes(se *core.ServeEvent) {
	se.Router.GET(PathKey, handleKey)
	g := se.Router.Group(PathSubscriptions)
	g.Bind(apis.RequireAuth("citizens"), apis.BodyLimit(maxSubscriptionBody))
	g.POST("", subscribeHandler("citizen"))
	g.DELETE("", unsubscribeHandler("citizen"))
	// staff opt in to console notifications with the same body
	sg := se.Router.Group(PathStaffSubscriptions)
	sg.Bind(apis.RequireAuth("staff"), apis.BodyLimit(maxSubscriptionBody))
	sg.POST("", subscribeHandler("staff"))
	sg.DELETE("", unsubscribeHandler("staff"))
}

func handleKey(e *core.RequestEvent) error {
	pub, err := PublicKey(e.App)
	if err != nil {
		return e.InternalServerError("Push keys are not available.", err)
	}
	e.Response.Header().Set("Cache-Control", "public, max-age=3600")
	return e.JSON(http.StatusOK, map[string]string{"publicKey": pub})
}

// subscribeHandler upserts a subscription owned by the caller; owner is the
// subscription field naming them ("citizen" or "staff").
func subscribeHandler(owner string) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error { return handleSubscribe(e, owner) }
}

func unsubscribeHandler(owner string) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error { return handleUnsubscribe(e, owner) }
}

func handleSubscribe(e *core.RequestEvent, owner string) error {
	var body subscriptionBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("The body must be a JSON object {endpoint, keys: {p256dh, auth}, lang}.", err)
	}
	body.Endpoint = strings.TrimSpace(body.Endpoint)
	errs := validation.Errors{}
	if err := AllowListOf(e.App).Check(body.Endpoint); err != nil {
		errs["endpoint"] = validation.NewError("validation_push_endpoint", strings.TrimPrefix(err.Error(), ErrEndpointRefused.Error()+": "))
	}
	if err := body.Keys.Validate(); err != nil {
		errs["keys"] = validation.NewError("validation_push_keys", err.Error())
	}
	if len(errs) > 0 {
		return e.BadRequestError("Invalid push subscription.", errs)
	}
	cfg := city.Of(e.App)
	lang := cfg.MatchLang(body.Lang, e.Auth.GetString("lang"), e.Request.Header.Get("Accept-Language"))

	var saved *core.Record
	created := false
	err := e.App.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindFirstRecordByData(CollectionSubscriptions, "endpoint", body.Endpoint)
		switch {
		case err == nil && rec.GetString(owner) != e.Auth.Id:
			// the same browser now signed in as another citizen: it belongs to them,
			// and what was queued for the previous owner must not reach it
			if _, err := tx.DB().NewQuery("UPDATE {{push_outbox}} SET [[state]] = {:superseded} WHERE [[subscription]] = {:sub} AND [[state]] = {:pending}").
				Bind(dbx.Params{"superseded": StateSuperseded, "sub": rec.Id, "pending": StatePending}).Execute(); err != nil {
				return err
			}
			if err := evictStalest(tx, owner, e.Auth.Id, MaxDevices-1); err != nil {
				return err
			}
		case err != nil:
			col, err := tx.FindCachedCollectionByNameOrId(CollectionSubscriptions)
			if err != nil {
				return err
			}
			if err := evictStalest(tx, owner, e.Auth.Id, MaxDevices-1); err != nil {
				return err
			}
			rec = core.NewRecord(col)
			rec.Set("endpoint", body.Endpoint)
			created = true
		}
		rec.Set("citizen", "")
		rec.Set("staff", "")
		rec.Set(owner, e.Auth.Id)
		rec.Set("keys", map[string]string{"p256dh": body.Keys.P256dh, "auth": body.Keys.Auth})
		rec.Set("lang", lang)
		rec.Set("failures", 0)
		saved = rec
		return tx.Save(rec)
	})
	if err != nil {
		var verrs validation.Errors
		if errors.As(err, &verrs) {
			return e.BadRequestError("Invalid push subscription.", verrs)
		}
		return e.InternalServerError("Could not save the push subscription.", err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return e.JSON(status, SubscriptionResponse{ID: saved.Id, Endpoint: saved.GetString("endpoint"), Lang: saved.GetString("lang")})
}

// evictStalest deletes the owner's least recently successful devices until at most keep remain:
// a citizen who changes phones never gets locked out by subscriptions of devices long gone.
func evictStalest(tx core.App, owner, id string, keep int) error {
	subs, err := tx.FindAllRecords(CollectionSubscriptions, dbx.HashExp{owner: id})
	if err != nil || len(subs) <= keep {
		return err
	}
	seen := func(r *core.Record) string {
		if s := r.GetDateTime("last_success"); !s.IsZero() {
			return s.String()
		}
		return r.GetDateTime("created").String()
	}
	sort.Slice(subs, func(i, j int) bool { return seen(subs[i]) < seen(subs[j]) })
	for _, r := range subs[:len(subs)-keep] {
		if err := tx.Delete(r); err != nil {
			return err
		}
	}
	return nil
}

func handleUnsubscribe(e *core.RequestEvent, owner string) error {
	var body struct {
		Endpoint string `json:"endpoint"`
	}
	if err := e.BindBody(&body); err != nil || strings.TrimSpace(body.Endpoint) == "" {
		return e.BadRequestError("The body must be a JSON object {endpoint}.", validation.Errors{"endpoint": validation.NewError("validation_required", "endpoint is required")})
	}
	rec, err := e.App.FindFirstRecordByFilter(CollectionSubscriptions, "endpoint = {:e} && "+owner+" = {:c}", dbx.Params{"e": strings.TrimSpace(body.Endpoint), "c": e.Auth.Id})
	if err == nil {
		if err := e.App.Delete(rec); err != nil {
			return e.InternalServerError("Could not delete the push subscription.", err)
		}
	}
	// 204 also when there was nothing to delete: the call is idempotent and
	// does not reveal whether another citizen holds the endpoint
	return e.NoContent(http.StatusNoContent)
}
