package consultations_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"civicdesk/receipts"

	"github.com/pocketbase/pocketbase/core"
)

// marker answers: strings that must appear nowhere a client can read before
// publication (and never in a receipt).
var markerAnswers = map[string]any{
	"park":  map[string]any{"other": "zebracrossingmarker"},
	"uses":  map[string]any{"options": []string{"sport"}},
	"rank":  map[string]any{"options": []string{"c", "b"}},
	"ideas": map[string]any{"text": "secretmarkertext"},
}

// TestNoTallyBeforePublication: research §5.2 check 3. Before publication no
// path returns a tally or a choice: not the records API (any role, the
// superuser included), not the results routes, not sync pull, not receipts;
// and no collection (what realtime and the dashboard read) holds a choice.
func TestNoTallyBeforePublication(t *testing.T) {
	w := newWorld(t)
	c := w.newConsultation(t, nil)
	w.clock.set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	d := newDevice(w.CitizenA, "phone")
	if r := w.push(t, d, d.cast(c.Id, 0, markerAnswers, time.Time{})); code(r[0]) != "applied" {
		t.Fatalf("cast: %+v", r[0])
	}
	e := newDevice(w.CitizenB, "phone")
	w.push(t, e, e.cast(c.Id, 0, goodAnswers, time.Time{}))
	leaks := func(stage string, s string) {
		t.Helper()
		for _, m := range []string{"zebracrossingmarker", "secretmarkertext", `"totalBallots"`, `"borda"`} {
			if strings.Contains(s, m) {
				t.Fatalf("%s: %q leaked in %s", stage, m, s)
			}
		}
	}
	tokens := map[string]string{"anonymous": "", "citizen": testkit_token(t, w.CitizenA.Id, w), "supervisor": testkit_token(t, w.Supervisor.Id, w), "superuser": testkit_token(t, w.Superuser.Id, w)}
	check := func(stage string) {
		for who, tok := range tokens {
			for _, path := range []string{
				"/api/collections/consultations/records/" + c.Id,
				"/api/collections/consultations/records",
				"/api/collections/ballots/records",
				"/api/collections/consultation_texts/records",
				"/api/collections/receipts/records",
				"/api/consultations/" + c.Id + "/results.json",
				"/api/consultations/" + c.Id + "/results.csv",
				"/api/consultations/" + c.Id + "/ballot",
			} {
				resp := w.Do(t, "GET", path, tok, "")
				leaks(stage+" "+who+" GET "+path, resp.Body)
				if strings.Contains(path, "/results.") && resp.Status != 404 {
					t.Fatalf("%s %s %s: %d, want 404 before publication", stage, who, path, resp.Status)
				}
			}
		}
		pull := w.Do(t, "POST", "/api/mobile/sync/pull", tokens["citizen"], `{"clientID":"`+d.id+`","cursor":null}`)
		leaks(stage+" pull", pull.Body)
		// every record of every collection: what realtime, the dashboard and any API can show
		cols, _ := w.App.FindAllCollections()
		for _, col := range cols {
			recs, err := w.App.FindAllRecords(col)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				b, _ := json.Marshal(r)
				leaks(stage+" collection "+col.Name, string(b))
			}
		}
		// receipts: decode and check the claims
		recs, _ := w.App.FindAllRecords("receipts")
		for _, r := range recs {
			if r.GetString("kind") != "ballot" {
				continue
			}
			res, _ := receipts.Of(w.App).Verify(r.GetString("code"))
			b, _ := json.Marshal(res)
			leaks(stage+" receipt", string(b))
		}
	}
	check("open")
	w.clock.set(c.GetDateTime("closes_at").Time().Add(time.Minute))
	if _, err := w.svc.RunLifecycle(); err != nil {
		t.Fatal(err)
	}
	check("closed")
	resp := w.Do(t, "POST", "/api/consultations/"+c.Id+"/publish", tokens["supervisor"], "")
	if resp.Status != 200 || !strings.Contains(resp.Body, `"totalBallots":2`) {
		t.Fatalf("publish: %d %s", resp.Status, resp.Body)
	}
	for _, path := range []string{"/results.json", "/results.csv"} {
		resp := w.Do(t, "GET", "/api/consultations/"+c.Id+path, "", "")
		if resp.Status != 200 || !strings.Contains(resp.Body, "sport") {
			t.Fatalf("%s after publication: %d %s", path, resp.Status, resp.Body)
		}
		if strings.Contains(resp.Body, "secretmarkertext") {
			t.Fatalf("%s: free text before moderation: %s", path, resp.Body)
		}
	}
	// free text: only after moderation
	texts, _ := w.App.FindAllRecords("consultation_texts")
	if len(texts) != 3 {
		t.Fatalf("%d free texts, want 3 (two ideas, one other)", len(texts))
	}
	for _, tx := range texts {
		if tx.GetString("text") == "secretmarkertext" {
			r := w.Do(t, "PATCH", "/api/collections/consultation_texts/records/"+tx.Id, tokens["supervisor"], `{"approved":true}`)
			if r.Status != 200 {
				t.Fatalf("moderate: %d %s", r.Status, r.Body)
			}
			if r := w.Do(t, "PATCH", "/api/collections/consultation_texts/records/"+tx.Id, tokens["supervisor"], `{"text":"edited"}`); r.Status != 400 {
				t.Fatalf("edit a text: %d %s", r.Status, r.Body)
			}
		}
	}
	if r := w.Do(t, "GET", "/api/consultations/"+c.Id+"/results.json", "", ""); !strings.Contains(r.Body, "secretmarkertext") || strings.Contains(r.Body, "more trees") {
		t.Fatalf("export after moderation: %s", r.Body)
	}
	// after publication the stored ballots no longer say whose they are
	var linked int
	voterKey, _ := w.svc.VoterKey(c.Id, w.CitizenA.Id)
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM ballots WHERE voter = {:v}").Bind(map[string]any{"v": voterKey}).Row(&linked)
	if linked != 0 {
		t.Fatal("ballot still keyed by the citizen's voter key after publication")
	}
}

