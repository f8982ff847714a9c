package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"civicdesk/console"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
)

type fileResp struct {
	Request map[string]any `json:"request"`
	Answers []struct {
		Code, Label, Display string
	} `json:"answers"`
	Events []struct {
		Type       string `json:"type"`
		Public     bool   `json:"public"`
		Message    string `json:"message"`
		AuthorName string `json:"author_name"`
	} `json:"events"`
	Receipts []struct {
		Kind string `json:"kind"`
		Code string `json:"code"`
	} `json:"receipts"`
	Citizen     map[string]any `json:"citizen"`
	Contact     map[string]any `json:"contact"`
	Transitions []string       `json:"transitions"`
	Nearby      []struct {
		ID        string `json:"id"`
		DistanceM int    `json:"distance_m"`
	} `json:"nearby"`
	DuplicateOf *struct {
		Number string `json:"number"`
	} `json:"duplicate_of"`
	Duplicates []struct {
		ID string `json:"id"`
	} `json:"duplicates"`
}

func TestRequestFile(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	at := func(dLatMeters float64) map[string]any {
		return map[string]any{"location": types.GeoPoint{Lat: 44.4056 + dLatMeters/111320, Lon: 8.9463}}
	}
	req := file(t, w, "pothole", w.CitizenA, map[string]any{"answers": map[string]any{"size": "large", "danger": true}})
	near := file(t, w, "pothole", w.CitizenB, at(50))
	far := file(t, w, "pothole", w.CitizenB, at(500))
	closed := file(t, w, "pothole", w.CitizenB, at(20))
	set(t, w, closed, map[string]any{"status": "rejected"})
	otherService := file(t, w, "streetlight", w.CitizenB, at(10))
	dup := file(t, w, "pothole", w.CitizenB, at(5))
	if res := w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+dup.Id, clerk, fmt.Sprintf(`{"duplicate_of":%q,"status":"resolved"}`, req.Id)); res.Status != 200 {
		t.Fatalf("duplicate: %s", res.Body)
	}
	if res := w.Do(t, http.MethodPost, "/api/collections/request_events/records", clerk, fmt.Sprintf(`{"request":%q,"type":"comment","message":"internal only","public":false}`, req.Id)); res.Status != 200 {
		t.Fatalf("internal note: %s", res.Body)
	}

	res := w.Do(t, http.MethodGet, "/api/staff/requests/"+req.Id+"?lang=en", clerk, "")
	if res.Status != http.StatusOK {
		t.Fatalf("file: %d %s", res.Status, res.Body)
	}
	var f fileResp
	res.JSON(t, &f)
	if len(f.Answers) != 2 || f.Answers[0].Label != "Size" || f.Answers[0].Display != "Large (over 1 m)" || f.Answers[1].Display != "Yes" {
		t.Errorf("answers: %+v", f.Answers)
	}
	internal := false
	for _, ev := range f.Events {
		if ev.Message == "internal only" && !ev.Public && ev.AuthorName == w.ClerkRoads.GetString("name") {
			internal = true
		}
	}
	if !internal || f.Events[0].Type != "created" {
		t.Errorf("events: %+v", f.Events)
	}
	if len(f.Receipts) != 1 || f.Receipts[0].Kind != "received" || !strings.HasPrefix(f.Receipts[0].Code, "CR1:") {
		t.Errorf("receipts: %+v", f.Receipts)
	}
	if f.Citizen["email"] != w.CitizenA.Email() {
		t.Errorf("citizen: %v", f.Citizen)
	}
	if !slices.Equal(f.Transitions, []string{"in_progress", "waiting_citizen", "resolved", "rejected"}) {
		t.Errorf("transitions: %v", f.Transitions)
	}
	var nearIDs []string
	for _, n := range f.Nearby {
		nearIDs = append(nearIDs, n.ID)
	}
	if !slices.Equal(nearIDs, []string{near.Id}) || f.Nearby[0].DistanceM < 45 || f.Nearby[0].DistanceM > 55 {
		t.Errorf("nearby %v (near %s, far %s, closed %s, other service %s)", f.Nearby, near.Id, far.Id, closed.Id, otherService.Id)
	}
	if len(f.Duplicates) != 1 || f.Duplicates[0].ID != dup.Id {
		t.Errorf("duplicates: %+v", f.Duplicates)
	}
	svc, _ := f.Request["service"].(map[string]any)
	if svc["code"] != "pothole" || f.Request["number"] != req.GetString("number") {
		t.Errorf("request: %v", f.Request)
	}

	// the duplicate's file names its original; by-number finds it
	res = w.Do(t, http.MethodGet, "/api/staff/requests/by-number/"+dup.GetString("number"), clerk, "")
	f = fileResp{}
	res.JSON(t, &f)
	if f.DuplicateOf == nil || f.DuplicateOf.Number != req.GetString("number") || !slices.Equal(f.Transitions, []string{"in_progress"}) {
		t.Errorf("duplicate's file: %s", res.Body)
	}

	// an anonymised citizen; an office request's contact
	sqlExec(t, w, "UPDATE requests SET anonymized = TRUE WHERE id = {:id}", dbx.Params{"id": near.Id})
	res = w.Do(t, http.MethodGet, "/api/staff/requests/"+near.Id, clerk, "")
	f = fileResp{}
	res.JSON(t, &f)
	if f.Citizen["anonymized"] != true || f.Citizen["email"] != nil {
		t.Errorf("anonymised citizen: %v", f.Citizen)
	}

	// nobody else sees the file
	for name, token := range map[string]string{"clerk_registry": testkit.Token(t, w.ClerkRegistry), "citizen": testkit.Token(t, w.CitizenA), "anonymous": ""} {
		for _, path := range []string{"/api/staff/requests/" + req.Id, "/api/staff/requests/by-number/" + req.GetString("number")} {
			res := w.Do(t, http.MethodGet, path, token, "")
			if res.Status < 400 || strings.Contains(res.Body, req.GetString("number")) {
				t.Errorf("%s %s: %d %s", name, path, res.Status, res.Body)
			}
		}
	}

	// the bounding box is an index range, never a scan
	q, params := console.NearbySQL(w.Services["pothole"], 44.40, 44.41)
	if plan := console.ExplainPlan(w.App.DB(), q, params); strings.Contains(plan, "SCAN requests") || !strings.Contains(plan, "idx_requests_service_status_lat") {
		t.Errorf("nearby plan:\n%s", plan)
	}
}

