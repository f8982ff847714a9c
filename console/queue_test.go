package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"civicdesk/city"
	"civicdesk/console"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

type queuePage struct {
	Items []struct {
		ID       string `json:"id"`
		Number   string `json:"number"`
		Status   string `json:"status"`
		DueAt    string `json:"due_at"`
		Created  string `json:"created"`
		Priority string `json:"priority"`
		Overdue  bool   `json:"overdue"`
		Service  struct {
			Code string `json:"code"`
			Name string `json:"name"`
		} `json:"service"`
		Assignee *struct {
			ID string `json:"id"`
		} `json:"assignee"`
		CitizenReplied bool `json:"citizen_replied"`
	} `json:"items"`
	Next *string `json:"next"`
}

// queueAll follows the keyset cursor to the end and returns every id in page order.
func queueAll(t *testing.T, w *testkit.World, token, query string) []string {
	t.Helper()
	var out []string
	after := ""
	for i := 0; i < 100; i++ {
		u := "/api/staff/queue?" + query
		if after != "" {
			u += "&after=" + url.QueryEscape(after)
		}
		res := w.Do(t, http.MethodGet, u, token, "")
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", u, res.Status, res.Body)
		}
		var p queuePage
		res.JSON(t, &p)
		for _, it := range p.Items {
			if slices.Contains(out, it.ID) {
				t.Fatalf("%s: %s twice", query, it.Number)
			}
			out = append(out, it.ID)
		}
		if p.Next == nil {
			return out
		}
		after = *p.Next
	}
	t.Fatal("cursor never ends")
	return nil
}

