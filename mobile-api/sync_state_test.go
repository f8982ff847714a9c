package mobileapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"civicdesk/changelog"
	mobileapi "civicdesk/mobile-api"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The pull reads typed rows with prepared statements. The oracle below is the
// record-based export it replaced (each record loaded by PocketBase, fields
// read with the record getters): for the same data both must give the same
// records, field by field, and the same view.

// recordState is what the pull sends for rec, built from the record as PocketBase loads it.
func recordState(t testing.TB, app core.App, citizen string, rec *core.Record) map[string]any {
	t.Helper()
	switch rec.Collection().Name {
	case "requests":
		var receipts []*core.Record
		if err := app.RecordQuery("receipts").Where(dbx.HashExp{"request": rec.Id}).OrderBy("issued_at", "id").All(&receipts); err != nil {
			t.Fatal(err)
		}
		rcs := []any{}
		for _, rc := range receipts {
			rcs = append(rcs, recordState(t, app, citizen, rc))
		}
		var ups []dbx.NullStringMap
		if err := app.DB().NewQuery("SELECT * FROM sync_uploads WHERE citizen = {:c} AND request_id = {:r} ORDER BY created, attachment_id").
			Bind(dbx.Params{"c": citizen, "r": rec.Id}).All(&ups); err != nil {
			t.Fatal(err)
		}
		attachments := []any{}
		for _, u := range ups {
			a := map[string]any{"id": u["attachment_id"].String, "status": u["status"].String}
			for col, key := range map[string]string{"filename": "filename", "error_code": "errorCode", "error_message": "errorMessage"} {
				if v := u[col].String; v != "" {
					a[key] = v
				}
			}
			attachments = append(attachments, a)
		}
		photos := []any{}
		for _, name := range rec.GetStringSlice("photos") {
			u := "/api/files/requests/" + url.PathEscape(rec.Id) + "/" + url.PathEscape(name)
			photos = append(photos, map[string]any{"name": name, "url": u, "thumb": u + "?thumb=320x240"})
		}
		var location any
		if loc := rec.GetGeoPoint("location"); loc.Lat != 0 || loc.Lon != 0 {
			location = map[string]any{"lat": loc.Lat, "lon": loc.Lon}
		}
		var answers any
		_ = rec.UnmarshalJSONField("answers", &answers)
		code := ""
		if svc, err := app.FindRecordById("services", rec.GetString("service")); err == nil {
			code = svc.GetString("code")
		}
		return map[string]any{
			"id": rec.Id, "number": rec.GetString("number"), "service": rec.GetString("service"), "serviceCode": code,
			"status": rec.GetString("status"), "status_note": rec.GetString("status_note"), "answers": answers,
			"description": rec.GetString("description"), "location": location, "address": rec.GetString("address"),
			"photos": photos, "attachments": attachments, "department": rec.GetString("department"),
			"priority": rec.GetString("priority"), "fee": rec.GetInt("fee"), "currency": rec.GetString("currency"),
			"paid_at": rec.GetString("paid_at"), "reported_at": rec.GetString("reported_at"), "due_at": rec.GetString("due_at"),
			"resolved_at": rec.GetString("resolved_at"), "not_fixed_at": rec.GetString("not_fixed_at"),
			"created": rec.GetString("created"), "updated": rec.GetString("updated"), "receipts": rcs,
		}
	case "request_events":
		return map[string]any{
			"id": rec.Id, "request": rec.GetString("request"), "type": rec.GetString("type"),
			"from_status": rec.GetString("from_status"), "to_status": rec.GetString("to_status"),
			"message": rec.GetString("message"), "author_type": rec.GetString("author_type"),
			"mine": rec.GetString("author") == citizen, "created": rec.GetString("created"),
		}
	case "receipts":
		return map[string]any{
			"id": rec.Id, "request": rec.GetString("request"), "kind": rec.GetString("kind"), "code": rec.GetString("code"),
			"issued_at": rec.GetString("issued_at"), "revoked": rec.GetBool("revoked"),
			"qr": "/api/mobile/receipts/" + url.PathEscape(rec.Id) + "/qr.png",
		}
	case "fees":
		var instruction any
		_ = rec.UnmarshalJSONField("instruction", &instruction)
		return map[string]any{
			"id": rec.Id, "request": rec.GetString("request"), "amount": rec.GetInt("amount"),
			"currency": rec.GetString("currency"), "reference": rec.GetString("reference"), "state": rec.GetString("state"),
			"paid_amount": rec.GetInt("paid_amount"), "refunded_amount": rec.GetInt("refunded_amount"),
			"due_at": rec.GetString("due_at"), "paid_at": rec.GetString("paid_at"), "instruction": instruction,
			"qr": "/api/payments/fees/" + url.PathEscape(rec.Id) + "/qr.png", "updated": rec.GetString("updated"),
		}
	}
	t.Fatalf("no state for %s", rec.Collection().Name)
	return nil
}

