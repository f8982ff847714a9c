package console

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"time"

	"civicdesk/city"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Row is one request of a queue page (console-api.md "Queue").
type Row struct {
	ID             string  `json:"id"`
	Number         string  `json:"number"`
	Status         string  `json:"status"`
	Service        Ref     `json:"service"`
	Department     *Ref    `json:"department"`
	Priority       string  `json:"priority"`
	Assignee       *Person `json:"assignee"`
	DueAt          string  `json:"due_at"`
	Created        string  `json:"created"`
	Updated        string  `json:"updated"`
	Overdue        bool    `json:"overdue"`
	CitizenReplied bool    `json:"citizen_replied"`
	HasPhotos      bool    `json:"has_photos"`
	Address        string  `json:"address"`
	Summary        string  `json:"summary"`
}

// wireTime turns PocketBase's stored "2006-01-02 15:04:05.000Z" into RFC 3339.
func wireTime(s string) string {
	if s == "" {
		return ""
	}
	return strings.Replace(s, " ", "T", 1)
}

// langOf is the caller's language: ?lang=, the staff record's lang, the city default.
func langOf(e *core.RequestEvent) string {
	cfg := city.Of(e.App)
	tags := []string{e.Request.URL.Query().Get("lang")}
	if e.Auth != nil {
		tags = append(tags, e.Auth.GetString("lang"))
	}
	for _, t := range tags {
		if t != "" {
			return cfg.MatchLang(t)
		}
	}
	return cfg.DefaultLang
}

func parseParams(e *core.RequestEvent) (*QueueParams, error) {
	q := e.Request.URL.Query()
	return ParseQueueParams(e.App, q.Get, e.Auth, city.Of(e.App).Location, time.Now())
}

func handleQueue(e *core.RequestEvent) error {
	p, err := parseParams(e)
	if err != nil {
		return e.BadRequestError("Invalid queue parameters.", err)
	}
	rows, next, err := FetchQueue(e.App.DB(), p, ScopeOf(e.Auth))
	if err != nil {
		return firstAPIError(e, err, "Invalid queue parameters.")
	}
	items, err := decorate(e.App, rows, langOf(e), p.Now)
	if err != nil {
		return e.InternalServerError("", err)
	}
	var nextCursor any
	if next != "" {
		nextCursor = next
	}
	return e.JSON(http.StatusOK, map[string]any{"items": items, "next": nextCursor})
}

// decorate turns database rows into wire rows: names in lang, overdue, replies.
func decorate(app core.App, rows []QueueRow, lang string, now time.Time) ([]Row, error) {
	items := make([]Row, 0, len(rows))
	if len(rows) == 0 {
		return items, nil
	}
	n, err := loadNames(app, lang)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(rows))
	staffIDs := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
		staffIDs = append(staffIDs, r.Assignee)
	}
	if err := n.loadStaff(app, staffIDs); err != nil {
		return nil, err
	}
	replied, err := citizenReplied(app.DB(), ids)
	if err != nil {
		return nil, err
	}
	nowDB := dbTime(now)
	for _, r := range rows {
		items = append(items, Row{
			ID: r.ID, Number: r.Number, Status: r.Status, Service: n.service(r.Service), Department: n.department(r.Department),
			Priority: r.Priority, Assignee: n.person(r.Assignee), DueAt: wireTime(r.DueAt), Created: wireTime(r.Created),
			Updated: wireTime(r.Updated), Overdue: isOpen(r.Status) && r.DueAt != "" && r.DueAt < nowDB,
			CitizenReplied: replied[r.ID], HasPhotos: r.HasPhotos, Address: r.Address, Summary: r.Summary,
		})
	}
	return items, nil
}

func isOpen(status string) bool {
	for _, s := range openStatuses {
		if s == status {
			return true
		}
	}
	return false
}

// citizenReplied reports, per request, whether the citizen commented after the
// last staff event: two index seeks per request on (request, author_type, created).
func citizenReplied(db dbx.Builder, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		Request string `db:"request"`
	}
	err := db.NewQuery("SELECT [[r]].[[id]] AS [[request]] FROM [[requests]] [[r]] WHERE [[r]].[[id]] IN (" + placeholders(len(ids)) + ") AND " +
		"COALESCE((SELECT MAX([[created]]) FROM [[request_events]] WHERE [[request]] = [[r]].[[id]] AND [[author_type]] = 'citizen' AND [[type]] = 'comment'), '') > " +
		"COALESCE((SELECT MAX([[created]]) FROM [[request_events]] WHERE [[request]] = [[r]].[[id]] AND [[author_type]] = 'staff'), '')").
		Bind(indexParams(ids)).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("citizen replies: %w", err)
	}
	for _, r := range rows {
		out[r.Request] = true
	}
	return out, nil
}

func placeholders(n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = fmt.Sprintf("{:i%d}", i)
	}
	return strings.Join(ph, ", ")
}

func indexParams(ids []string) dbx.Params {
	p := dbx.Params{}
	for i, id := range ids {
		p[fmt.Sprintf("i%d", i)] = id
	}
	return p
}

