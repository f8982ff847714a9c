package cityweb_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// fileAt files a request of service for citizen at lat, lon through the data layer.
func fileAt(t *testing.T, w *testkit.World, citizen *core.Record, service string, answers map[string]any, lat, lon float64) *core.Record {
	t.Helper()
	col, _ := w.App.FindCollectionByNameOrId("requests")
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"service": w.Services[service], "answers": answers, "location": types.GeoPoint{Lat: lat, Lon: lon},
		"address": "Via Privata 7, c/o Rossi", "description": "my phone is 333 1234567", "citizen": citizen.Id})
	workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id})
	if err := w.App.Save(rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

type publicList struct {
	Items     []map[string]any `json:"items"`
	Truncated bool             `json:"truncated"`
}

func TestPublicRequestsNearby(t *testing.T) {
	w := testkit.NewApp(t)
	near := fileAt(t, w, w.CitizenA, "pothole", map[string]any{"size": "large"}, 44.40561, 8.94634)
	fileAt(t, w, w.CitizenB, "streetlight", map[string]any{"problem": "off"}, 44.4057, 8.9464)
	fileAt(t, w, w.CitizenA, "pothole", map[string]any{"size": "small"}, 44.50, 8.80)                                                         // outside the box
	fileAt(t, w, w.CitizenA, "waste_pickup", map[string]any{"items": []string{"furniture"}, "preferred_date": "2026-12-20"}, 44.4056, 8.9463) // not a public service
	closed := fileAt(t, w, w.CitizenB, "pothole", map[string]any{"size": "small"}, 44.4055, 8.9462)
	w.MoveTo(t, closed, workflow.StatusRejected)

	box := "8.940,44.400,8.950,44.410"
	var got publicList
	r := w.Do(t, http.MethodGet, "/api/city/requests?service=pothole&bbox="+box, "", "")
	r.JSON(t, &got)
	if r.Status != http.StatusOK || len(got.Items) != 1 || got.Items[0]["id"] != near.Id {
		t.Fatalf("nearby potholes: %d %s", r.Status, r.Body)
	}
	keys := make([]string, 0)
	for k := range got.Items[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, ",") != "created,followers,id,lat,lon,number,serviceCode,status,updated" {
		t.Fatalf("public fields %v", keys)
	}
	if got.Items[0]["lat"] != 44.4056 || got.Items[0]["lon"] != 8.9463 {
		t.Errorf("point not rounded: %v %v", got.Items[0]["lat"], got.Items[0]["lon"])
	}
	for _, secret := range []string{"Rossi", "333", w.CitizenA.Id} {
		if strings.Contains(r.Body, secret) {
			t.Errorf("personal data %q in %s", secret, r.Body)
		}
	}
	r = w.Do(t, http.MethodGet, "/api/city/requests?bbox="+box, "", "")
	r.JSON(t, &got)
	if len(got.Items) != 2 {
		t.Errorf("all public services in the box: %s", r.Body)
	}
	for _, bad := range []string{"1,2,3", "8.95,44.41,8.94,44.40", "0,0,5,5", "a,b,c,d", "NaN,1,2,3"} {
		if r := w.Do(t, http.MethodGet, "/api/city/requests?bbox="+bad, "", ""); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "bbox") {
			t.Errorf("bbox %q: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := w.Do(t, http.MethodGet, "/api/city/requests/"+near.Id, "", ""); r.Status != http.StatusOK || strings.Contains(r.Body, "Rossi") {
		t.Errorf("one public request: %d %s", r.Status, r.Body)
	}
	if r := w.Do(t, http.MethodGet, "/api/city/requests/"+closed.Id, "", ""); r.Status != http.StatusNotFound {
		t.Errorf("a rejected request is not public: %d", r.Status)
	}
	// the box is an index range
	var plan []struct {
		Detail string `db:"detail"`
	}
	_ = w.App.DB().NewQuery("EXPLAIN QUERY PLAN SELECT id FROM requests WHERE service = 'x' AND geo_lat BETWEEN 1 AND 2 AND geo_lon BETWEEN 1 AND 2").All(&plan)
	if len(plan) == 0 || !strings.Contains(plan[0].Detail, "idx_requests_geo") {
		t.Errorf("query plan %v", plan)
	}
}

func TestFollowAndPushes(t *testing.T) {
	cfg := city.Default()
	cfg.PushAllowHosts = []string{"127.0.0.1:9"}
	w := testkit.NewApp(t, testkit.WithCity(cfg))
	reqA := fileAt(t, w, w.CitizenA, "pothole", map[string]any{"size": "large"}, 44.4056, 8.9463)
	waste := fileAt(t, w, w.CitizenA, "waste_pickup", map[string]any{"items": []string{"furniture"}, "preferred_date": "2026-12-20"}, 44.4056, 8.9463)
	tokB := testkit.Token(t, w.CitizenB)
	follow := func(tok, citizen, req string) int {
		return w.Do(t, http.MethodPost, "/api/collections/follows/records", tok, fmt.Sprintf(`{"citizen":%q,"request":%q}`, citizen, req)).Status
	}
	for _, c := range []struct {
		name       string
		tok, c, rq string
		want       int
	}{
		{"B follows A's public request", tokB, w.CitizenB.Id, reqA.Id, http.StatusOK},
		{"twice", tokB, w.CitizenB.Id, reqA.Id, http.StatusBadRequest},
		{"A follows their own", testkit.Token(t, w.CitizenA), w.CitizenA.Id, reqA.Id, http.StatusBadRequest},
		{"a request of a service that is not public", tokB, w.CitizenB.Id, waste.Id, http.StatusBadRequest},
		{"for someone else", tokB, w.CitizenA.Id, reqA.Id, http.StatusBadRequest},
		{"anonymous", "", w.CitizenB.Id, reqA.Id, http.StatusBadRequest},
	} {
		if got := follow(c.tok, c.c, c.rq); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// A cannot list B's follows
	if r := w.Do(t, http.MethodGet, "/api/collections/follows/records", testkit.Token(t, w.CitizenA), ""); !strings.Contains(r.Body, `"items":[]`) {
		t.Errorf("A sees follows: %s", r.Body)
	}

	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	col, _ := w.App.FindCollectionByNameOrId(push.CollectionSubscriptions)
	sub := core.NewRecord(col)
	sub.Load(map[string]any{"citizen": w.CitizenB.Id, "endpoint": "http://127.0.0.1:9/push/b", "lang": "en",
		"keys": push.SubscriptionKeys{P256dh: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(auth)}})
	if err := w.App.Save(sub); err != nil {
		t.Fatal(err)
	}
	w.MoveTo(t, reqA, workflow.StatusInProgress)
	rows, err := w.App.FindAllRecords(push.CollectionOutbox)
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, r := range rows {
		if r.GetString("subscription") == sub.Id {
			payloads = append(payloads, r.GetString("payload"))
		}
	}
	if len(payloads) != 1 || !strings.Contains(payloads[0], `/#/public/requests/`+reqA.Id) || !strings.Contains(payloads[0], "in progress") {
		t.Fatalf("follower pushes %v", payloads)
	}
	r := w.Do(t, http.MethodGet, "/api/city/requests/"+reqA.Id, "", "")
	if !strings.Contains(r.Body, `"followers":1`) {
		t.Errorf("followers count: %s", r.Body)
	}
}