// oracleView is every record the citizen may see, by the authorization rules
// read straight from the records: their own requests; the public events,
// the receipts and the fees of those requests.
func oracleView(t testing.TB, app core.App, citizen string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	own, err := app.FindAllRecords("requests", dbx.HashExp{"citizen": citizen})
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, rq := range own {
		mine[rq.Id] = true
		out["requests/"+rq.Id] = recordState(t, app, citizen, rq)
	}
	for _, coll := range []string{"request_events", "receipts", "fees"} {
		recs, err := app.FindAllRecords(coll)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if !mine[rec.GetString("request")] || (coll == "request_events" && !rec.GetBool("public")) {
				continue
			}
			out[coll+"/"+rec.Id] = recordState(t, app, citizen, rec)
		}
	}
	return out
}

// normalized is v as a client decodes it.
func normalized(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameRecords compares a replica with the oracle record by record, field by field.
func sameRecords(t testing.TB, got, want map[string]map[string]any) {
	t.Helper()
	var diffs []string
	for key, w := range want {
		g, ok := got[key]
		if !ok {
			diffs = append(diffs, key+": missing")
			continue
		}
		gm, wm := normalized(t, g).(map[string]any), normalized(t, w).(map[string]any)
		for f, wv := range wm {
			if gv, ok := gm[f]; !ok || !reflect.DeepEqual(gv, wv) {
				diffs = append(diffs, fmt.Sprintf("%s.%s: pull %v (present %v), records %v", key, f, gv, ok, wv))
			}
		}
		for f := range gm {
			if _, ok := wm[f]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: only in the pull", key, f))
			}
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			diffs = append(diffs, key+": pulled, but not the citizen's to see")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%d differences:\n%s", len(diffs), strings.Join(diffs[:min(20, len(diffs))], "\n"))
	}
}

// stateWorld is two citizens' requests with everything a pull carries:
// photos, uploads (one another citizen's), staff-only fields filled in, a
// status change with a note, comments (one made internal), receipts and fees.
type stateWorld struct {
	w                  *testkit.World
	a                  *client
	start              string // a's cursor before any of it
	hole, hidden       string // a's pothole request, a's comment that staff made internal
	bHole, bUpload     string // b's request and an upload of b's naming a's request
	aUpload, aRejected string
}

func newStateWorld(t *testing.T) *stateWorld {
	w := testkit.NewApp(t)
	base := serve(t, w)
	s := &stateWorld{w: w, a: newClient(t, base, w.CitizenA)}
	var first replica
	s.a.sync(&first, 1000)
	s.start = *first.cursor

	s.hole, s.hidden = randomID(15), randomID(15)
	if code, res := s.a.push(create(1, s.hole), comment(2, randomID(15), s.hole, "still there"), comment(3, s.hidden, s.hole, "my phone number is ...")); code != http.StatusOK {
		t.Fatalf("push: %d %+v", code, res)
	}
	b := newClient(t, base, w.CitizenB)
	s.bHole = randomID(15)
	if code, _ := b.push(create(1, s.bHole), comment(2, randomID(15), s.bHole, "b's comment")); code != http.StatusOK {
		t.Fatal(code)
	}
	w.FileCertificate(t, w.CitizenA)
	w.FileCertificate(t, w.CitizenB)

	rec, err := w.App.FindRecordById("requests", s.hole)
	if err != nil {
		t.Fatal(err)
	}
	w.MoveTo(t, rec, "in_progress")
	ev, _ := w.App.FindRecordById("request_events", s.hidden)
	ev.Set("public", false)
	workflow.AttachActor(ev, workflow.ActorFromAuth(w.Supervisor))
	if err := w.App.Save(ev); err != nil {
		t.Fatal(err)
	}
	// columns no path of the app writes together: photos (as the tus pipeline
	// leaves them), a note, and the staff-only fields the citizen must not get
	if _, err := w.App.DB().NewQuery("UPDATE requests SET photos = {:p}, status_note = 'Crew sent', priority = 'high', assignee = {:staff}, " +
		"contact_name = 'Secret Name', contact_email = 'secret@example.org', contact_phone = '+39 000', payment_ref = 'PR-1', source = 'app' WHERE id = {:id}").
		Bind(dbx.Params{"p": `["hole_a1b2c3d4e5.jpg","wide view_f6g7h8i9j0.png"]`, "staff": w.ClerkRoads.Id, "id": s.hole}).Execute(); err != nil {
		t.Fatal(err)
	}
	s.aUpload, s.aRejected, s.bUpload = randomID(20), randomID(20), randomID(20)
	for _, u := range []struct{ id, citizen, status, filename, code, msg string }{
		{s.aUpload, w.CitizenA.Id, "attached", "hole_a1b2c3d4e5.jpg", "", ""},
		{s.aRejected, w.CitizenA.Id, "rejected", "", "too_large", "The photo has more than 40 megapixels."},
		{s.bUpload, w.CitizenB.Id, "ready", "b.jpg", "", ""}, // b's, naming a's request: a must not see it
	} {
		if _, err := w.App.DB().NewQuery("INSERT INTO sync_uploads (attachment_id, citizen, request_id, size, sha256, status, filename, error_code, error_message) " +
			"VALUES ({:id}, {:c}, {:r}, 10, {:sha}, {:st}, {:fn}, {:code}, {:msg})").
			Bind(dbx.Params{"id": u.id, "c": u.citizen, "r": s.hole, "sha": strings.Repeat("a", 64), "st": u.status, "fn": u.filename, "code": u.code, "msg": u.msg}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestPullStateMatchesRecords: whichever way the citizen pulls — a reset in
// one page or in pages of 3, changes after a cursor in one page or in pages
// of 3 — the replica ends up exactly as the record-based oracle: the same
// records, each field the same.
func TestPullStateMatchesRecords(t *testing.T) {
	s := newStateWorld(t)
	want := oracleView(t, s.w.App, s.w.CitizenA.Id)
	kinds := map[string]int{}
	for key := range want {
		kinds[strings.Split(key, "/")[0]]++
	}
	if kinds["requests"] < 2 || kinds["request_events"] < 3 || kinds["receipts"] < 2 || kinds["fees"] < 1 {
		t.Fatalf("the world lacks a kind of record: %v", kinds)
	}
	for _, tc := range []struct {
		name   string
		cursor *string
		limit  int
	}{
		{"reset, one page", nil, 1000},
		{"reset, pages of 3", nil, 3},
		{"changes, one page", &s.start, 1000},
		{"changes, pages of 3", &s.start, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := replica{cursor: tc.cursor, data: map[string]map[string]any{}}
			s.a.sync(&r, tc.limit)
			sameRecords(t, r.data, want)
		})
	}
}

// TestPullAuthorization: one test per rule of what a citizen's pull may
// carry, for a reset and for the changes after a cursor.
func TestPullAuthorization(t *testing.T) {
	s := newStateWorld(t)
	for name, cursor := range map[string]*string{"reset": nil, "changes": &s.start} {
		t.Run(name, func(t *testing.T) {
			r := replica{cursor: cursor, data: map[string]map[string]any{}}
			s.a.sync(&r, 1000)
			pullAuthorizationRules(t, s, &r)
		})
	}
}

func pullAuthorizationRules(t *testing.T, s *stateWorld, r *replica) {
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	documented := map[string]string{ // docs/sync-protocol.md "Data shapes"
		"requests":       "address answers attachments created currency department description due_at fee id location not_fixed_at number paid_at photos priority receipts reported_at resolved_at service serviceCode status status_note updated",
		"request_events": "author_type created from_status id message mine request to_status type",
		"receipts":       "code id issued_at kind qr request revoked",
		"fees":           "amount currency due_at id instruction paid_amount paid_at qr reference refunded_amount request state updated",
	}
	for _, rule := range []struct {
		name  string
		check func(t *testing.T)
	}{
		{"only the citizen's own requests", func(t *testing.T) {
			for key, data := range r.data {
				if strings.HasPrefix(key, "requests/") {
					rec, err := s.w.App.FindRecordById("requests", data["id"].(string))
					if err != nil || rec.GetString("citizen") != s.w.CitizenA.Id {
						t.Fatalf("%s is not the citizen's", key)
					}
				}
			}
			if r.data["requests/"+s.bHole] == nil && r.data["requests/"+s.hole] != nil {
				return
			}
			t.Fatal("another citizen's request pulled, or the citizen's own missing")
		}},
		{"events, receipts and fees only of the citizen's requests", func(t *testing.T) {
			for key, data := range r.data {
				if strings.HasPrefix(key, "requests/") {
					continue
				}
				req, _ := data["request"].(string)
				if r.data["requests/"+req] == nil {
					t.Fatalf("%s belongs to request %s, not one of the citizen's", key, req)
				}
			}
		}},
		{"no internal event", func(t *testing.T) {
			if r.data["request_events/"+s.hidden] != nil {
				t.Fatal("the comment staff made internal was pulled")
			}
			var n int
			_ = s.w.App.DB().NewQuery("SELECT COUNT(*) FROM request_events WHERE id = {:id} AND public = FALSE").Bind(dbx.Params{"id": s.hidden}).Row(&n)
			if n != 1 {
				t.Fatal("the world has no internal event")
			}
		}},
		{"only the citizen's own uploads", func(t *testing.T) {
			atts, _ := r.data["requests/"+s.hole]["attachments"].([]any)
			var ids []string
			for _, a := range atts {
				ids = append(ids, a.(map[string]any)["id"].(string))
			}
			sort.Strings(ids)
			want := []string{s.aUpload, s.aRejected}
			sort.Strings(want)
			if !reflect.DeepEqual(ids, want) {
				t.Fatalf("attachments %v, want the citizen's own %v", ids, want)
			}
		}},
		{"only the documented fields (no staff-only, hidden or protected ones)", func(t *testing.T) {
			seen := map[string]bool{}
			for key, data := range r.data {
				coll := strings.Split(key, "/")[0]
				seen[coll] = true
				if got := strings.Join(keys(data), " "); got != documented[coll] {
					t.Fatalf("%s has fields %q, want %q", key, got, documented[coll])
				}
				b, _ := json.Marshal(data)
				for _, secret := range []string{"Secret Name", "secret@example.org", "+39 000", "PR-1", s.w.ClerkRoads.Id, s.w.CitizenA.Id} {
					if strings.Contains(string(b), secret) {
						t.Fatalf("%s carries %q", key, secret)
					}
				}
			}
			if len(seen) != len(documented) {
				t.Fatalf("only %v pulled", seen)
			}
		}},
		{"another account's clientID is refused", func(t *testing.T) {
			b := newClient(t, s.a.base, s.w.CitizenB)
			b.id = s.a.id
			for _, cur := range []*string{nil, r.cursor} {
				if code, _ := b.pull(cur, 10); code != http.StatusForbidden {
					t.Fatalf("pull with a's clientID (cursor %v): %d", cur, code)
				}
			}
		}},
	} {
		t.Run(rule.name, rule.check)
	}
}

// TestPullResetCursorWhileWriting: a reset paged while the citizen writes ends
// on the cursor of the seq it started at, with that change row's fingerprint
// (not the newer high-water mark's), and the next pull brings the new write.
func TestPullResetCursorWhileWriting(t *testing.T) {
	s := newStateWorld(t)
	_, first := s.a.pull(nil, 2)
	if !first.Reset || !first.HasMore {
		t.Fatalf("first page %+v", first)
	}
	high, _, _ := strings.Cut(strings.TrimPrefix(first.Cursor, "r"), ".")
	eid := randomID(15)
	if code, _ := s.a.push(comment(4, eid, s.hole, "written while paging")); code != http.StatusOK {
		t.Fatal(code)
	}
	r := replica{cursor: &first.Cursor, data: map[string]map[string]any{}}
	applyChanges(&r, first.Changes)
	for {
		_, p := s.a.pull(r.cursor, 2)
		applyChanges(&r, p.Changes)
		cur := p.Cursor
		r.cursor = &cur
		if !p.HasMore {
			break
		}
	}
	var seq int64
	if _, err := fmt.Sscan(high, &seq); err != nil {
		t.Fatalf("reset cursor %q: %v", first.Cursor, err)
	}
	fp, err := changelog.Fingerprint(s.w.App.DB(), seq)
	if err != nil || fp == "" {
		t.Fatalf("fingerprint of %d: %q %v", seq, fp, err)
	}
	if want := high + "." + fp + "@"; !strings.HasPrefix(*r.cursor, want) {
		t.Fatalf("cursor after the reset %q, want %s<epoch>", *r.cursor, want)
	}
	s.a.sync(&r, 2)
	if r.data["request_events/"+eid] == nil {
		t.Fatal("the write made while paging never arrived")
	}
	sameRecords(t, r.data, oracleView(t, s.w.App, s.w.CitizenA.Id))
}

// TestPullStatementPlans: every pull statement reads by index, and one that
// is given a list of ids walks that list (one primary-key lookup per id), so
// a page costs the same for a citizen with ten requests or ten thousand.
func TestPullStatementPlans(t *testing.T) {
	w := testkit.NewApp(t)
	db := w.App.ConcurrentDB().(*dbx.DB).DB()
	for _, q := range mobileapi.PullStatementSQL() {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, "x", "[]", 0)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for i, step := range plan {
			table, isScan := strings.CutPrefix(step, "SCAN ")
			switch {
			case isScan && !strings.HasPrefix(table, "j ") && !strings.HasPrefix(table, "(") &&
				table != "CONSTANT ROW" && table != "sqlite_sequence": // one row per AUTOINCREMENT table
				t.Errorf("%s\nscans a table: %q (plan %q)", q, step, plan)
			case strings.Contains(q, "json_each") && i == 0 && !strings.HasPrefix(step, "SCAN j "):
				t.Errorf("%s\ndoes not walk its id list first: plan %q", q, plan)
			}
		}
	}
}
