package mobileapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	mobileapi "civicdesk/mobile-api"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// dbState summarizes everything a push can write, to compare states.
func dbState(t testing.TB, app core.App, clientID string) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT id || ':' || status || ':' || number || ':' || citizen FROM requests ORDER BY id",
		"SELECT id || ':' || type || ':' || request FROM request_events ORDER BY id",
		"SELECT client_id || ':' || last_mutation_id || ':' || citizen FROM sync_clients ORDER BY client_id",
		"SELECT client_id || ':' || mutation_id || ':' || status || ':' || error_code FROM sync_results ORDER BY client_id, mutation_id",
		"SELECT COUNT(*) FROM changes",
	} {
		var rows []string
		if err := app.DB().NewQuery(q).Column(&rows); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(rows, ","))
	}
	return strings.Join(out, "\n")
}

func TestPushCreateCommentCancel(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	rid, eid := randomID(15), randomID(15)
	code, res := c.push(create(1, rid), comment(2, eid, rid, "it is deep"), cancel(3, rid))
	if code != http.StatusOK || res.LastMutationID != 3 || len(res.Results) != 3 {
		t.Fatalf("push: %d %+v", code, res)
	}
	for _, r := range res.Results {
		if r.Status != "applied" {
			t.Fatalf("mutation %d: %s %+v", r.ID, r.Status, r.Error)
		}
	}
	req, err := w.App.FindRecordById("requests", rid)
	if err != nil {
		t.Fatal(err)
	}
	if req.GetString("status") != "cancelled" || req.GetString("number") == "" || req.GetString("citizen") != w.CitizenA.Id || req.GetString("department") != w.Departments["roads"] {
		t.Fatalf("request %v", req.PublicExport())
	}
	ev, err := w.App.FindRecordById("request_events", eid)
	if err != nil || ev.GetString("type") != "comment" || !ev.GetBool("public") || ev.GetString("author") != w.CitizenA.Id {
		t.Fatalf("event %v %v", ev, err)
	}

	var r replica
	c.sync(&r, 200)
	if r.lmid != 3 {
		t.Fatalf("lmid %d", r.lmid)
	}
	got := r.data["requests/"+rid]
	if got == nil || got["status"] != "cancelled" || got["number"] != req.GetString("number") || got["serviceCode"] != "pothole" {
		t.Fatalf("replica request %v", got)
	}
	if r.data["request_events/"+eid] == nil {
		t.Fatalf("replica lacks the comment: %v", r.data)
	}
	// server timestamps travel with the data (the app orders timelines by them)
	if got["created"] != req.GetDateTime("created").String() || got["updated"] == "" || r.data["request_events/"+eid]["created"] == "" {
		t.Fatalf("timestamps: request created %v updated %v, event created %v", got["created"], got["updated"], r.data["request_events/"+eid]["created"])
	}
}

// G1: any push replayed any number of times, in any order, gives the same state.
func TestPushReplayIsIdempotent(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	r1, r2, e1 := randomID(15), randomID(15), randomID(15)
	bad := create(4, randomID(15))
	bad.Args["answers"] = map[string]any{"size": "enormous"}
	batches := [][]mutation{
		{create(1, r1), create(2, r2)},
		{comment(3, e1, r1, "first"), bad},
		{cancel(5, r2), cancel(6, r2)},
	}
	for _, b := range batches {
		if code, res := c.push(b...); code != http.StatusOK {
			t.Fatalf("push: %d %+v", code, res)
		}
	}
	want := dbState(t, w.App, c.id)

	replays := [][]mutation{
		batches[0], batches[2], batches[1], batches[0],
		append(append(append([]mutation{}, batches[0]...), batches[1]...), batches[2]...),
		batches[1][1:], batches[2][:1],
	}
	for round := 0; round < 3; round++ {
		for i, b := range replays {
			code, res := c.push(b...)
			if code != http.StatusOK || res.LastMutationID != 6 {
				t.Fatalf("replay %d: %d %+v", i, code, res)
			}
			for _, r := range res.Results {
				if r.Status != "duplicate" {
					t.Fatalf("replay %d: mutation %d is %s", i, r.ID, r.Status)
				}
				if r.ID == 4 && (r.Error == nil || r.Error.Code != "validation_failed" || r.Error.Field != "answers") {
					t.Fatalf("replayed rejection lost its stored error: %+v", r.Error)
				}
			}
			if got := dbState(t, w.App, c.id); got != want {
				t.Fatalf("replay %d changed the state:\n%s\nwant\n%s", i, got, want)
			}
		}
	}
}