// recordsAPI lists ids through PocketBase's records API with the same token: the reference scope.
func recordsAPI(t *testing.T, w *testkit.World, token, filter string) []string {
	t.Helper()
	res := w.Do(t, http.MethodGet, "/api/collections/requests/records?perPage=500&skipTotal=1&fields=id&filter="+url.QueryEscape(filter), token, "")
	if res.Status != http.StatusOK {
		t.Fatalf("records API: %d %s", res.Status, res.Body)
	}
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	res.JSON(t, &list)
	out := []string{}
	for _, it := range list.Items {
		out = append(out, it.ID)
	}
	sort.Strings(out)
	return out
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// TestQueueScopeMatrix: every tab for clerk of roads, clerk of registry,
// supervisor, citizen and anonymous, against the records API's own answer
// for the same token; paging by cursor returns each row once, in order.
func TestQueueScopeMatrix(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	potA := file(t, w, "pothole", w.CitizenA, nil)
	lightA := file(t, w, "streetlight", w.CitizenA, nil)
	set(t, w, lightA, map[string]any{"assignee": w.ClerkRoads.Id, "status": "in_progress", "priority": "high"})
	done := file(t, w, "pothole", w.CitizenB, nil)
	set(t, w, done, map[string]any{"status": "resolved"})
	cert := file(t, w, "residence_certificate", w.CitizenB, nil)
	enq := file(t, w, "enquiry", nil, nil)
	for i := 0; i < 7; i++ { // enough rows for several pages
		file(t, w, "pothole", w.CitizenB, nil)
	}
	// one overdue pothole (a fixture the hooks would never write: the clock moved on)
	sqlExec(t, w, "UPDATE requests SET due_at = {:d} WHERE id = {:id}", dbx.Params{"d": "2020-01-01 00:00:00.000Z", "id": potA.Id})

	open := "(status = 'received' || status = 'in_progress' || status = 'waiting_citizen')"
	actors := []struct {
		name string
		rec  *core.Record
	}{{"clerk_roads", w.ClerkRoads}, {"clerk_registry", w.ClerkRegistry}, {"supervisor", w.Supervisor}}
	for _, a := range actors {
		token := testkit.Token(t, a.rec)
		cases := map[string]string{
			"tab=open":                     open,
			"tab=unassigned":               open + " && assignee = ''",
			"tab=mine":                     open + " && assignee = '" + a.rec.Id + "'",
			"tab=overdue":                  open + " && due_at != '' && due_at < @now",
			"tab=open&status=resolved":     "status = 'resolved'",
			"tab=open&service=streetlight": open + " && service.code = 'streetlight'",
			"tab=open&priority=high":       open + " && priority = 'high'",
			"tab=open&department=registry": open + " && department.code = 'registry'",
		}
		for query, filter := range cases {
			for _, s := range []string{"due", "created", "updated", "priority"} {
				q := query + "&sort=" + s + "&limit=2"
				got := queueAll(t, w, token, q)
				want := recordsAPI(t, w, token, filter)
				if !slices.Equal(sorted(got), want) {
					t.Errorf("%s %s: queue %v, records API %v", a.name, q, got, want)
				}
			}
		}
	}

	// pages are in sort order
	sup := testkit.Token(t, w.Supervisor)
	res := w.Do(t, http.MethodGet, "/api/staff/queue?tab=open&sort=created&dir=asc&limit=100", sup, "")
	var p queuePage
	res.JSON(t, &p)
	for i := 1; i < len(p.Items); i++ {
		if p.Items[i-1].Created > p.Items[i].Created {
			t.Fatalf("created asc out of order at %d", i)
		}
	}
	res = w.Do(t, http.MethodGet, "/api/staff/queue?tab=open&sort=priority&limit=100", sup, "")
	p = queuePage{}
	res.JSON(t, &p)
	if len(p.Items) == 0 || p.Items[0].ID != lightA.Id {
		t.Fatalf("priority sort: the high priority request first, got %+v", p.Items)
	}

	// search: an exact number (any status), an e-mail; a clerk of another department finds nothing
	clerkReg := testkit.Token(t, w.ClerkRegistry)
	for _, c := range []struct {
		token, q string
		want     []string
	}{
		{sup, done.GetString("number"), []string{done.Id}},
		{testkit.Token(t, w.ClerkRoads), done.GetString("number"), []string{done.Id}},
		{clerkReg, done.GetString("number"), nil},
		{sup, w.CitizenA.Email(), []string{potA.Id, lightA.Id}},
		{sup, strings.ToUpper(w.CitizenA.Email()), []string{potA.Id, lightA.Id}},
		{clerkReg, w.CitizenB.Email(), []string{cert.Id}},
	} {
		got := queueAll(t, w, c.token, "q="+url.QueryEscape(c.q)+"&tab=open")
		if !slices.Equal(sorted(got), sorted(c.want)) {
			t.Errorf("q=%s: %v, want %v", c.q, got, c.want)
		}
	}
	_ = enq

	// the row: names in the caller's language, overdue flag
	res = w.Do(t, http.MethodGet, "/api/staff/queue?tab=overdue&lang=hu", testkit.Token(t, w.ClerkRoads), "")
	p = queuePage{}
	res.JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].ID != potA.Id || !p.Items[0].Overdue || p.Items[0].Service.Name != "Kátyú az úton" {
		t.Fatalf("overdue row: %s", res.Body)
	}

	// citizens and anonymous callers get nothing
	for name, token := range map[string]string{"citizen": testkit.Token(t, w.CitizenA), "anonymous": ""} {
		for _, path := range []string{"/api/staff/queue?tab=open", "/api/staff/counts", "/api/staff/export.csv"} {
			res := w.Do(t, http.MethodGet, path, token, "")
			if res.Status < 400 || strings.Contains(res.Body, potA.Id) || strings.Contains(res.Body, potA.GetString("number")) {
				t.Errorf("%s %s: %d %s", name, path, res.Status, res.Body)
			}
		}
	}

	// bad input names the parameter
	for q, field := range map[string]string{"tab=later": "tab", "sort=size": "sort", "service=nope": "service", "limit=1000": "limit", "after=xyz": "after", "q=%25like%25": "q", "due_from=yesterday": "due_from"} {
		res := w.Do(t, http.MethodGet, "/api/staff/queue?"+q, sup, "")
		if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, `"`+field+`"`) {
			t.Errorf("%s: %d %s", q, res.Status, res.Body)
		}
	}
}

