package push_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
)

const localPush = "127.0.0.1:9999"

func routeWorld(t *testing.T) *testkit.World {
	return newWorld(t, nil, func(c *city.Config) { c.PushAllowHosts = []string{localPush} })
}

func newKeys(t testing.TB) push.SubscriptionKeys {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	return push.SubscriptionKeys{P256dh: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(auth)}
}

func subBody(t testing.TB, endpoint string, k push.SubscriptionKeys, lang string) string {
	b, _ := json.Marshal(map[string]any{"endpoint": endpoint, "keys": k, "lang": lang})
	return string(b)
}

func TestPushKeyRoute(t *testing.T) {
	w := routeWorld(t)
	res := w.Do(t, http.MethodGet, push.PathKey, "", "")
	if res.Status != http.StatusOK {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	var body struct{ PublicKey string }
	res.JSON(t, &body)
	want, _ := push.PublicKey(w.App)
	if body.PublicKey == "" || body.PublicKey != want {
		t.Errorf("publicKey %q, want %q", body.PublicKey, want)
	}
}

func TestSubscribeRoute(t *testing.T) {
	w := routeWorld(t)
	tokA, tokB, tokClerk := testkit.Token(t, w.CitizenA), testkit.Token(t, w.CitizenB), testkit.Token(t, w.ClerkRoads)
	good := "http://" + localPush + "/push/device-1"
	keys := newKeys(t)

	cases := []struct {
		name      string
		token     string
		body      string
		status    int
		wantField string
	}{
		{"no auth", "", subBody(t, good, keys, "it"), http.StatusUnauthorized, ""},
		{"staff cannot subscribe", tokClerk, subBody(t, good, keys, "it"), http.StatusForbidden, ""},
		{"IPv4 literal", tokA, subBody(t, "https://10.0.0.1/push", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"IPv6 literal", tokA, subBody(t, "https://[::1]/push", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"metadata service", tokA, subBody(t, "http://169.254.169.254/latest/meta-data", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"plain http to a push service", tokA, subBody(t, "http://fcm.googleapis.com/fcm/send/x", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"userinfo", tokA, subBody(t, "https://a:b@fcm.googleapis.com/fcm/send/x", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"odd port", tokA, subBody(t, "https://fcm.googleapis.com:8443/fcm/send/x", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"host off the list", tokA, subBody(t, "https://push.evil.example/x", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"local push service on another port", tokA, subBody(t, "http://127.0.0.1:9998/push", keys, "it"), http.StatusBadRequest, "endpoint"},
		{"short p256dh", tokA, subBody(t, good, push.SubscriptionKeys{P256dh: "AAAA", Auth: keys.Auth}, "it"), http.StatusBadRequest, "keys"},
		{"p256dh not on the curve", tokA, subBody(t, good, push.SubscriptionKeys{P256dh: base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...)), Auth: keys.Auth}, "it"), http.StatusBadRequest, "keys"},
		{"short auth", tokA, subBody(t, good, push.SubscriptionKeys{P256dh: keys.P256dh, Auth: "AAAA"}, "it"), http.StatusBadRequest, "keys"},
		{"not JSON", tokA, "endpoint=x", http.StatusBadRequest, ""},
		{"too large", tokA, `{"endpoint":"` + strings.Repeat("a", 10<<10) + `"}`, http.StatusRequestEntityTooLarge, ""},
		{"created", tokA, subBody(t, good, keys, "sv-SE"), http.StatusCreated, ""},
		{"same endpoint again is an update", tokA, subBody(t, good, newKeys(t), "et"), http.StatusOK, ""},
		{"same browser, another citizen takes it over", tokB, subBody(t, good, newKeys(t), "hu"), http.StatusOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := w.Do(t, http.MethodPost, push.PathSubscriptions, tc.token, tc.body)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.wantField != "" {
				var e struct{ Data map[string]any }
				res.JSON(t, &e)
				if _, ok := e.Data[tc.wantField]; !ok {
					t.Errorf("error data %v does not name %q", e.Data, tc.wantField)
				}
			}
		})
	}
	recs, err := w.App.FindAllRecords(push.CollectionSubscriptions, dbx.HashExp{"endpoint": good})
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d subscriptions for the endpoint (%v), want 1", len(recs), err)
	}
	if recs[0].GetString("citizen") != w.CitizenB.Id || recs[0].GetString("lang") != "hu" {
		t.Errorf("upserted subscription: citizen %s lang %s", recs[0].GetString("citizen"), recs[0].GetString("lang"))
	}
}

func TestSubscribeKeepsAtMostTenDevices(t *testing.T) {
	w := routeWorld(t)
	tok := testkit.Token(t, w.CitizenA)
	for i := 0; i < push.MaxDevices+2; i++ {
		res := w.Do(t, http.MethodPost, push.PathSubscriptions, tok, subBody(t, fmt.Sprintf("http://%s/push/d%02d", localPush, i), newKeys(t), "en"))
		if res.Status != http.StatusCreated {
			t.Fatalf("device %d: %d %s", i, res.Status, res.Body)
		}
	}
	recs, _ := w.App.FindAllRecords(push.CollectionSubscriptions, dbx.HashExp{"citizen": w.CitizenA.Id})
	if len(recs) != push.MaxDevices {
		t.Fatalf("%d devices, want %d", len(recs), push.MaxDevices)
	}
	for _, r := range recs {
		if strings.HasSuffix(r.GetString("endpoint"), "/d00") || strings.HasSuffix(r.GetString("endpoint"), "/d01") {
			t.Errorf("the stalest devices were kept: %s", r.GetString("endpoint"))
		}
	}
}

func TestUnsubscribeRoute(t *testing.T) {
	w := routeWorld(t)
	mine := "http://" + localPush + "/push/mine"
	theirs := "http://" + localPush + "/push/theirs"
	subscribe(t, w.App, w.CitizenA, mine, newKeys(t), "en")
	subscribe(t, w.App, w.CitizenB, theirs, newKeys(t), "en")
	tok := testkit.Token(t, w.CitizenA)

	cases := []struct {
		name     string
		token    string
		endpoint string
		status   int
	}{
		{"no auth", "", mine, http.StatusUnauthorized},
		{"another citizen's endpoint is left alone", tok, theirs, http.StatusNoContent},
		{"own endpoint", tok, mine, http.StatusNoContent},
		{"again: idempotent", tok, mine, http.StatusNoContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(map[string]string{"endpoint": tc.endpoint})
			if res := w.Do(t, http.MethodDelete, push.PathSubscriptions, tc.token, string(b)); res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
		})
	}
	if _, err := w.App.FindFirstRecordByData(push.CollectionSubscriptions, "endpoint", mine); err == nil {
		t.Error("own subscription not deleted")
	}
	if _, err := w.App.FindFirstRecordByData(push.CollectionSubscriptions, "endpoint", theirs); err != nil {
		t.Error("another citizen's subscription was deleted")
	}
}

// The dashboard (records API as superuser) obeys the same allow-list.
func TestRecordsAPIObeysAllowList(t *testing.T) {
	w := routeWorld(t)
	su := testkit.Token(t, w.Superuser)
	path := "/api/collections/push_subscriptions/records"
	body := func(endpoint string) string {
		b, _ := json.Marshal(map[string]any{"citizen": w.CitizenA.Id, "endpoint": endpoint, "keys": newKeys(t), "lang": "en"})
		return string(b)
	}
	cases := []struct {
		name   string
		token  string
		body   string
		status int
	}{
		{"citizen cannot bypass the route", testkit.Token(t, w.CitizenA), body("http://" + localPush + "/p/1"), http.StatusForbidden},
		{"superuser, IP literal", su, body("https://192.168.1.1/p"), http.StatusBadRequest},
		{"superuser, unknown host", su, body("https://example.com/p"), http.StatusBadRequest},
		{"superuser, allowed", su, body("https://fcm.googleapis.com/fcm/send/ok"), http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if res := w.Do(t, http.MethodPost, path, tc.token, tc.body); res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
		})
	}
	rec, err := w.App.FindFirstRecordByData(push.CollectionSubscriptions, "endpoint", "https://fcm.googleapis.com/fcm/send/ok")
	if err != nil {
		t.Fatal(err)
	}
	rec.Set("endpoint", "https://10.1.1.1/p")
	if err := w.App.Save(rec); err == nil {
		t.Error("an update to an IP literal endpoint was saved")
	}
}