// G1/G2: two tabs pushing the same queue at once apply it once.
func TestPushConcurrentDuplicates(t *testing.T) {
	w := testkit.NewApp(t)
	w.App.Settings().RateLimits.Enabled = false
	base := serve(t, w)
	c := newClient(t, base, w.CitizenA)
	var ms []mutation
	rids := map[string]bool{}
	for i := int64(1); i <= 30; i++ {
		rid := randomID(15)
		rids[rid] = true
		ms = append(ms, create(i, rid))
	}
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			tab := *c
			// each tab sends a different slice of the same queue, all starting at 1
			code, _ := tab.push(ms[:10+g*2]...)
			codes <- code
			code, _ = tab.push(ms...)
			codes <- code
		}(g)
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Fatalf("concurrent push answered %d", code)
		}
	}
	var n int
	if err := w.App.DB().NewQuery("SELECT COUNT(*) FROM requests WHERE citizen = {:c}").Bind(dbx.Params{"c": w.CitizenA.Id}).Row(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(rids) {
		t.Fatalf("%d requests for %d creates", n, len(rids))
	}
	var created int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM request_events WHERE type = 'created'").Row(&created)
	var results, lmid int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM sync_results WHERE client_id = {:c}").Bind(dbx.Params{"c": c.id}).Row(&results)
	_ = w.App.DB().NewQuery("SELECT last_mutation_id FROM sync_clients WHERE client_id = {:c}").Bind(dbx.Params{"c": c.id}).Row(&lmid)
	if created != len(rids) || results != 30 || lmid != 30 {
		t.Fatalf("created events %d, results %d, lmid %d", created, results, lmid)
	}
}

// G2: a gap stops the batch with 409 after applying what came before it.
func TestPushGap(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	r1, r2, r4 := randomID(15), randomID(15), randomID(15)
	code, res := c.push(create(1, r1), create(2, r2), create(4, r4))
	if code != http.StatusConflict || res.Status != http.StatusConflict {
		t.Fatalf("want 409, got %d %+v", code, res)
	}
	if res.Data["code"] != "mutation_gap" || res.Data["lastMutationID"] != float64(2) {
		t.Fatalf("409 data %v", res.Data)
	}
	for _, id := range []string{r1, r2} {
		if _, err := w.App.FindRecordById("requests", id); err != nil {
			t.Fatalf("mutation before the gap not applied: %v", err)
		}
	}
	if _, err := w.App.FindRecordById("requests", r4); err == nil {
		t.Fatal("mutation after the gap applied")
	}
	// a gap right at the start applies nothing
	code, res = c.push(create(7, randomID(15)))
	if code != http.StatusConflict || res.Data["lastMutationID"] != float64(2) {
		t.Fatalf("want 409 at 2, got %d %+v", code, res)
	}
	// the client resends from 3 and everything lands
	code, res = c.push(create(3, randomID(15)), create(4, r4))
	if code != http.StatusOK || res.LastMutationID != 4 {
		t.Fatalf("resend: %d %+v", code, res)
	}
}