func testkit_token(t *testing.T, id string, w *world) string {
	t.Helper()
	for _, r := range []*core.Record{w.CitizenA, w.CitizenB, w.Supervisor, w.Superuser, w.ClerkRoads} {
		if r.Id == id {
			tok, err := r.NewAuthToken()
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	t.Fatal("no such account")
	return ""
}

// TestTally checks counts, shares, blanks, first preferences and Borda.
func TestTally(t *testing.T) {
	w := newWorld(t)
	c := w.newConsultation(t, nil)
	w.clock.set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	ballots := []map[string]any{
		{"park": map[string]any{"options": []string{"north"}}, "rank": map[string]any{"options": []string{"a", "b"}}},
		{"park": map[string]any{"options": []string{"north"}}, "rank": map[string]any{"options": []string{"b", "c"}}, "uses": map[string]any{"options": []string{"play"}}},
		{"park": map[string]any{"other": "lake"}, "rank": map[string]any{"options": []string{"b", "a"}}},
		{"park": map[string]any{"options": []string{"south"}}},
	}
	for i, b := range ballots {
		acc, err := testkitAccount(w, i)
		if err != nil {
			t.Fatal(err)
		}
		d := newDevice(acc, "p")
		if r := w.push(t, d, d.cast(c.Id, 0, b, time.Time{})); code(r[0]) != "applied" {
			t.Fatalf("ballot %d: %+v %+v", i, r[0], r[0].Error)
		}
	}
	w.clock.set(c.GetDateTime("closes_at").Time())
	res, err := w.svc.Publish(c.Id, supervisorActor(w))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res.Questions)
	// rank: m = 3 options; position 1 → 2 points, position 2 → 1 point
	// a: 2+0+1 = 3, b: 1+2+2 = 5, c: 1; first: a 1, b 2
	for _, want := range []string{
		`{"id":"park","kind":"single","answered":4,"blank":0,"options":[{"id":"north","count":2,"share":0.5},{"id":"south","count":1,"share":0.25}],"other":1,"otherShare":0.25}`,
		`{"id":"uses","kind":"multiple","answered":1,"blank":3,"options":[{"id":"play","count":1,"share":0.25},{"id":"sport","count":0,"share":0},{"id":"rest","count":0,"share":0}]}`,
		`{"id":"rank","kind":"ranking","answered":3,"blank":1,"options":[{"id":"a","count":2,"share":0.5,"firstPreferences":1,"firstShare":0.25,"borda":3,"rank":2},{"id":"b","count":3,"share":0.75,"firstPreferences":2,"firstShare":0.5,"borda":5,"rank":1},{"id":"c","count":1,"share":0.25,"firstPreferences":0,"borda":1,"rank":3}]}`,
		`{"id":"ideas","kind":"text","answered":0,"blank":4}`,
	} {
		if !strings.Contains(string(got), want) {
			t.Fatalf("results\n%s\nlack\n%s", got, want)
		}
	}
	csv, err := res.CSV()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csv), "rank,ranking,b,3,0.7500,2,5,1,3,1,4") {
		t.Fatalf("csv:\n%s", csv)
	}
}

func testkitAccount(w *world, i int) (*core.Record, error) {
	switch i {
	case 0:
		return w.CitizenA, nil
	case 1:
		return w.CitizenB, nil
	}
	return newCitizen(w, i)
}
