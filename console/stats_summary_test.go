package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"civicdesk/city"
	"civicdesk/console"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
)

// firstResponses reads console_first_responses in a stable order.
func firstResponses(t *testing.T, w *testkit.World) string {
	t.Helper()
	var rows []struct {
		Request    string `db:"request"`
		Created    string `db:"created"`
		Department string `db:"department"`
		Service    string `db:"service"`
		FirstAt    string `db:"first_at"`
		Ms         *int64 `db:"ms"`
	}
	if err := w.App.DB().NewQuery("SELECT * FROM " + console.FirstResponsesTable + " ORDER BY request").All(&rows); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rows)
	return string(b)
}

// TestFigureSummaryFollowsEveryPath: after writes through the records API,
// sync, bulk actions, the hooks and raw SQL (time shifts, an answer made
// internal, an event deleted, a re-route, a request deleted), the triggers'
// table equals a rebuild from scratch, and every weekly figure equals the
// reference that reads every row.
func TestFigureSummaryFollowsEveryPath(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	citizen := testkit.Token(t, w.CitizenA)
	ok := func(res testkit.Response, what string) testkit.Response {
		t.Helper()
		if res.Status/100 != 2 {
			t.Fatalf("%s: %d %s", what, res.Status, res.Body)
		}
		return res
	}
	var ids []string
	// records API, the citizen's web form
	for i := 0; i < 4; i++ {
		var rec struct {
			ID string `json:"id"`
		}
		ok(w.Do(t, http.MethodPost, "/api/collections/requests/records", citizen, fmt.Sprintf(
			`{"citizen":%q,"service":%q,"answers":{"size":"small"},"description":"records API %d","location":{"lat":44.4056,"lon":8.9463},"address":"Via Roma 2"}`,
			w.CitizenA.Id, w.Services["pothole"], i)), "records create").JSON(t, &rec)
		ids = append(ids, rec.ID)
	}
	// sync: two created, one commented, one cancelled (a closing event by the citizen)
	s1, s2 := "syncreq00000001", "syncreq00000002"
	var push struct {
		Results []struct {
			Status string `json:"status"`
		} `json:"results"`
	}
	mut := func(id int, name string, args string) string {
		return fmt.Sprintf(`{"id":%d,"name":%q,"args":%s}`, id, name, args)
	}
	create := func(id int, req string) string {
		return mut(id, "request.create", fmt.Sprintf(`{"requestId":%q,"service":"pothole","answers":{"size":"large"},"description":"synced","location":{"lat":44.4056,"lon":8.9463}}`, req))
	}
	ok(w.Do(t, http.MethodPost, "/api/mobile/sync/push", citizen, `{"clientID":"figures-client","mutations":[`+strings.Join([]string{
		create(1, s1), create(2, s2),
		mut(3, "request.comment", fmt.Sprintf(`{"eventId":"synccomment0001","requestId":%q,"message":"still there"}`, s1)),
		mut(4, "request.cancel", fmt.Sprintf(`{"requestId":%q}`, s2)),
	}, ",")+`]}`), "sync push").JSON(t, &push)
	for i, r := range push.Results {
		if r.Status != "applied" && r.Status != "ok" {
			t.Fatalf("mutation %d: %+v", i+1, push.Results)
		}
	}
	ids = append(ids, s1, s2)
	// the hooks directly (office filing), then staff through the records API
	for i := 0; i < 3; i++ {
		ids = append(ids, file(t, w, "pothole", w.CitizenB, nil).Id)
	}
	for _, id := range ids[:5] {
		ok(w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+id, clerk, `{"status":"in_progress","status_note":"On our list"}`), "status")
	}
	ok(w.Do(t, http.MethodPost, "/api/collections/request_events/records", clerk, fmt.Sprintf(`{"request":%q,"type":"comment","message":"internal only","public":false}`, ids[6])), "internal note")
	ok(w.Do(t, http.MethodPost, "/api/collections/request_events/records", clerk, fmt.Sprintf(`{"request":%q,"type":"comment","message":"We are on it","public":true}`, ids[7])), "public note")
	// bulk: resolve three with a public note
	ok(w.Do(t, http.MethodPost, "/api/staff/bulk", clerk, fmt.Sprintf(`{"ids":[%q,%q,%q],"patch":{"status":"resolved"},"note":{"message":"Fixed","public":true}}`, ids[0], ids[1], ids[6])), "bulk")

	// raw SQL: spread the requests over the weeks (request and its events alike)
	for i, id := range ids {
		shift := fmt.Sprintf("-%d hours", i*53)
		sqlExec(t, w, "UPDATE requests SET created = strftime('%Y-%m-%d %H:%M:%fZ', created, {:s}), resolved_at = CASE WHEN resolved_at = '' THEN '' ELSE strftime('%Y-%m-%d %H:%M:%fZ', resolved_at, {:s}) END WHERE id = {:id}", dbx.Params{"s": shift, "id": id})
		sqlExec(t, w, "UPDATE request_events SET created = strftime('%Y-%m-%d %H:%M:%fZ', created, {:s}, '+30 minutes') WHERE request = {:id} AND type != 'created'", dbx.Params{"s": shift, "id": id})
		sqlExec(t, w, "UPDATE request_events SET created = strftime('%Y-%m-%d %H:%M:%fZ', created, {:s}) WHERE request = {:id} AND type = 'created'", dbx.Params{"s": shift, "id": id})
	}
	// an answer made internal, another deleted, a request re-routed, one deleted
	sqlExec(t, w, "UPDATE request_events SET public = FALSE WHERE request = {:id} AND type = 'status'", dbx.Params{"id": ids[2]})
	sqlExec(t, w, "DELETE FROM request_events WHERE request = {:id} AND type = 'status'", dbx.Params{"id": ids[3]})
	sqlExec(t, w, "UPDATE requests SET service = {:s}, department = {:d} WHERE id = {:id}", dbx.Params{"s": w.Services["residence_certificate"], "d": w.Departments["registry"], "id": ids[4]})
	sqlExec(t, w, "DELETE FROM requests WHERE id = {:id}", dbx.Params{"id": ids[7]})
	// a late answer to an early request does not replace its first one
	sqlExec(t, w, "INSERT INTO request_events (id, request, type, from_status, to_status, message, public, author, author_type, created, updated) "+
		"VALUES ('lateanswer00001', {:id}, 'comment', '', '', 'later', TRUE, {:a}, 'staff', strftime('%Y-%m-%d %H:%M:%fZ', 'now'), '')", dbx.Params{"id": ids[0], "a": w.ClerkRoads.Id})

	live := firstResponses(t, w)
	if strings.Count(live, `"Request"`) < 3 {
		t.Fatalf("too few answered requests to compare: %s", live)
	}
	if err := console.RebuildFirstResponses(w.App.DB()); err != nil {
		t.Fatal(err)
	}
	if rebuilt := firstResponses(t, w); rebuilt != live {
		t.Fatalf("kept by triggers:\n%s\nrebuilt:\n%s", live, rebuilt)
	}

	loc := city.Default().Location
	now := time.Now()
	local := now.In(loc)
	tomorrow := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)
	for _, p := range []*console.StatsParams{
		{From: tomorrow.AddDate(0, 0, -60), To: tomorrow, Now: now, Loc: loc, Lang: "en"},
		{From: tomorrow.AddDate(0, 0, -33), To: tomorrow, Now: now, Loc: loc, Lang: "en", Departments: []string{w.Departments["roads"]}},
		{From: tomorrow.AddDate(0, 0, -60), To: tomorrow, Now: now, Loc: loc, Lang: "en", Services: []string{w.Services["residence_certificate"]}},
	} {
		for _, fig := range []string{console.FigureSLAWeekly, console.FigureResolveTime, console.FigureFlow, console.FigureFirstReply} {
			tbl, err := console.ComputeFigure(w.App, fig, p)
			if err != nil {
				t.Fatalf("%s: %v", fig, err)
			}
			want, err := console.ReferenceFigure(w.App, fig, p)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(tbl.Rows)
			exp, _ := json.Marshal(want)
			if string(got) != string(exp) {
				t.Errorf("%s from %s (departments %v, services %v):\n got %s\nwant %s", fig, p.From.Format("2006-01-02"), p.Departments, p.Services, got, exp)
			}
		}
	}
}
