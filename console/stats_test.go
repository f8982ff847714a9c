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

// statsWorld is a small dataset whose figures were computed by hand (see
// the comments); times are UTC, the city is Europe/Rome (UTC+1 in November).
func statsWorld(t *testing.T) (*testkit.World, *console.StatsParams) {
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	patchAs := func(id, body string) {
		if res := w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+id, clerk, body); res.Status != 200 {
			t.Fatalf("patch %s: %s", body, res.Body)
		}
	}
	type fixture struct {
		service, created, due, resolved, status string
		assign                                  bool
	}
	fixtures := []fixture{
		{"pothole", "2026-11-02 08:00:00.000Z", "2026-11-05 08:00:00.000Z", "2026-11-04 08:00:00.000Z", "resolved", true},  // R1: W45, 48 h, in time
		{"pothole", "2026-11-03 10:00:00.000Z", "2026-11-06 10:00:00.000Z", "2026-11-07 10:00:00.000Z", "resolved", false}, // R2: W45, 96 h, late
		{"pothole", "2026-11-09 00:00:00.000Z", "2026-11-12 00:00:00.000Z", "2026-11-15 23:30:00.000Z", "resolved", false}, // R3: created W46; resolved 00:30 Rome on the 16th = W47, outside
		{"pothole", "2026-11-10 09:00:00.000Z", "2026-11-13 09:00:00.000Z", "2026-11-11 21:00:00.000Z", "resolved", true},  // R4: W46, 36 h, in time
		{"pothole", "2026-11-15 12:00:00.000Z", "2026-11-18 12:00:00.000Z", "", "received", false},                         // R5: open, 1 day old
		{"pothole", "2026-11-01 12:00:00.000Z", "2026-11-04 12:00:00.000Z", "", "in_progress", true},                       // R6: open 15 days, overdue 12 days
		{"residence_certificate", "2026-10-01 00:00:00.000Z", "2026-10-03 00:00:00.000Z", "", "received", false},           // R7: open 46 days, overdue 44.5 days
	}
	for _, f := range fixtures {
		rec := file(t, w, f.service, w.CitizenA, nil)
		if f.assign {
			patchAs(rec.Id, fmt.Sprintf(`{"assignee":%q}`, w.ClerkRoads.Id))
		}
		if f.status != "received" {
			patchAs(rec.Id, fmt.Sprintf(`{"status":%q,"status_note":"done"}`, f.status))
		}
		sqlExec(t, w, "UPDATE requests SET created = {:c}, due_at = {:d}, resolved_at = {:r} WHERE id = {:id}", dbx.Params{"c": f.created, "d": f.due, "r": f.resolved, "id": rec.Id})
		sqlExec(t, w, "UPDATE request_events SET created = {:c} WHERE request = {:id} AND type != 'status'", dbx.Params{"c": f.created, "id": rec.Id})
		at := f.resolved
		if at == "" {
			at = f.created
		}
		sqlExec(t, w, "UPDATE request_events SET created = {:c} WHERE request = {:id} AND type = 'status'", dbx.Params{"c": at, "id": rec.Id})
	}
	loc := city.Default().Location
	return w, &console.StatsParams{
		From: time.Date(2026, 11, 2, 0, 0, 0, 0, loc), To: time.Date(2026, 11, 16, 0, 0, 0, 0, loc),
		Now: time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC), Loc: loc, Lang: "en",
	}
}