func TestResponseTemplates(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	sup := testkit.Token(t, w.Supervisor)
	clerk := testkit.Token(t, w.ClerkRoads)
	create := func(token, body string) (int, string, string) {
		res := w.Do(t, http.MethodPost, "/api/collections/response_templates/records", token, body)
		var out struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal([]byte(res.Body), &out)
		return res.Status, res.Body, out.ID
	}
	svc := w.Services["pothole"]
	if st, body, _ := create(sup, fmt.Sprintf(`{"service":%q,"status":"resolved","lang":"en","title":"Fixed","body":"Request {number} is fixed, {nme}."}`, svc)); st != 400 || !strings.Contains(body, `"body"`) || !strings.Contains(body, "{nme}") {
		t.Fatalf("unknown placeholder: %d %s", st, body)
	}
	if st, body, _ := create(clerk, fmt.Sprintf(`{"service":%q,"lang":"en","title":"x","body":"x"}`, svc)); st < 400 {
		t.Fatalf("clerk created a template: %d %s", st, body)
	}
	st, body, en := create(sup, fmt.Sprintf(`{"service":%q,"status":"resolved","lang":"en","key":"fixed","title":"Fixed","body":"Request {number} ({service}) is {status}. {city}"}`, svc))
	if st != 200 {
		t.Fatalf("create: %d %s", st, body)
	}
	if st, body, _ = create(sup, fmt.Sprintf(`{"service":%q,"status":"resolved","lang":"hu","key":"fixed","title":"Javítva","body":"A(z) {number} számú bejelentés ({service}) állapota: {status}."}`, svc)); st != 200 {
		t.Fatalf("create hu: %d %s", st, body)
	}
	if st, body, _ = create(sup, fmt.Sprintf(`{"service":%q,"status":"resolved","lang":"it","key":"fixed","title":"Risolta","body":"La richiesta {number} è {status}."}`, svc)); st != 200 {
		t.Fatalf("create it: %d %s", st, body)
	}
	if res := w.Do(t, http.MethodGet, "/api/collections/response_templates/records?filter=key%3D%27fixed%27", clerk, ""); res.Status != 200 || !strings.Contains(res.Body, "Javítva") {
		t.Fatalf("clerk list: %d %s", res.Status, res.Body)
	}
	if res := w.Do(t, http.MethodGet, "/api/collections/response_templates/records", testkit.Token(t, w.CitizenA), ""); strings.Contains(res.Body, "Javítva") {
		t.Fatal("a citizen lists templates")
	}

	hu := file(t, w, "pothole", w.CitizenB, nil) // Bence: hu
	sv := file(t, w, "pothole", nil, nil)        // no citizen: the city's language (it)
	for _, c := range []struct {
		req                    string
		number, lang, contains string
	}{
		{hu.Id, hu.GetString("number"), "hu", "A(z) " + hu.GetString("number") + " számú bejelentés (Kátyú az úton) állapota: beérkezett."},
		{sv.Id, sv.GetString("number"), "it", "La richiesta " + sv.GetString("number") + " è ricevuta."},
	} {
		res := w.Do(t, http.MethodPost, "/api/staff/templates/render", clerk, fmt.Sprintf(`{"template":%q,"request":%q}`, en, c.req))
		var out struct{ Lang, Text string }
		res.JSON(t, &out)
		if res.Status != 200 || out.Lang != c.lang || out.Text != c.contains {
			t.Errorf("render: %d %s", res.Status, res.Body)
		}
	}
	cert := file(t, w, "residence_certificate", w.CitizenB, nil)
	if res := w.Do(t, http.MethodPost, "/api/staff/templates/render", clerk, fmt.Sprintf(`{"template":%q,"request":%q}`, en, cert.Id)); res.Status != 404 {
		t.Errorf("render for another department's request: %d %s", res.Status, res.Body)
	}
}

