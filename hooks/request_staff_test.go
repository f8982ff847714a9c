package hooks_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// snapshot is everything a refused write must leave alone.
type snapshot struct {
	request         string
	events, outbox  int
	receipts, other int
}

func snap(t *testing.T, w *testkit.World, ids ...string) snapshot {
	t.Helper()
	var s snapshot
	for _, id := range ids {
		rec, err := w.App.FindRecordById("requests", id)
		if err != nil {
			t.Fatal(err)
		}
		s.request += fmt.Sprint(rec.Get("status"), rec.Get("assignee"), rec.Get("service"), rec.Get("department"), rec.Get("duplicate_of"), rec.Get("status_note"), rec.Get("updated"))
		s.events += countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id}", id)
		s.outbox += countRows(t, w, "SELECT COUNT(*) FROM push_outbox WHERE request = {:id}", id)
		s.receipts += countRows(t, w, "SELECT COUNT(*) FROM receipts WHERE request = {:id}", id)
	}
	s.other = countRows(t, w, "SELECT COUNT(*) FROM requests WHERE id != {:id}", "")
	return s
}

func patch(t *testing.T, w *testkit.World, token, id, body string, headers ...string) testkit.Response {
	t.Helper()
	if len(headers) == 0 {
		return w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+id, token, body)
	}
	return w.DoWithHeaders(t, http.MethodPatch, "/api/collections/requests/records/"+id, token, body, map[string]string{"If-Match": headers[0]})
}

// TestStaffActionsBadInput: every refused console action answers 4xx naming
// the field (or 412 for the guard) and writes nothing at all.
func TestStaffActionsBadInput(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	sup := testkit.Token(t, w.Supervisor)
	original := w.NewRequest(t, w.CitizenA)
	dupOfDup := w.NewRequest(t, w.CitizenA)
	w.App.DB().NewQuery("UPDATE requests SET duplicate_of = {:o} WHERE id = {:id}").Bind(dbx.Params{"o": original.Id, "id": dupOfDup.Id}).Execute()
	cert := w.NewRequest(t, w.CitizenB)
	_ = cert

	cases := []struct {
		name, token, body, ifMatch string
		status                     int
		field                      string
	}{
		{"stale If-Match", clerk, `{"status":"in_progress"}`, `"2020-01-01 00:00:00.000Z"`, http.StatusPreconditionFailed, "changed_since_opened"},
		{"garbage If-Match", clerk, `{"status":"in_progress"}`, `"yesterday"`, http.StatusPreconditionFailed, "changed_since_opened"},
		{"assignee of another department", clerk, fmt.Sprintf(`{"assignee":%q}`, w.ClerkRegistry.Id), "", http.StatusBadRequest, `"assignee"`},
		{"unknown assignee", clerk, `{"assignee":"nosuchstaff0000"}`, "", http.StatusBadRequest, `"assignee"`},
		{"re-route to an unknown service", clerk, `{"service":"nosuchservice00"}`, "", http.StatusBadRequest, `"service"`},
		{"duplicate of itself", clerk, `{"duplicate_of":"SELF","status":"resolved"}`, "", http.StatusBadRequest, `"duplicate_of"`},
		{"duplicate without closing", clerk, fmt.Sprintf(`{"duplicate_of":%q}`, original.Id), "", http.StatusBadRequest, `"status"`},
		{"duplicate of a duplicate", clerk, fmt.Sprintf(`{"duplicate_of":%q,"status":"resolved"}`, dupOfDup.Id), "", http.StatusBadRequest, `"duplicate_of"`},
		{"duplicate of an unknown request", sup, `{"duplicate_of":"nosuchrequest00","status":"rejected"}`, "", http.StatusBadRequest, `"duplicate_of"`},
		{"note over its limit", clerk, fmt.Sprintf(`{"status":"in_progress","status_note":%q}`, strings.Repeat("x", 2001)), "", http.StatusBadRequest, `"status_note"`},
		{"transition not allowed", clerk, `{"status":"cancelled"}`, "", http.StatusBadRequest, `"status"`},
		{"guard plus bad assignee", clerk, fmt.Sprintf(`{"assignee":%q}`, w.ClerkRegistry.Id), `"2020-01-01 00:00:00.000Z"`, http.StatusPreconditionFailed, "changed_since_opened"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := w.NewRequest(t, w.CitizenA)
			before := snap(t, w, req.Id, original.Id)
			body := strings.ReplaceAll(c.body, "SELF", req.Id)
			var res testkit.Response
			if c.ifMatch != "" {
				res = patch(t, w, c.token, req.Id, body, c.ifMatch)
			} else {
				res = patch(t, w, c.token, req.Id, body)
			}
			if res.Status != c.status || !strings.Contains(res.Body, c.field) {
				t.Fatalf("%d %s, want %d naming %s", res.Status, res.Body, c.status, c.field)
			}
			if after := snap(t, w, req.Id, original.Id); after != before {
				t.Fatalf("something was written: %+v -> %+v", before, after)
			}
		})
	}
}