func TestFiguresAgainstHandComputed(t *testing.T) {
	t.Parallel()
	w, p := statsWorld(t)
	want := map[string]string{
		console.FigureOpenByAge: `[["Civil registry","Residence certificate",0,0,0,1,1],["Roads and mobility","Pothole",1,0,1,0,2]]`,
		console.FigureOverdue:   `[["Civil registry",1,"2026-000007","2026-10-03T00:00:00.000Z",44],["Roads and mobility",1,"2026-000006","2026-11-04T12:00:00.000Z",12]]`,
		console.FigureSLAWeekly: `[["2026-W45",2,1,50],["2026-W46",1,1,100]]`,
		// nearest-rank percentiles: W45 [48 96] → 48, 96
		console.FigureResolveTime: `[["2026-W45",2,48,96],["2026-W46",1,36,36]]`,
		console.FigureFlow:        `[["2026-W45",2,2,0],["2026-W46",3,1,2]]`,
		// W46: R3 167.5 h, R4 36 h, R5 none → median of [36 167.5] = 36
		console.FigureFirstReply: `[["2026-W45",2,2,48],["2026-W46",3,2,36]]`,
		console.FigureWorkload:   `[["Clerk (roads)",1,1,2]]`,
	}
	for _, fig := range console.Figures {
		tbl, err := console.ComputeFigure(w.App, fig, p)
		if err != nil {
			t.Fatalf("%s: %v", fig, err)
		}
		got, _ := json.Marshal(tbl.Rows)
		if string(got) != want[fig] {
			t.Errorf("%s:\n got %s\nwant %s", fig, got, want[fig])
		}
		if len(tbl.Columns) != len(tbl.Rows[0]) || tbl.Chart.X == "" {
			t.Errorf("%s: %d columns for rows of %d, chart %+v", fig, len(tbl.Columns), len(tbl.Rows[0]), tbl.Chart)
		}
	}

	// a department filter narrows every figure
	p.Departments = []string{w.Departments["registry"]}
	tbl, _ := console.ComputeFigure(w.App, console.FigureOverdue, p)
	if len(tbl.Rows) != 1 || tbl.Rows[0][0] != "Civil registry" {
		t.Errorf("filtered overdue: %v", tbl.Rows)
	}
}

func TestStatsRoute(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	sup := testkit.Token(t, w.Supervisor)
	file(t, w, "pothole", w.CitizenA, nil)
	today := time.Now().In(city.Default().Location).Format("2006-01-02")
	res := w.Do(t, http.MethodGet, "/api/staff/stats/flow_weekly?to="+today+"&lang=it", sup, "")
	var tbl console.Table
	res.JSON(t, &tbl)
	if res.Status != 200 || len(tbl.Rows) != 8 || tbl.Columns[1].Label != "Arrivate" {
		t.Fatalf("flow: %d %s", res.Status, res.Body)
	}
	if last := tbl.Rows[len(tbl.Rows)-1]; last[1].(float64) != 1 {
		t.Fatalf("today's request is not in this week's inflow: %v", last)
	}
	res = w.Do(t, http.MethodGet, "/api/staff/stats/open_by_age?format=csv", sup, "")
	if res.Status != 200 || !strings.HasPrefix(res.Body, "department,service,age_0_2,age_3_7,age_8_30,age_over_30,total\n") || !strings.Contains(res.Body, ",1,0,0,0,1\n") || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %q", res.Status, res.Body)
	}
	for path, status := range map[string]int{
		"/api/staff/stats/nope":                                  400,
		"/api/staff/stats/overdue?from=2026-13-01":               400,
		"/api/staff/stats/overdue?from=2020-01-01":               400,
		"/api/staff/stats/overdue?to=2026-01-01&from=2026-02-01": 400,
	} {
		if res := w.Do(t, http.MethodGet, path, sup, ""); res.Status != status {
			t.Errorf("%s: %d %s", path, res.Status, res.Body)
		}
	}
	for name, token := range map[string]string{"clerk": testkit.Token(t, w.ClerkRoads), "citizen": testkit.Token(t, w.CitizenA), "anonymous": ""} {
		if res := w.Do(t, http.MethodGet, "/api/staff/stats/overdue", token, ""); res.Status != 403 && res.Status != 401 {
			t.Errorf("%s: %d", name, res.Status)
		}
	}
}

// TestExportCSV: the queue export streams every matching row (all pages), scoped.
func TestExportCSV(t *testing.T) {
	*console.ExportPage = 5 // several pages (the only test that changes it)
	w := testkit.NewApp(t)
	for i := 0; i < 12; i++ {
		file(t, w, "pothole", w.CitizenA, nil)
	}
	file(t, w, "residence_certificate", w.CitizenB, nil)
	res := w.Do(t, http.MethodGet, "/api/staff/export.csv?tab=open", testkit.Token(t, w.ClerkRoads), "")
	lines := strings.Split(strings.TrimSpace(res.Body), "\n")
	if res.Status != 200 || len(lines) != 13 || !strings.HasPrefix(lines[0], "number,status,service") || strings.Contains(res.Body, "residence_certificate") {
		t.Fatalf("export: %d %d lines\n%s", res.Status, len(lines), res.Body)
	}
	res = w.Do(t, http.MethodGet, "/api/staff/export.csv?tab=open", testkit.Token(t, w.Supervisor), "")
	if n := len(strings.Split(strings.TrimSpace(res.Body), "\n")); n != 14 {
		t.Fatalf("supervisor export: %d lines", n)
	}
}