func TestBulk(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	a := file(t, w, "pothole", w.CitizenA, nil)
	b := file(t, w, "pothole", w.CitizenA, nil)
	rejected := file(t, w, "pothole", w.CitizenA, nil)
	set(t, w, rejected, map[string]any{"status": "rejected"})
	cert := file(t, w, "residence_certificate", w.CitizenB, nil)

	body := fmt.Sprintf(`{"ids":[%q,%q,%q,%q,"nosuchrequest00"],"patch":{"status":"resolved","assignee":%q},"note":{"message":"Fixed by the night crew","public":false}}`,
		a.Id, b.Id, rejected.Id, cert.Id, w.ClerkRoads.Id)
	res := w.Do(t, http.MethodPost, "/api/staff/bulk", clerk, body)
	if res.Status != 200 {
		t.Fatalf("bulk: %d %s", res.Status, res.Body)
	}
	var out struct {
		Results []console.BulkResult `json:"results"`
	}
	res.JSON(t, &out)
	want := map[string]string{a.Id: "", b.Id: "", rejected.Id: "validation_invalid_transition", cert.Id: "not_found", "nosuchrequest00": "not_found"}
	if len(out.Results) != len(want) {
		t.Fatalf("results: %s", res.Body)
	}
	for _, r := range out.Results {
		code := ""
		if r.Error != nil {
			code = r.Error.Code
		}
		if r.OK != (want[r.ID] == "") || code != want[r.ID] {
			t.Errorf("%s: ok=%v error=%+v, want %q", r.ID, r.OK, r.Error, want[r.ID])
		}
	}
	for id, status := range map[string]string{a.Id: "resolved", b.Id: "resolved", rejected.Id: "rejected", cert.Id: "received"} {
		rec, _ := w.App.FindRecordById("requests", id)
		notes, _ := w.App.CountRecords("request_events", dbx.HashExp{"request": id, "message": "Fixed by the night crew"})
		wantNotes := int64(0)
		if status == "resolved" {
			wantNotes = 1
		}
		if rec.GetString("status") != status || notes != wantNotes {
			t.Errorf("%s: status %s notes %d, want %s %d (a failed row writes nothing)", id, rec.GetString("status"), notes, status, wantNotes)
		}
	}

	// a bad note fails its row whole: no status change without its note
	c := file(t, w, "pothole", w.CitizenA, nil)
	res = w.Do(t, http.MethodPost, "/api/staff/bulk", clerk, fmt.Sprintf(`{"ids":[%q],"patch":{"status":"in_progress"},"note":{"message":%q,"public":true}}`, c.Id, strings.Repeat("x", 2001)))
	out.Results = nil
	res.JSON(t, &out)
	if len(out.Results) != 1 || out.Results[0].OK || out.Results[0].Error.Field != "note.message" {
		t.Fatalf("long note: %s", res.Body)
	}
	if rec, _ := w.App.FindRecordById("requests", c.Id); rec.GetString("status") != "received" {
		t.Fatal("the status changed although its note failed")
	}

	for _, bad := range []struct{ body, field string }{
		{`{"ids":[],"patch":{"status":"resolved"}}`, "ids"},
		{`{"ids":[` + manyIDs(101) + `],"patch":{"status":"resolved"}}`, "ids"},
		{fmt.Sprintf(`{"ids":[%q],"patch":{"service":"x"}}`, a.Id), "patch"},
		{fmt.Sprintf(`{"ids":[%q]}`, a.Id), "patch"},
	} {
		res := w.Do(t, http.MethodPost, "/api/staff/bulk", clerk, bad.body)
		if res.Status != 400 || !strings.Contains(res.Body, `"`+bad.field+`"`) {
			t.Errorf("%s: %d %s", bad.body, res.Status, res.Body)
		}
	}
}

func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprintf("id%013d", i))
	}
	return strings.Join(ids, ",")
}
