package mobileapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

func edit(id int64, requestID string, args map[string]any) mutation {
	a := map[string]any{"requestId": requestID}
	for k, v := range args {
		a[k] = v
	}
	return mutation{ID: id, Name: "request.edit", Args: a}
}

func notFixed(id int64, eventID, requestID, msg string) mutation {
	return mutation{ID: id, Name: "request.notFixed", Args: map[string]any{"eventId": eventID, "requestId": requestID, "message": msg}}
}

func rate(id int64, requestID string, satisfaction int) mutation {
	return mutation{ID: id, Name: "request.rate", Args: map[string]any{"requestId": requestID, "solved": "yes", "satisfaction": satisfaction, "speed": "ok", "comment": "thanks"}}
}

func createStreetlight(id int64, requestID string) mutation {
	return mutation{ID: id, Name: "request.create", Args: map[string]any{
		"requestId": requestID, "service": "streetlight", "answers": map[string]any{"problem": "off"}, "address": "Via XX Settembre 3",
	}}
}

// outcome is "applied" or "rejected:<code>:<field>" for mutation id in res.
func outcome(t *testing.T, res pushResp, id int64) string {
	t.Helper()
	for _, r := range res.Results {
		if r.ID == id {
			if r.Error != nil {
				return fmt.Sprintf("%s:%s:%s", r.Status, r.Error.Code, r.Error.Field)
			}
			return r.Status
		}
	}
	t.Fatalf("no result for mutation %d in %+v", id, res)
	return ""
}