// TestIfMatchGuard: the current version passes; two clerks racing on one
// version: exactly one wins, the other is told who changed it.
func TestIfMatchGuard(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	other, err := testkit.NewAccount(w.App, "staff", "clerk2.roads@demo.civicdesk.example", map[string]any{"name": "Second Clerk", "role": "clerk", "departments": []string{w.Departments["roads"]}})
	if err != nil {
		t.Fatal(err)
	}
	req := w.NewRequest(t, w.CitizenA)
	fresh, _ := w.App.FindRecordById("requests", req.Id)
	seen := `"` + fresh.GetString("updated") + `"`
	tokens := []string{testkit.Token(t, w.ClerkRoads), testkit.Token(t, other)}
	bodies := []string{`{"status":"in_progress","status_note":"mine"}`, `{"status":"waiting_citizen","status_note":"no, mine"}`}

	w.Handler(t) // built once before the racers start
	results := make([]testkit.Response, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range tokens {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i] = patch(t, w, tokens[i], req.Id, bodies[i], seen)
		}(i)
	}
	close(start)
	wg.Wait()
	won, lost := 0, 0
	for _, r := range results {
		switch r.Status {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
			lost++
			if !strings.Contains(r.Body, `"code":"changed_since_opened"`) || !strings.Contains(r.Body, `"updated":"`) || !strings.Contains(r.Body, `"by":"`) {
				t.Fatalf("412 body: %s", r.Body)
			}
		default:
			t.Fatalf("unexpected %d %s", r.Status, r.Body)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("won %d lost %d", won, lost)
	}
	if n := countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id} AND type = 'status'", req.Id); n != 1 {
		t.Fatalf("%d status events, want 1", n)
	}

	// the winner's version works for the next change; the RFC 3339 form too
	fresh, _ = w.App.FindRecordById("requests", req.Id)
	rfc := `"` + strings.Replace(fresh.GetString("updated"), " ", "T", 1) + `"`
	if res := patch(t, w, tokens[0], req.Id, `{"priority":"high"}`, rfc); res.Status != http.StatusOK {
		t.Fatalf("current version: %d %s", res.Status, res.Body)
	}
}

// TestRerouteDuplicateAndAssign: the console's actions and what they write.
func TestRerouteDuplicateAndAssign(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	newSubscription(t, w, w.CitizenA)

	// assign to a colleague of the department: an internal assignment event
	req := w.NewRequest(t, w.CitizenA)
	if res := patch(t, w, clerk, req.Id, fmt.Sprintf(`{"assignee":%q}`, w.ClerkRoads.Id)); res.Status != http.StatusOK {
		t.Fatalf("assign: %d %s", res.Status, res.Body)
	}
	if n := countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id} AND type = 'assignment' AND public = FALSE", req.Id); n != 1 {
		t.Fatalf("%d assignment events", n)
	}

	// re-route pothole → graffiti: department follows, due date kept, assignee released, citizen told
	before, _ := w.App.FindRecordById("requests", req.Id)
	outbox := countRows(t, w, "SELECT COUNT(*) FROM push_outbox WHERE request = {:id}", req.Id)
	res := patch(t, w, clerk, req.Id, fmt.Sprintf(`{"service":%q}`, w.Services["graffiti"]))
	if res.Status != http.StatusOK {
		t.Fatalf("re-route: %d %s", res.Status, res.Body)
	}
	after, _ := w.App.FindRecordById("requests", req.Id)
	if after.GetString("department") != w.Departments["environment"] || after.GetString("due_at") != before.GetString("due_at") || after.GetString("assignee") != "" {
		t.Fatalf("after re-route: department %s due %s→%s assignee %q", after.GetString("department"), before.GetString("due_at"), after.GetString("due_at"), after.GetString("assignee"))
	}
	ev, err := w.App.FindFirstRecordByFilter("request_events", "request = {:r} && type = 'status' && public = true", dbx.Params{"r": req.Id})
	if err != nil || !strings.Contains(ev.GetString("message"), "Buca nella strada") || !strings.Contains(ev.GetString("message"), "Graffiti") {
		t.Fatalf("re-route event: %v %v", ev, err)
	}
	if n := countRows(t, w, "SELECT COUNT(*) FROM push_outbox WHERE request = {:id}", req.Id); n <= outbox {
		t.Fatal("the citizen was not pushed about the re-route")
	}
	// the roads clerk no longer sees it
	if res := w.Do(t, http.MethodGet, "/api/collections/requests/records/"+req.Id, clerk, ""); res.Status != http.StatusNotFound {
		t.Fatalf("roads clerk after re-route: %d", res.Status)
	}

	// duplicate: both linked, the citizen's note names the original, a resolved receipt
	orig := w.NewRequest(t, w.CitizenB)
	dup := w.NewRequest(t, w.CitizenA)
	res = patch(t, w, clerk, dup.Id, fmt.Sprintf(`{"duplicate_of":%q,"status":"resolved"}`, orig.Id))
	if res.Status != http.StatusOK {
		t.Fatalf("duplicate: %d %s", res.Status, res.Body)
	}
	d, _ := w.App.FindRecordById("requests", dup.Id)
	if d.GetString("duplicate_of") != orig.Id || d.GetString("status") != "resolved" || !strings.Contains(d.GetString("status_note"), orig.GetString("number")) {
		t.Fatalf("duplicate record: %v", d.PublicExport())
	}
	if n := countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id} AND type = 'comment' AND public = FALSE AND message LIKE '%duplicate%'", orig.Id); n != 1 {
		t.Fatalf("original's internal link event: %d", n)
	}
	if n := countRows(t, w, "SELECT COUNT(*) FROM receipts WHERE request = {:id} AND kind = 'resolved'", dup.Id); n != 1 {
		t.Fatalf("resolved receipts: %d", n)
	}
}

