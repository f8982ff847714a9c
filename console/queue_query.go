package console

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Queue tabs.
const (
	TabMine       = "mine"
	TabUnassigned = "unassigned"
	TabOverdue    = "overdue"
	TabOpen       = "open"
)

// Queue sorts.
const (
	SortDue      = "due"
	SortCreated  = "created"
	SortUpdated  = "updated"
	SortPriority = "priority"
)

// openStatuses are the statuses of requests still being worked on.
var openStatuses = []string{workflow.StatusReceived, workflow.StatusInProgress, workflow.StatusWaitingCitizen}

// priorities in rank order, highest first (sort=priority, dir=desc).
var priorities = []string{"urgent", "high", "normal", "low"}

func priorityRank(p string) int {
	if i := slices.Index(priorities, p); i >= 0 {
		return len(priorities) - i
	}
	return 0
}

// Scope is what a staff member may see: every department (supervisors) or a list.
type Scope struct {
	All         bool
	Departments []string
	StaffID     string
}

// ScopeOf returns the scope of a staff auth record: the records API's rule
// (supervisors see all, clerks their departments).
func ScopeOf(auth *core.Record) Scope {
	if auth == nil || auth.Collection().Name != "staff" {
		return Scope{}
	}
	if auth.GetString("role") == workflow.RoleSupervisor {
		return Scope{All: true, StaffID: auth.Id}
	}
	return Scope{Departments: auth.GetStringSlice("departments"), StaffID: auth.Id}
}

// Has reports whether department is inside the scope.
func (s Scope) Has(department string) bool {
	return s.All || (department != "" && slices.Contains(s.Departments, department))
}

// QueueParams are the parsed filters of a queue, counts or export request.
type QueueParams struct {
	Tab         string
	Statuses    []string
	Services    []string // ids
	Departments []string // ids
	Priorities  []string
	Assignee    string // staff id, or "none"
	DueFrom     string // db time, inclusive
	DueTo       string // db time, exclusive
	Q           string
	Sort        string
	Desc        bool
	After       *Cursor
	Limit       int
	Now         time.Time
}

// Cursor is the keyset position after the last row of a page.
type Cursor struct {
	Sort  string `json:"s"`
	Key   string `json:"k"`
	Rank  int    `json:"r,omitempty"`
	ID    string `json:"i"`
	Desc  bool   `json:"d,omitempty"`
	Query string `json:"q,omitempty"`
}

// Encode returns the opaque form of c.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	c := &Cursor{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, errors.New("empty cursor")
	}
	return c, nil
}

// MaxLimit is the largest queue page.
const MaxLimit = 100

var numberPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,31}$`)

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// ParseQueueParams reads the queue's query parameters; unknown values are
// field errors naming the parameter.
func ParseQueueParams(app core.App, get func(string) string, auth *core.Record, loc *time.Location, now time.Time) (*QueueParams, error) {
	p := &QueueParams{Tab: get("tab"), Sort: get("sort"), Q: strings.TrimSpace(get("q")), Limit: 50, Now: now}
	errs := validation.Errors{}
	if p.Tab == "" {
		p.Tab = TabOpen
	}
	if !slices.Contains([]string{TabMine, TabUnassigned, TabOverdue, TabOpen}, p.Tab) {
		errs["tab"] = validation.NewError("validation_invalid_tab", "tab must be mine, unassigned, overdue or open.")
	}
	if p.Sort == "" {
		p.Sort = SortDue
	}
	if !slices.Contains([]string{SortDue, SortCreated, SortUpdated, SortPriority}, p.Sort) {
		errs["sort"] = validation.NewError("validation_invalid_sort", "sort must be due, created, updated or priority.")
	}
	switch get("dir") {
	case "":
		p.Desc = p.Sort == SortCreated || p.Sort == SortUpdated || p.Sort == SortPriority
	case "asc":
	case "desc":
		p.Desc = true
	default:
		errs["dir"] = validation.NewError("validation_invalid_dir", "dir must be asc or desc.")
	}
	for _, s := range splitList(get("status")) {
		if !workflow.IsStatus(s) {
			errs["status"] = validation.NewError("validation_invalid_status", fmt.Sprintf("Unknown status %q.", s))
		}
		p.Statuses = append(p.Statuses, s)
	}
	for _, s := range splitList(get("priority")) {
		if !slices.Contains(priorities, s) {
			errs["priority"] = validation.NewError("validation_invalid_priority", fmt.Sprintf("Unknown priority %q.", s))
		}
		p.Priorities = append(p.Priorities, s)
	}
	if codes := splitList(get("service")); len(codes) > 0 {
		ids, err := idsByCode(app, "services", codes)
		if err != nil {
			errs["service"] = err
		}
		p.Services = ids
	}
	if codes := splitList(get("department")); len(codes) > 0 {
		ids, err := idsByCode(app, "departments", codes)
		if err != nil {
			errs["department"] = err
		}
		p.Departments = ids
	}
	switch a := get("assignee"); a {
	case "":
	case "me":
		if auth != nil {
			p.Assignee = auth.Id
		}
	case "none":
		p.Assignee = "none"
	default:
		if _, err := app.FindRecordById("staff", a); err != nil {
			errs["assignee"] = validation.NewError("validation_unknown_staff", "No such staff member.")
		}
		p.Assignee = a
	}
	for _, d := range []struct {
		param string
		dst   *string
		add   int
	}{{"due_from", &p.DueFrom, 0}, {"due_to", &p.DueTo, 1}} {
		v := get(d.param)
		if v == "" {
			continue
		}
		t, err := parseDay(v, loc)
		if err != nil {
			errs[d.param] = validation.NewError("validation_invalid_date", "Use a date YYYY-MM-DD or an RFC 3339 time.")
			continue
		}
		if len(v) == len("2006-01-02") {
			t = t.AddDate(0, 0, d.add) // due_to is inclusive of its day
		}
		*d.dst = dbTime(t)
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			errs["limit"] = validation.NewError("validation_invalid_limit", fmt.Sprintf("limit must be 1–%d.", MaxLimit))
		}
		p.Limit = n
	}
	if v := get("after"); v != "" {
		c, err := decodeCursor(v)
		if err != nil || c.Sort != p.Sort || c.Desc != p.Desc {
			errs["after"] = validation.NewError("validation_invalid_cursor", "This cursor belongs to another list; start again without it.")
		}
		p.After = c
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// parseDay reads YYYY-MM-DD as midnight in loc, or an RFC 3339 time.
func parseDay(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

func idsByCode(app core.App, collection string, codes []string) ([]string, error) {
	var rows []struct {
		ID   string `db:"id"`
		Code string `db:"code"`
	}
	err := app.DB().Select("id", "code").From(collection).Where(dbx.In("code", toAny(codes)...)).All(&rows)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range codes {
		found := false
		for _, r := range rows {
			if r.Code == c {
				ids = append(ids, r.ID)
				found = true
			}
		}
		if !found {
			return nil, validation.NewError("validation_unknown_code", fmt.Sprintf("Unknown code %q.", c))
		}
	}
	return ids, nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// dbTime formats t as PocketBase stores dates, so string comparison is time order.
func dbTime(t time.Time) string {
	return t.UTC().Format(types.DefaultDateLayout)
}

// sortColumn is the requests column a sort reads (priority sorts by due within each priority).
func sortColumn(sort string) string {
	switch sort {
	case SortCreated:
		return "created"
	case SortUpdated:
		return "updated"
	}
	return "due_at"
}

// queueSQL is one built queue query.
type queueSQL struct {
	SQL    string
	Params dbx.Params
	// Partitions are the WHERE clauses of the index range reads (EXPLAIN tests).
	Partitions int
}

// rowColumns are the requests columns a queue row needs.
const rowColumns = "[[id]], [[number]], [[status]], [[service]], [[department]], [[priority]], [[assignee]], " +
	"[[due_at]], [[created]], [[updated]], [[address]], substr([[description]], 1, 140) AS [[summary]], " +
	"([[photos]] != '' AND [[photos]] != '[]') AS [[has_photos]], [[citizen]]"

type partition struct {
	where    []string
	priority string // set with sort=priority: the partition holds one priority
	// prefix is the partition's index prefix (assignee, department or status),
	// so the read can name its index: plans stay the same whatever the statistics
	prefix string
}

// indexFor names the composite index that serves a partition and sort.
func indexFor(prefix, sort string) string {
	col := map[string]string{SortDue: "due", SortCreated: "created", SortUpdated: "updated"}[sort]
	switch {
	case prefix == "assignee":
		return "idx_requests_assignee_status_due"
	case sort == SortPriority && prefix == "department":
		return "idx_requests_dept_status_priority_due"
	case sort == SortPriority && prefix == "status":
		return "idx_requests_status_priority_due"
	case prefix == "department":
		return "idx_requests_dept_status_" + col
	case prefix == "status":
		return "idx_requests_status_" + col
	}
	return ""
}

// BuildQueue turns params into one SQL statement: a UNION ALL of index range
// reads, one per (scope prefix, status[, priority]) partition, each ordered by
// the sort key and limited to the page, merged and limited again. Each part is
// a SEARCH on a composite index, so no page ever scans requests or counts.
func BuildQueue(p *QueueParams, scope Scope, limit int) (*queueSQL, error) {
	params := dbx.Params{}
	n := 0
	bind := func(v any) string {
		name := fmt.Sprintf("p%d", n)
		n++
		params[name] = v
		return "{:" + name + "}"
	}
	inList := func(col string, vals []string) string {
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = bind(v)
		}
		return "[[" + col + "]] IN (" + strings.Join(ph, ", ") + ")"
	}

	// departments the caller may see, narrowed by the department filter
	depts := p.Departments
	if !scope.All {
		depts = nil
		for _, d := range scope.Departments {
			if len(p.Departments) == 0 || slices.Contains(p.Departments, d) {
				depts = append(depts, d)
			}
		}
		if len(depts) == 0 {
			return nil, nil // nothing visible
		}
	}

	var residual []string
	var parts []partition
	if p.Q != "" {
		// search: exact number or e-mail, any status, the tab ignored
		if !scope.All || len(p.Departments) > 0 {
			residual = append(residual, inList("department", depts))
		}
		if strings.Contains(p.Q, "@") {
			parts = append(parts, partition{where: []string{"[[contact_email]] = " + bind(p.Q) + " AND [[contact_email]] != ''"}})
			parts = append(parts, partition{where: []string{"[[citizen]] IN (SELECT [[id]] FROM [[citizens]] WHERE [[email]] = " + bind(strings.ToLower(p.Q)) + " COLLATE NOCASE)"}})
		} else if numberPattern.MatchString(p.Q) {
			parts = append(parts, partition{where: []string{"[[number]] = " + bind(p.Q) + " AND [[number]] != ''"}})
		} else {
			return nil, validation.Errors{"q": validation.NewError("validation_invalid_query", "Search by an exact request number or e-mail address.")}
		}
		if len(p.Statuses) > 0 {
			residual = append(residual, inList("status", p.Statuses))
		}
	} else {
		statuses := p.Statuses
		if len(statuses) == 0 {
			statuses = openStatuses
		}
		if p.Tab == TabOverdue {
			var open []string
			for _, s := range statuses {
				if slices.Contains(openStatuses, s) {
					open = append(open, s)
				}
			}
			statuses = open
			if len(statuses) == 0 {
				return nil, nil
			}
		}
		assignee := p.Assignee
		if p.Tab == TabMine {
			assignee = scope.StaffID
		}
		if p.Tab == TabUnassigned {
			if assignee != "" && assignee != "none" {
				return nil, nil
			}
			assignee = "none"
		}
		for _, s := range statuses {
			switch {
			case assignee != "" && assignee != "none":
				// one person's requests: (assignee, status, due_at)
				parts = append(parts, partition{prefix: "assignee", where: []string{"[[assignee]] = " + bind(assignee), "[[status]] = " + bind(s)}})
			case len(depts) > 0:
				for _, d := range depts {
					parts = append(parts, partition{prefix: "department", where: []string{"[[department]] = " + bind(d), "[[status]] = " + bind(s)}})
				}
			default:
				parts = append(parts, partition{prefix: "status", where: []string{"[[status]] = " + bind(s)}})
			}
		}
		if assignee != "" && assignee != "none" && (!scope.All || len(p.Departments) > 0) {
			residual = append(residual, inList("department", depts))
		}
		if assignee == "none" {
			residual = append(residual, "[[assignee]] = ''")
		}
		if p.Tab == TabOverdue {
			residual = append(residual, "[[due_at]] != ''", "[[due_at]] < "+bind(dbTime(p.Now)))
		}
	}
	if len(p.Services) > 0 {
		residual = append(residual, inList("service", p.Services))
	}
	if len(p.Priorities) > 0 && p.Sort != SortPriority {
		residual = append(residual, inList("priority", p.Priorities))
	}
	if p.DueFrom != "" {
		residual = append(residual, "[[due_at]] >= "+bind(p.DueFrom))
	}
	if p.DueTo != "" {
		residual = append(residual, "[[due_at]] != ''", "[[due_at]] < "+bind(p.DueTo))
	}

	// sort=priority splits each partition by priority, ranked
	if p.Sort == SortPriority {
		wanted := priorities
		if len(p.Priorities) > 0 {
			wanted = nil
			for _, pr := range priorities {
				if slices.Contains(p.Priorities, pr) {
					wanted = append(wanted, pr)
				}
			}
		}
		var split []partition
		for _, part := range parts {
			for _, pr := range wanted {
				split = append(split, partition{where: append(slices.Clone(part.where), "[[priority]] = "+bind(pr)), priority: pr, prefix: part.prefix})
			}
		}
		parts = split
	}

	col := sortColumn(p.Sort)
	dir := "ASC"
	cmp := ">"
	// with sort=priority, dir applies to the priority rank; due dates run earliest first
	if p.Desc && p.Sort != SortPriority {
		dir, cmp = "DESC", "<"
	}
	var selects []string
	for _, part := range parts {
		where := append(slices.Clone(part.where), residual...)
		if c := p.After; c != nil {
			keyset := "([[" + col + "]] " + cmp + "= " + bind(c.Key) + " AND ([[" + col + "]] " + cmp + " " + bind(c.Key) + " OR [[id]] " + cmp + " " + bind(c.ID) + "))"
			if p.Sort == SortPriority {
				r := priorityRank(part.priority)
				before := r > c.Rank
				if !p.Desc {
					before = r < c.Rank
				}
				switch {
				case r == c.Rank:
					where = append(where, keyset)
				case before:
					continue // this priority's rows all came on earlier pages
				}
			} else {
				where = append(where, keyset)
			}
		}
		rank := ""
		if p.Sort == SortPriority {
			rank = fmt.Sprintf(", %d AS [[prank]]", priorityRank(part.priority))
		}
		from := "[[requests]]"
		if idx := indexFor(part.prefix, p.Sort); idx != "" {
			from += " INDEXED BY [[" + idx + "]]"
		}
		selects = append(selects, fmt.Sprintf("SELECT * FROM (SELECT %s%s FROM %s WHERE %s ORDER BY [[%s]] %s, [[id]] %s LIMIT %d)",
			rowColumns, rank, from, strings.Join(where, " AND "), col, dir, dir, limit))
	}
	if len(selects) == 0 {
		return nil, nil
	}
	order := fmt.Sprintf("[[%s]] %s, [[id]] %s", col, dir, dir)
	if p.Sort == SortPriority {
		rdir := "ASC"
		if p.Desc {
			rdir = "DESC"
		}
		order = "[[prank]] " + rdir + ", " + order
	}
	sql := fmt.Sprintf("SELECT * FROM (%s) ORDER BY %s LIMIT %d", strings.Join(selects, " UNION ALL "), order, limit)
	return &queueSQL{SQL: sql, Params: params, Partitions: len(selects)}, nil
}

// QueueRow is one request of a queue page as the database returns it.
type QueueRow struct {
	ID         string `db:"id" json:"id"`
	Number     string `db:"number" json:"number"`
	Status     string `db:"status" json:"status"`
	Service    string `db:"service" json:"-"`
	Department string `db:"department" json:"-"`
	Priority   string `db:"priority" json:"priority"`
	Assignee   string `db:"assignee" json:"-"`
	DueAt      string `db:"due_at" json:"-"`
	Created    string `db:"created" json:"-"`
	Updated    string `db:"updated" json:"-"`
	Address    string `db:"address" json:"address"`
	Summary    string `db:"summary" json:"summary"`
	HasPhotos  bool   `db:"has_photos" json:"has_photos"`
	Citizen    string `db:"citizen" json:"-"`
	PRank      int    `db:"prank" json:"-"`
}

// cursorAfter returns the cursor that continues after row.
func cursorAfter(p *QueueParams, row QueueRow) Cursor {
	c := Cursor{Sort: p.Sort, ID: row.ID, Desc: p.Desc, Rank: row.PRank}
	switch sortColumn(p.Sort) {
	case "created":
		c.Key = row.Created
	case "updated":
		c.Key = row.Updated
	default:
		c.Key = row.DueAt
	}
	return c
}

// FetchQueue runs one page of the queue: rows, and the cursor of the next page ("" at the end).
func FetchQueue(db dbx.Builder, p *QueueParams, scope Scope) ([]QueueRow, string, error) {
	q, err := BuildQueue(p, scope, p.Limit+1)
	if err != nil || q == nil {
		return nil, "", err
	}
	var rows []QueueRow
	if err := db.NewQuery(q.SQL).Bind(q.Params).All(&rows); err != nil {
		return nil, "", fmt.Errorf("queue query: %w", err)
	}
	next := ""
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		next = cursorAfter(p, rows[len(rows)-1]).Encode()
	}
	return rows, next, nil
}