// Counts are the start screen's numbers (console-api.md "Queue").
type Counts struct {
	Mine           int `json:"mine"`
	Unassigned     int `json:"unassigned"`
	DueToday       int `json:"dueToday"`
	Overdue        int `json:"overdue"`
	WaitingCitizen int `json:"waitingCitizen"`
}

// countsSQL returns the five counts' statements for scope (index range counts, no scan).
func countsSQL(scope Scope, now time.Time, loc *time.Location) (map[string]string, dbx.Params) {
	params := dbx.Params{"me": scope.StaffID, "now": dbTime(now), "waiting": "waiting_citizen"}
	open := "[[status]] IN ({:s0}, {:s1}, {:s2})"
	for i, s := range openStatuses {
		params[fmt.Sprintf("s%d", i)] = s
	}
	inScope := ""
	if !scope.All {
		ph := make([]string, len(scope.Departments))
		for i, d := range scope.Departments {
			params[fmt.Sprintf("d%d", i)] = d
			ph[i] = fmt.Sprintf("{:d%d}", i)
		}
		inScope = " AND [[department]] IN (" + strings.Join(ph, ", ") + ")"
	}
	local := now.In(loc)
	start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	params["today"] = dbTime(start)
	params["tomorrow"] = dbTime(start.AddDate(0, 0, 1))
	c := "SELECT COUNT(*) FROM [[requests]] WHERE "
	return map[string]string{
		"mine":           c + "[[assignee]] = {:me} AND " + open + inScope,
		"unassigned":     c + "[[assignee]] = '' AND " + open + inScope,
		"dueToday":       c + open + " AND [[due_at]] >= {:today} AND [[due_at]] < {:tomorrow}" + inScope,
		"overdue":        c + open + " AND [[due_at]] != '' AND [[due_at]] < {:now}" + inScope,
		"waitingCitizen": c + "[[status]] = {:waiting}" + inScope,
	}, params
}

// CountQueue computes the start screen's counts for scope.
func CountQueue(db dbx.Builder, scope Scope, now time.Time, loc *time.Location) (Counts, error) {
	var out Counts
	if !scope.All && len(scope.Departments) == 0 {
		// a clerk without departments sees nothing but what is assigned to them (none visible)
		return out, nil
	}
	stmts, params := countsSQL(scope, now, loc)
	for key, dst := range map[string]*int{"mine": &out.Mine, "unassigned": &out.Unassigned, "dueToday": &out.DueToday, "overdue": &out.Overdue, "waitingCitizen": &out.WaitingCitizen} {
		if err := db.NewQuery(stmts[key]).Bind(params).Row(dst); err != nil {
			return out, fmt.Errorf("count %s: %w", key, err)
		}
	}
	return out, nil
}

func handleCounts(e *core.RequestEvent) error {
	c, err := CountQueue(e.App.DB(), ScopeOf(e.Auth), time.Now(), city.Of(e.App).Location)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, c)
}

// exportPage is how many rows the CSV export reads per keyset page.
var exportPage = 500

// csvHeader is the export's stable column set (FixMyStreet's plus the SLA columns).
var csvHeader = []string{"number", "status", "service", "department", "priority", "assignee", "created", "updated", "due_at", "overdue", "address", "summary"}

func handleExport(e *core.RequestEvent) error {
	p, err := parseParams(e)
	if err != nil {
		return e.BadRequestError("Invalid queue parameters.", err)
	}
	p.Limit = exportPage
	scope := ScopeOf(e.Auth)
	n, err := loadNames(e.App, langOf(e))
	if err != nil {
		return e.InternalServerError("", err)
	}
	w := startCSV(e, "requests.csv")
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	nowDB := dbTime(p.Now)
	for {
		rows, next, err := FetchQueue(e.App.DB(), p, scope)
		if err != nil {
			// headers are gone: end the stream with a marker row rather than a silent truncation
			_ = cw.Write([]string{"#error", err.Error()})
			cw.Flush()
			return nil
		}
		ids := make([]string, 0, len(rows))
		for _, r := range rows {
			ids = append(ids, r.Assignee)
		}
		if err := n.loadStaff(e.App, ids); err != nil {
			return err
		}
		for _, r := range rows {
			assignee := ""
			if a := n.person(r.Assignee); a != nil {
				assignee = a.Name
			}
			dept := ""
			if d := n.department(r.Department); d != nil {
				dept = d.Code
			}
			_ = cw.Write([]string{r.Number, r.Status, n.service(r.Service).Code, dept, r.Priority, assignee,
				wireTime(r.Created), wireTime(r.Updated), wireTime(r.DueAt),
				fmt.Sprint(isOpen(r.Status) && r.DueAt != "" && r.DueAt < nowDB), r.Address, r.Summary})
		}
		cw.Flush()
		flush(e)
		if next == "" {
			return cw.Error()
		}
		p.After, _ = decodeCursor(next)
		if len(n.staff) > 10000 {
			n.staff = map[string]Person{} // keep memory bounded on huge exports
		}
	}
}

// startCSV writes the headers of a streamed CSV download.
func startCSV(e *core.RequestEvent, filename string) http.ResponseWriter {
	h := e.Response.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-store")
	e.Response.WriteHeader(http.StatusOK)
	return e.Response
}

func flush(e *core.RequestEvent) {
	_ = http.NewResponseController(e.Response).Flush()
}