// TestOfficeFiling: staff file on behalf of a person at the counter, with or
// without a citizen, through the same hooks (number, SLA, receipt, event).
func TestOfficeFiling(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	body := func(extra string) string {
		return fmt.Sprintf(`{"service":%q,"answers":{"size":"large"},"address":"Piazza De Ferrari","source":"app","contact_name":"Anna Bianchi","contact_email":"anna@example.org","contact_phone":"+39 010 123"%s}`, w.Services["pothole"], extra)
	}
	count := func() int { return countRows(t, w, "SELECT COUNT(*) FROM requests WHERE id != {:id}", "") }

	for _, c := range []struct {
		name, token, body, field string
	}{
		{"service of another department", testkit.Token(t, w.ClerkRegistry), body(""), `"service"`},
		{"bad contact e-mail", clerk, strings.Replace(body(""), "anna@example.org", "anna at example", 1), `"contact_email"`},
		{"unknown citizen", clerk, body(`,"citizen":"nosuchcitizen00"`), `"citizen"`},
		{"assignee of another department", clerk, body(fmt.Sprintf(`,"assignee":%q`, w.ClerkRegistry.Id)), `"assignee"`},
	} {
		n := count()
		res := w.Do(t, http.MethodPost, "/api/collections/requests/records", c.token, c.body)
		if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, c.field) {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
		if count() != n {
			t.Errorf("%s: a request was written", c.name)
		}
	}

	for _, citizen := range []*core.Record{nil, w.CitizenB} {
		extra := ""
		if citizen != nil {
			extra = fmt.Sprintf(`,"citizen":%q`, citizen.Id)
		}
		res := w.Do(t, http.MethodPost, "/api/collections/requests/records", clerk, body(extra))
		if res.Status != http.StatusOK {
			t.Fatalf("office filing: %d %s", res.Status, res.Body)
		}
		var out struct {
			ID string `json:"id"`
		}
		res.JSON(t, &out)
		rec, _ := w.App.FindRecordById("requests", out.ID)
		if rec.GetString("source") != "office" || rec.GetString("number") == "" || rec.GetString("due_at") == "" || rec.GetString("contact_email") != "anna@example.org" || rec.GetString("contact_name") != "Anna Bianchi" {
			t.Fatalf("office request: %v", rec.FieldsData())
		}
		if strings.Contains(res.Body, "anna@example.org") {
			t.Fatal("contact fields returned by the records API")
		}
		if n := countRows(t, w, "SELECT COUNT(*) FROM receipts WHERE request = {:id} AND kind = 'received'", rec.Id); n != 1 {
			t.Fatalf("received receipts: %d", n)
		}
		if n := countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id} AND type = 'created' AND author_type = 'staff'", rec.Id); n != 1 {
			t.Fatalf("created events: %d", n)
		}
	}
}
