package consultations_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"civicdesk/receipts"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// TestManageThroughRecordsAPI: supervisors create and edit consultations with
// the records API; clerks and citizens cannot; questions freeze at opening; the
// close time is only ever extended, and that is logged; status past scheduled
// and results are the server's alone (superusers included).
func TestManageThroughRecordsAPI(t *testing.T) {
	w := newWorld(t)
	body := `{"code":"PB-1","title":{"en":"Budget"},"status":"scheduled","opens_local":"2026-03-05T08:00","closes_local":"2026-03-20T23:59",
		"questions":[{"id":"q","kind":"single","title":{"en":"Q"},"options":[{"id":"x","label":{"en":"X"}},{"id":"y","label":{"en":"Y"}}]}]}`
	for who, tok := range map[string]string{"clerk": testkit_token(t, w.ClerkRoads.Id, w), "citizen": tokenOf(t, w), "anonymous": ""} {
		if r := w.Do(t, "POST", "/api/collections/consultations/records", tok, body); r.Status < 400 {
			t.Fatalf("%s created a consultation: %d", who, r.Status)
		}
	}
	sup := testkit_token(t, w.Supervisor.Id, w)
	r := w.Do(t, "POST", "/api/collections/consultations/records", sup, body)
	if r.Status != 200 || !strings.Contains(r.Body, `"closes_at":"2026-03-20 22:59:00.000Z"`) || !strings.Contains(r.Body, `"time_zone":"Europe/Rome"`) {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	rec, _ := w.App.FindFirstRecordByData("consultations", "code", "PB-1")
	path := "/api/collections/consultations/records/" + rec.Id
	su := testkit_token(t, w.Superuser.Id, w)
	for _, bad := range []string{`{"results":{"totalBallots":3}}`, `{"status":"published"}`, `{"status":"open"}`, `{"questions":[]}`, `{"closes_local":"2026-03-01T00:00"}`, `{"late_policy":"grace","grace_minutes":2000}`} {
		if r := w.Do(t, "PATCH", path, su, bad); r.Status != 400 {
			t.Fatalf("superuser PATCH %s: %d %s", bad, r.Status, r.Body)
		}
	}
	// before opening the questions may change
	if r := w.Do(t, "PATCH", path, sup, `{"questions":[{"id":"q","kind":"single","title":{"en":"Q2"},"options":[{"id":"x","label":{"en":"X"}},{"id":"z","label":{"en":"Z"}}]}]}`); r.Status != 200 {
		t.Fatalf("edit before opening: %d %s", r.Status, r.Body)
	}
	w.clock.set(time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC))
	for _, bad := range []string{
		`{"questions":[{"id":"q","kind":"single","title":{"en":"Q3"},"options":[{"id":"x","label":{"en":"X"}},{"id":"y","label":{"en":"Y"}}]}]}`,
		`{"eligibility":{"minAge":18}}`, `{"opens_local":"2026-03-04T08:00"}`, `{"closes_local":"2026-03-19T23:59"}`, `{"status":"draft"}`,
	} {
		if r := w.Do(t, "PATCH", path, sup, bad); r.Status != 400 {
			t.Fatalf("open consultation PATCH %s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := w.Do(t, "PATCH", path, sup, `{"closes_local":"2026-03-22T23:59"}`); r.Status != 200 {
		t.Fatalf("extend: %d %s", r.Status, r.Body)
	}
	evs, _ := w.App.FindAllRecords("consultation_events", dbx.HashExp{"consultation": rec.Id, "type": "close_extended"})
	if len(evs) != 1 || evs[0].GetString("to_value") != "2026-03-22T23:59" || evs[0].GetString("author") != w.Supervisor.Id {
		t.Fatalf("close extension log: %v", evs)
	}
	if r := w.Do(t, "DELETE", path, sup, ""); r.Status < 400 {
		t.Fatalf("deleted an open consultation: %d", r.Status)
	}
	// publication is a supervisor's, after close
	if r := w.Do(t, "POST", "/api/consultations/"+rec.Id+"/publish", sup, ""); r.Status != 400 {
		t.Fatalf("publish while open: %d %s", r.Status, r.Body)
	}
	w.clock.set(time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC))
	if r := w.Do(t, "POST", "/api/consultations/"+rec.Id+"/publish", testkit_token(t, w.ClerkRoads.Id, w), ""); r.Status != 403 {
		t.Fatalf("clerk publish: %d %s", r.Status, r.Body)
	}
	if r := w.Do(t, "POST", "/api/consultations/"+rec.Id+"/publish", tokenOf(t, w), ""); r.Status != 403 && r.Status != 401 {
		t.Fatalf("citizen publish: %d %s", r.Status, r.Body)
	}
	if r := w.Do(t, "POST", "/api/consultations/"+rec.Id+"/publish", sup, ""); r.Status != 200 || !strings.Contains(r.Body, `"totalBallots":0`) {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	// the log and the free texts are the server's: not even a superuser forges one
	for _, col := range []string{"consultation_events", "consultation_texts"} {
		if r := w.Do(t, "POST", "/api/collections/"+col+"/records", su, `{"consultation":"`+rec.Id+`","type":"published","question":"q","text":"forged","approved":true}`); r.Status != 403 {
			t.Fatalf("superuser creates a %s record: %d %s", col, r.Status, r.Body)
		}
	}
	// drafts are invisible to citizens
	draft := w.newConsultation(t, map[string]any{"status": "draft"})
	if r := w.Do(t, "GET", "/api/collections/consultations/records/"+draft.Id, tokenOf(t, w), ""); r.Status != 404 {
		t.Fatalf("citizen sees a draft: %d", r.Status)
	}
}

// TestReceiptRevealsNoChoice: research §5.2 check 5. Two ballots with opposite
// choices get receipts with the same claims apart from the random id, the
// holder tag and the time; the receipt verifies offline with the JWKS key set.
func TestReceiptRevealsNoChoice(t *testing.T) {
	w := newWorld(t)
	c := w.newConsultation(t, nil)
	w.clock.set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	a, b := newDevice(w.CitizenA, "a"), newDevice(w.CitizenB, "b")
	w.push(t, a, a.cast(c.Id, 0, goodAnswers, time.Time{}))
	w.push(t, b, b.cast(c.Id, 0, markerAnswers, time.Time{}))
	set, err := receipts.Of(w.App).Keys()
	if err != nil {
		t.Fatal(err)
	}
	var claims []*receipts.Claims
	for _, citizen := range []*core.Record{w.CitizenA, w.CitizenB} {
		rec, err := w.App.FindFirstRecordByFilter("receipts", "kind = 'ballot' && citizen = {:c}", dbx.Params{"c": citizen.Id})
		if err != nil {
			t.Fatal(err)
		}
		v, verr := set.Verify(rec.GetString("code")) // offline: signature and claims only
		if verr != nil {
			t.Fatalf("offline verify: %v", verr)
		}
		claims = append(claims, v.Claims)
		payload, _ := v.Claims.MarshalPayload()
		for _, s := range []string{"north", "south", "play", "rest", "sport", "trees", "zebra", "secret", "park", "uses", "ideas"} {
			if bytes.Contains(payload, []byte(s)) {
				t.Fatalf("receipt payload contains %q", s)
			}
		}
	}
	x, y := *claims[0], *claims[1]
	x.CTI, y.CTI, x.Holder, y.Holder, x.IssuedAt, y.IssuedAt = nil, nil, nil, nil, time.Time{}, time.Time{}
	if x.Number != c.GetString("code") || x.Service != receipts.BallotService || x.Status != "counted" || *x.BallotVersion != 1 {
		t.Fatalf("claims %+v", x)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("receipts of different choices differ: %+v vs %+v", x, y)
	}
}

// TestLifecycleNotices: opening, the reminder a day before close (only to
// those who have not answered) and publication each queue one push per device
// of the citizens concerned, once.
func TestLifecycleNotices(t *testing.T) {
	w := newWorld(t)
	for _, cit := range []*core.Record{w.CitizenA, w.CitizenB} {
		col, _ := w.App.FindCollectionByNameOrId("push_subscriptions")
		s := core.NewRecord(col)
		s.Load(map[string]any{"citizen": cit.Id, "endpoint": "https://fcm.googleapis.com/fcm/send/" + cit.Id, "keys": subKeys(t), "lang": "it"})
		if err := w.App.SaveNoValidate(s); err != nil {
			t.Fatal(err)
		}
	}
	c := w.newConsultation(t, map[string]any{"opens_local": "2026-03-05T08:00"})
	count := func() int {
		n, _ := w.App.CountRecords("push_outbox", dbx.HashExp{"kind": "consultation", "topic": "cons-" + c.Id})
		return int(n)
	}
	w.clock.set(time.Date(2026, 3, 5, 6, 0, 0, 0, time.UTC)) // 07:00 in Rome: not yet
	if _, err := w.svc.RunLifecycle(); err != nil || count() != 0 {
		t.Fatalf("before opening: %v, %d pushes", err, count())
	}
	w.clock.set(time.Date(2026, 3, 5, 7, 0, 30, 0, time.UTC))
	for i := 0; i < 2; i++ {
		if _, err := w.svc.RunLifecycle(); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := w.App.FindRecordById("consultations", c.Id); got.GetString("status") != "open" || count() != 2 {
		t.Fatalf("on opening: status %s, %d pushes, want open and 2", got.GetString("status"), count())
	}
	d := newDevice(w.CitizenA, "p")
	w.push(t, d, d.cast(c.Id, 0, goodAnswers, time.Time{}))
	// closes 2026-03-20 23:59 Rome: reminder from 2026-03-19 23:59 Rome (22:59 UTC)
	w.clock.set(time.Date(2026, 3, 19, 22, 58, 0, 0, time.UTC))
	_, _ = w.svc.RunLifecycle()
	if count() != 2 {
		t.Fatalf("reminder too early: %d", count())
	}
	w.clock.set(time.Date(2026, 3, 19, 22, 59, 0, 0, time.UTC))
	_, _ = w.svc.RunLifecycle()
	_, _ = w.svc.RunLifecycle()
	reminders, _ := w.App.FindAllRecords("push_outbox", dbx.HashExp{"kind": "consultation", "topic": "cons-" + c.Id})
	if count() != 3 || !strings.Contains(reminders[2].GetString("payload"), "non hai ancora risposto") || reminders[2].GetString("subscription") == "" {
		t.Fatalf("reminder: %d pushes, last %s", count(), reminders[len(reminders)-1].GetString("payload"))
	}
	w.clock.set(time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC))
	_, _ = w.svc.RunLifecycle()
	if _, err := w.svc.Publish(c.Id, supervisorActor(w)); err != nil {
		t.Fatal(err)
	}
	if count() != 4 {
		t.Fatalf("after publication: %d pushes, want 4 (one participant)", count())
	}
}

func subKeys(t *testing.T) map[string]string {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]string{"p256dh": enc(k.PublicKey().Bytes()), "auth": enc(auth)}
}