// TestCounts: the start screen's numbers per scope.
func TestCounts(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	a := file(t, w, "pothole", w.CitizenA, nil)
	b := file(t, w, "pothole", w.CitizenA, nil)
	set(t, w, b, map[string]any{"assignee": w.ClerkRoads.Id, "status": "waiting_citizen"})
	file(t, w, "residence_certificate", w.CitizenB, nil)
	sqlExec(t, w, "UPDATE requests SET due_at = {:d} WHERE id = {:id}", dbx.Params{"d": "2020-01-01 00:00:00.000Z", "id": a.Id})
	loc := city.Default().Location
	now := time.Now().In(loc)
	endOfDay := time.Date(now.Year(), now.Month(), now.Day(), 23, 59, 0, 0, loc)
	if endOfDay.After(now) {
		sqlExec(t, w, "UPDATE requests SET due_at = {:d} WHERE id = {:id}", dbx.Params{"d": endOfDay.UTC().Format("2006-01-02 15:04:05.000Z"), "id": b.Id})
	}

	for _, c := range []struct {
		who  *core.Record
		want console.Counts
	}{
		{w.ClerkRoads, console.Counts{Mine: 1, Unassigned: 1, DueToday: 1, Overdue: 1, WaitingCitizen: 1}},
		{w.ClerkRegistry, console.Counts{Mine: 0, Unassigned: 1, DueToday: 0, Overdue: 0, WaitingCitizen: 0}},
		{w.Supervisor, console.Counts{Mine: 0, Unassigned: 2, DueToday: 1, Overdue: 1, WaitingCitizen: 1}},
	} {
		if !endOfDay.After(now) {
			c.want.DueToday = 0
		}
		res := w.Do(t, http.MethodGet, "/api/staff/counts", testkit.Token(t, c.who), "")
		var got console.Counts
		res.JSON(t, &got)
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.who.Email(), got, c.want)
		}
	}
}

// TestQueuePlansNeverScanRequests: EXPLAIN QUERY PLAN of every tab × sort ×
// scope (and of the counts) reads requests through an index only.
func TestQueuePlansNeverScanRequests(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := console.ScopeOf(w.ClerkRoads)
	two := console.Scope{Departments: []string{w.Departments["roads"], w.Departments["registry"]}, StaffID: w.ClerkRoads.Id}
	sup := console.ScopeOf(w.Supervisor)
	cursor := &console.Cursor{Key: "2026-01-01 00:00:00.000Z", ID: "abc", Rank: 2}
	for scopeName, scope := range map[string]console.Scope{"clerk": clerk, "clerk_two_departments": two, "supervisor": sup} {
		for _, tab := range []string{console.TabMine, console.TabUnassigned, console.TabOverdue, console.TabOpen} {
			for _, s := range []string{console.SortDue, console.SortCreated, console.SortUpdated, console.SortPriority} {
				for _, extra := range []string{"", "q=2026-000001", "q=a@b.example", "service=pothole", "status=resolved", "assignee=me", "due_from=2026-01-01&due_to=2026-02-01"} {
					vals, _ := url.ParseQuery(extra)
					vals.Set("tab", tab)
					vals.Set("sort", s)
					p, err := console.ParseQueueParams(w.App, vals.Get, w.ClerkRoads, city.Default().Location, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					for _, after := range []*console.Cursor{nil, cursor} {
						p.After = after
						if after != nil {
							after.Sort, after.Desc = p.Sort, p.Desc
						}
						q, err := console.BuildQueue(p, scope, 51)
						if err != nil {
							t.Fatal(err)
						}
						if q == nil {
							continue
						}
						assertNoScan(t, w, fmt.Sprintf("%s %s %s %s after=%v", scopeName, tab, s, extra, after != nil), q.SQL, q.Params)
					}
				}
			}
		}
		stmts, params := console.CountsSQL(scope, time.Now(), city.Default().Location)
		for name, sql := range stmts {
			assertNoScan(t, w, scopeName+" count "+name, sql, params)
		}
	}
}

func assertNoScan(t *testing.T, w *testkit.World, label, sql string, params dbx.Params) {
	t.Helper()
	plan := console.ExplainPlan(w.App.DB(), sql, params)
	if strings.Contains(plan, "SCAN requests") || strings.HasPrefix(plan, "error") {
		t.Errorf("%s: full scan of requests:\n%s\n%s", label, plan, sql)
	}
}