// G4: mutations that fail validation or permission are rejected, recorded,
// advance lastMutationID and never block those after them.
func TestPushPoisonDoesNotBlock(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	other := newClient(t, c.base, w.CitizenB)
	theirs := randomID(15)
	if code, res := other.push(create(1, theirs)); code != http.StatusOK || res.Results[0].Status != "applied" {
		t.Fatalf("other citizen's create: %d %+v", code, res)
	}

	ok1, ok2, staffed, ghost := randomID(15), randomID(15), randomID(15), randomID(15)
	badAnswers := create(2, randomID(15))
	badAnswers.Args["answers"] = map[string]any{"size": "enormous"}
	noService := create(3, randomID(15))
	noService.Args["service"] = "no_such_service"
	if code, res := c.push(create(1, staffed)); code != http.StatusOK || res.Results[0].Status != "applied" {
		t.Fatalf("create: %d %+v", code, res)
	}
	// staff start work on it: the citizen can no longer cancel
	req, _ := w.App.FindRecordById("requests", staffed)
	req.Set("status", workflow.StatusInProgress)
	workflow.AttachActor(req, workflow.ActorFromAuth(w.ClerkRoads))
	if err := w.App.Save(req); err != nil {
		t.Fatal(err)
	}

	scenarios := []struct {
		m     mutation
		want  string
		field string
	}{
		{badAnswers, "validation_failed", "answers"},
		{noService, "validation_failed", "service"},
		{create(4, ok1), "", ""},
		{mutation{ID: 5, Name: "request.explode", Args: map[string]any{}}, "unknown_mutation", ""},
		{mutation{ID: 6, Name: "request.create", Args: map[string]any{"requestId": "NOT-AN-ID"}}, "invalid_args", "requestId"},
		{mutation{ID: 7, Name: "request.create", Args: map[string]any{"requestId": randomID(15), "service": "pothole", "bogus": 1}}, "invalid_args", ""},
		{cancel(8, staffed), "invalid_transition", "status"},
		{comment(9, randomID(15), theirs, "not mine"), "not_found", "requestId"},
		{cancel(10, ghost), "not_found", "requestId"},
		{create(11, theirs), "conflict", "requestId"},
		{comment(12, randomID(15), ok1, "   "), "validation_failed", "message"},
		{create(13, ok2), "", ""},
	}
	var ms []mutation
	for _, s := range scenarios {
		ms = append(ms, s.m)
	}
	code, res := c.push(ms...)
	if code != http.StatusOK || res.LastMutationID != 13 || len(res.Results) != len(scenarios) {
		t.Fatalf("push: %d %+v", code, res)
	}
	for i, s := range scenarios {
		r := res.Results[i]
		if s.want == "" {
			if r.Status != "applied" {
				t.Errorf("mutation %d: want applied, got %s %+v", r.ID, r.Status, r.Error)
			}
			continue
		}
		if r.Status != "rejected" || r.Error == nil || r.Error.Code != s.want || (s.field != "" && r.Error.Field != s.field) || r.Error.Message == "" {
			t.Errorf("mutation %d: want rejected %s/%s, got %s %+v", r.ID, s.want, s.field, r.Status, r.Error)
		}
	}
	for _, id := range []string{ok1, ok2} {
		if _, err := w.App.FindRecordById("requests", id); err != nil {
			t.Errorf("valid create %s not applied", id)
		}
	}
	if req, _ := w.App.FindRecordById("requests", staffed); req.GetString("status") != workflow.StatusInProgress {
		t.Errorf("refused cancel changed the status to %s", req.GetString("status"))
	}
	if theirsRec, _ := w.App.FindRecordById("requests", theirs); theirsRec.GetString("citizen") != w.CitizenB.Id {
		t.Error("a rejected create touched another citizen's request")
	}
	// rejected writes left nothing behind: two creates, their created events, the staff status event
	var events int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM request_events e JOIN requests r ON r.id = e.request WHERE r.citizen = {:c}").Bind(dbx.Params{"c": w.CitizenA.Id}).Row(&events)
	if events != 4 {
		t.Errorf("want 4 events (3 created + 1 status), got %d", events)
	}
}

// G10: a clientID belongs to the first citizen that used it.
func TestPushForeignClientID(t *testing.T) {
	w := testkit.NewApp(t)
	a := newClient(t, serve(t, w), w.CitizenA)
	if code, _ := a.push(create(1, randomID(15))); code != http.StatusOK {
		t.Fatalf("push: %d", code)
	}
	b := newClient(t, a.base, w.CitizenB)
	b.id = a.id
	rid := randomID(15)
	if code, res := b.push(create(2, rid)); code != http.StatusForbidden {
		t.Fatalf("foreign push: want 403, got %d %+v", code, res)
	}
	if code, _ := b.pull(nil, 10); code != http.StatusForbidden {
		t.Fatalf("foreign pull: want 403, got %d", code)
	}
	if _, err := w.App.FindRecordById("requests", rid); err == nil {
		t.Fatal("foreign push applied")
	}
	anon := *a
	anon.token = ""
	if code, _ := anon.push(create(2, rid)); code != http.StatusUnauthorized {
		t.Fatalf("anonymous push: want 401, got %d", code)
	}
	staff := newClient(t, a.base, w.ClerkRoads)
	if code, _ := staff.push(create(1, rid)); code != http.StatusForbidden {
		t.Fatalf("staff push: want 403, got %d", code)
	}
}