func eventsOf(t *testing.T, app core.App, requestID, typ string) []*core.Record {
	t.Helper()
	list, err := app.FindRecordsByFilter("request_events", "request = {:r} && type = {:t}", "created", 0, 0, dbx.Params{"r": requestID, "t": typ})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// api calls the records API on the served world (serve and w.Do cannot share one app).
func api(t *testing.T, base, method, path, token, body string) testkit.Response {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return testkit.Response{Status: resp.StatusCode, Body: string(data), Header: resp.Header}
}

func status(t *testing.T, app core.App, id string) *core.Record {
	t.Helper()
	rec, err := app.FindRecordById("requests", id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestPushEditWhileReceived(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	a, b := newClient(t, base, w.CitizenA), newClient(t, base, w.CitizenB)
	rid := randomID(15)
	if code, res := a.push(create(1, rid)); code != http.StatusOK || outcome(t, res, 1) != "applied" {
		t.Fatalf("create: %d %+v", code, res)
	}
	number := status(t, w.App, rid).GetString("number")

	cases := []struct {
		name string
		c    *client
		m    func(id int64) mutation
		want string
	}{
		{"typo and pasted phone number removed", a, func(id int64) mutation {
			return edit(id, rid, map[string]any{"description": "hole near the school", "address": "Via Roma 2", "answers": map[string]any{"size": "small", "depth_cm": 8}})
		}, "applied"},
		{"answers checked against the form", a, func(id int64) mutation {
			return edit(id, rid, map[string]any{"answers": map[string]any{"size": "enormous"}})
		}, "rejected:validation_failed:answers"},
		{"location policy still holds", a, func(id int64) mutation {
			return edit(id, rid, map[string]any{"address": "", "location": nil})
		}, "rejected:validation_failed:location"},
		{"nothing to change", a, func(id int64) mutation { return edit(id, rid, nil) }, "rejected:invalid_args:"},
		{"unknown arg", a, func(id int64) mutation { return edit(id, rid, map[string]any{"number": "2026-1"}) }, "rejected:invalid_args:"},
		{"someone else's request", b, func(id int64) mutation {
			return edit(id, rid, map[string]any{"description": "mine now"})
		}, "rejected:not_found:requestId"},
	}
	ids := map[*client]int64{a: 1, b: 0}
	for _, c := range cases {
		ids[c.c]++
		_, res := c.c.push(c.m(ids[c.c]))
		if got := outcome(t, res, ids[c.c]); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	rec := status(t, w.App, rid)
	if rec.GetString("description") != "hole near the school" || rec.GetString("address") != "Via Roma 2" || rec.GetString("number") != number {
		t.Fatalf("after edits: %v", rec.PublicExport())
	}
	var answers map[string]any
	_ = rec.UnmarshalJSONField("answers", &answers)
	if answers["size"] != "small" || answers["depth_cm"] != float64(8) {
		t.Fatalf("answers %v", answers)
	}
	evs := eventsOf(t, w.App, rid, "edit")
	if len(evs) != 1 || !evs[0].GetBool("public") || evs[0].GetString("author") != w.CitizenA.Id || evs[0].GetString("message") != "answers, description, address" {
		t.Fatalf("edit events: %v", evs)
	}
	// the log names the fields, never the old text (it may be the personal data removed)
	if m := evs[0].GetString("message"); m == "" || len(m) > 64 {
		t.Fatalf("edit message %q", m)
	}

	// past `received`: refused, nothing written
	w.MoveTo(t, rec, workflow.StatusInProgress)
	ids[a]++
	_, res := a.push(edit(ids[a], rid, map[string]any{"description": "late edit"}))
	if got := outcome(t, res, ids[a]); got != "rejected:validation_failed:description" {
		t.Fatalf("edit in progress: %s", got)
	}
	if status(t, w.App, rid).GetString("description") != "hole near the school" || len(eventsOf(t, w.App, rid, "edit")) != 1 {
		t.Fatal("a refused edit wrote something")
	}

	// the records API runs the same hooks
	tok := testkit.Token(t, w.CitizenA)
	r := api(t, base, http.MethodPatch, "/api/collections/requests/records/"+rid, tok, `{"description":"via API"}`)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("records API edit in progress: %d %s", r.Status, r.Body)
	}
}

func TestReplyMovesBackToClerk(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	a := newClient(t, base, w.CitizenA)
	rid := randomID(15)
	a.push(create(1, rid))
	tok := testkit.Token(t, w.CitizenA)

	// while waiting for the citizen, a bare status change is refused on every path
	w.MoveTo(t, status(t, w.App, rid), workflow.StatusWaitingCitizen)
	r := api(t, base, http.MethodPatch, "/api/collections/requests/records/"+rid, tok, `{"status":"in_progress"}`)
	if r.Status != http.StatusBadRequest || status(t, w.App, rid).GetString("status") != workflow.StatusWaitingCitizen {
		t.Fatalf("bare status change: %d %s", r.Status, r.Body)
	}

	eid := randomID(15)
	if _, res := a.push(comment(2, eid, rid, "The hole is 40 cm wide.")); outcome(t, res, 2) != "applied" {
		t.Fatalf("reply: %+v", res)
	}
	rec := status(t, w.App, rid)
	if rec.GetString("status") != workflow.StatusInProgress {
		t.Fatalf("after the reply: %s", rec.GetString("status"))
	}
	st := eventsOf(t, w.App, rid, "status")
	last := st[len(st)-1]
	if last.GetString("from_status") != workflow.StatusWaitingCitizen || last.GetString("to_status") != workflow.StatusInProgress || last.GetString("author_type") != "citizen" {
		t.Fatalf("status event %v", last.PublicExport())
	}
	// a comment while in progress changes nothing
	if _, res := a.push(comment(3, randomID(15), rid, "also a second one")); outcome(t, res, 3) != "applied" {
		t.Fatalf("comment: %+v", res)
	}
	if len(eventsOf(t, w.App, rid, "status")) != len(st) {
		t.Fatal("a comment in progress changed the status")
	}
}

func TestNotFixed(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	a, b := newClient(t, base, w.CitizenA), newClient(t, base, w.CitizenB)
	pothole, light, old := randomID(15), randomID(15), randomID(15)
	if _, res := a.push(create(1, pothole), createStreetlight(2, light), create(3, old)); res.LastMutationID != 3 {
		t.Fatalf("create: %+v", res)
	}
	for _, id := range []string{pothole, light, old} {
		w.MoveTo(t, status(t, w.App, id), workflow.StatusResolved)
	}
	// resolved 20 days ago: outside pothole's 14 days
	rec := status(t, w.App, old)
	rec.Set("resolved_at", types.NowDateTime().Add(-20*24*time.Hour))
	workflow.AttachActor(rec, workflow.System)
	if err := w.App.Save(rec); err != nil {
		t.Fatal(err)
	}

	_, res := a.push(
		notFixed(4, randomID(15), pothole, "Still a hole."),    // reopen mode
		notFixed(5, randomID(15), light, "Still dark."),        // clerk mode
		notFixed(6, randomID(15), light, "Still dark, again."), // already waiting
		notFixed(7, randomID(15), old, "Too late."),            // window closed
		mutation{ID: 8, Name: "request.notFixed", Args: map[string]any{"eventId": randomID(15), "requestId": pothole, "message": " "}},
	)
	want := map[int64]string{4: "applied", 5: "applied", 6: "rejected:validation_failed:request", 7: "rejected:validation_failed:request", 8: "rejected:validation_failed:message"}
	for id, wnt := range want {
		if got := outcome(t, res, id); got != wnt {
			t.Errorf("mutation %d: %s, want %s", id, got, wnt)
		}
	}
	if _, res := b.push(notFixed(1, randomID(15), light, "not mine")); outcome(t, res, 1) != "rejected:not_found:requestId" {
		t.Errorf("someone else's: %+v", res)
	}

	if s := status(t, w.App, pothole); s.GetString("status") != workflow.StatusInProgress || s.GetString("resolved_at") != "" {
		t.Errorf("pothole after not fixed: %s resolved_at %q", s.GetString("status"), s.GetString("resolved_at"))
	}
	if evs := eventsOf(t, w.App, pothole, "not_fixed"); len(evs) != 1 || evs[0].GetString("message") != "Still a hole." || !evs[0].GetBool("public") {
		t.Errorf("not_fixed events %v", evs)
	}
	ls := status(t, w.App, light)
	if ls.GetString("status") != workflow.StatusResolved || ls.GetString("not_fixed_at") == "" {
		t.Fatalf("streetlight: %s not_fixed_at %q", ls.GetString("status"), ls.GetString("not_fixed_at"))
	}
	if status(t, w.App, old).GetString("status") != workflow.StatusResolved {
		t.Error("the late report changed the request")
	}

	// the clerk decides: reopening clears the mark
	ls.Set("status", workflow.StatusInProgress)
	workflow.AttachActor(ls, workflow.Actor{Kind: workflow.ActorStaff, ID: w.ClerkRoads.Id, Role: workflow.RoleClerk, Departments: w.ClerkRoads.GetStringSlice("departments")})
	if err := w.App.Save(ls); err != nil {
		t.Fatal(err)
	}
	if status(t, w.App, light).GetString("not_fixed_at") != "" {
		t.Error("the clerk's decision did not clear not_fixed_at")
	}

	// the records API runs the same rules: type not_fixed on a request not resolved
	tok := testkit.Token(t, w.CitizenA)
	r := api(t, base, http.MethodPost, "/api/collections/request_events/records", tok, fmt.Sprintf(`{"request":%q,"type":"not_fixed","message":"x"}`, pothole))
	if r.Status != http.StatusBadRequest {
		t.Errorf("records API not_fixed on an open request: %d %s", r.Status, r.Body)
	}
	// and staff cannot write a citizen's not_fixed
	r = api(t, base, http.MethodPost, "/api/collections/request_events/records", testkit.Token(t, w.ClerkRoads), fmt.Sprintf(`{"request":%q,"type":"not_fixed","message":"x"}`, old))
	if r.Status != http.StatusBadRequest {
		t.Errorf("staff not_fixed: %d %s", r.Status, r.Body)
	}
}

func TestRateOutcome(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	a, b := newClient(t, base, w.CitizenA), newClient(t, base, w.CitizenB)
	rid := randomID(15)
	a.push(create(1, rid))
	if _, res := a.push(rate(2, rid, 4)); outcome(t, res, 2) != "rejected:validation_failed:request" {
		t.Fatalf("rating before resolution: %+v", res)
	}
	w.MoveTo(t, status(t, w.App, rid), workflow.StatusResolved)
	_, res := a.push(rate(3, rid, 4), rate(4, rid, 5),
		mutation{ID: 5, Name: "request.rate", Args: map[string]any{"requestId": rid, "solved": "maybe", "satisfaction": 9, "speed": "ok"}})
	for id, wnt := range map[int64]string{3: "applied", 4: "applied", 5: "rejected:validation_failed:satisfaction"} {
		if got := outcome(t, res, id); got != wnt {
			t.Errorf("mutation %d: %s, want %s", id, got, wnt)
		}
	}
	if _, res := b.push(rate(1, rid, 1)); outcome(t, res, 1) != "rejected:not_found:requestId" {
		t.Errorf("someone else's: %+v", res)
	}
	ratings, err := w.App.FindAllRecords("request_ratings")
	if err != nil || len(ratings) != 1 || ratings[0].GetInt("satisfaction") != 5 || ratings[0].GetString("service") != w.Services["pothole"] || ratings[0].GetString("citizen") != w.CitizenA.Id {
		t.Fatalf("ratings %v %v", ratings, err)
	}
	if evs := eventsOf(t, w.App, rid, "rating"); len(evs) != 1 {
		t.Fatalf("rating events: %d", len(evs))
	}

	// readable by supervisors (figures) and the owner; not by clerks or other citizens
	for _, c := range []struct {
		who  *core.Record
		want int
	}{{w.Supervisor, 1}, {w.CitizenA, 1}, {w.CitizenB, 0}, {w.ClerkRoads, 0}} {
		r := api(t, base, http.MethodGet, "/api/collections/request_ratings/records?skipTotal=1", testkit.Token(t, c.who), "")
		var body struct {
			Items []map[string]any `json:"items"`
		}
		r.JSON(t, &body)
		if r.Status != http.StatusOK || len(body.Items) != c.want {
			t.Errorf("%s lists %d ratings (%d), want %d", c.who.Email(), len(body.Items), r.Status, c.want)
		}
	}
	// no direct writes through the records API
	r := api(t, base, http.MethodPost, "/api/collections/request_ratings/records", testkit.Token(t, w.CitizenA), fmt.Sprintf(`{"request":%q,"solved":"yes","satisfaction":5,"speed":"ok"}`, rid))
	if r.Status == http.StatusOK {
		t.Errorf("records API create: %d", r.Status)
	}
}