// Limits: over 100 mutations or 1 MiB is 413 and nothing is applied.
func TestPushLimits(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	var many []mutation
	for i := int64(1); i <= 101; i++ {
		many = append(many, create(i, randomID(15)))
	}
	if code, _ := c.push(many...); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("101 mutations: want 413, got %d", code)
	}
	big := create(1, randomID(15))
	big.Args["description"] = strings.Repeat("x", 1<<20)
	if code, _ := c.push(big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("1 MiB: want 413, got %d", code)
	}
	var n int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM requests").Row(&n)
	if n != 0 {
		t.Fatalf("%d requests after refused pushes", n)
	}
	if code, _ := c.push(many[:100]...); code != http.StatusOK {
		t.Fatalf("100 mutations: want 200, got %d", code)
	}
}

// A transient failure rolls the run back and answers 503 with Retry-After;
// the retried push applies everything once.
func TestPushTransientFailure(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	first, flaky := randomID(15), randomID(15)
	failures := 1
	w.App.OnRecordCreate("requests").BindFunc(func(e *core.RecordEvent) error {
		if e.Record.Id == flaky && failures > 0 {
			failures--
			return fmt.Errorf("simulated lock wait: %w", context.DeadlineExceeded)
		}
		return e.Next()
	})
	code, res := c.push(create(1, first), create(2, flaky))
	if code != http.StatusServiceUnavailable || res.Status != http.StatusServiceUnavailable {
		t.Fatalf("want 503, got %d %+v", code, res)
	}
	if got := dbState(t, w.App, c.id); strings.Contains(got, first) || strings.Contains(got, c.id+":") {
		t.Fatalf("a failed run left writes behind:\n%s", got)
	}
	code, res = c.push(create(1, first), create(2, flaky))
	if code != http.StatusOK || res.LastMutationID != 2 || res.Results[0].Status != "applied" || res.Results[1].Status != "applied" {
		t.Fatalf("retry: %d %+v", code, res)
	}
}

func TestPruneResults(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	bad := create(2, randomID(15))
	bad.Args["service"] = "nope"
	if code, _ := c.push(create(1, randomID(15)), bad); code != http.StatusOK {
		t.Fatal(code)
	}
	if n, err := mobileapi.PruneResults(w.App, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("fresh results pruned: %d %v", n, err)
	}
	if _, err := w.App.DB().NewQuery("UPDATE sync_results SET created = '2020-01-01 00:00:00.000Z'").Execute(); err != nil {
		t.Fatal(err)
	}
	if n, err := mobileapi.PruneResults(w.App, time.Now().Add(-time.Hour)); err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	// still exactly once: the replay is a duplicate, only without the old error
	code, res := c.push(create(1, randomID(15)), bad)
	if code != http.StatusOK || res.LastMutationID != 2 || res.Results[0].Status != "duplicate" || res.Results[1].Status != "duplicate" || res.Results[1].Error != nil {
		t.Fatalf("replay after pruning: %d %+v", code, res)
	}
}

// A photo uploaded under the request's id before its create (metadata
// requestId, no attachment list on the create) is attached by the create.
func TestPushCreateFindsEarlierUploads(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	c := newClient(t, base, w.CitizenA)
	tc := &tusClient{t: t, base: base, token: c.token}
	rid, att := randomID(15), "att-"+randomID(6)
	photo := testJPEG(t, 30, 20)
	if resp := tc.upload(att, rid, photo, sha(photo)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if code, res := c.push(create(1, rid)); code != http.StatusOK || res.Results[0].Status != "applied" {
		t.Fatalf("push: %d %+v", code, res)
	}
	if st, _ := uploadStatus(t, w.App, att); st != "attached" {
		t.Fatalf("upload %s", st)
	}
	if n := len(storedPhotos(t, w.App, rid)); n != 1 {
		t.Fatalf("%d photos, want 1", n)
	}
}
