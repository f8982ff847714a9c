package console

import (
	"database/sql"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Figure names (console-api.md "Supervisor figures").
const (
	FigureOpenByAge   = "open_by_age"
	FigureOverdue     = "overdue"
	FigureSLAWeekly   = "sla_weekly"
	FigureResolveTime = "resolve_time_weekly"
	FigureFlow        = "flow_weekly"
	FigureFirstReply  = "first_response"
	FigureWorkload    = "workload"
)

// Figures lists every figure.
var Figures = []string{FigureOpenByAge, FigureOverdue, FigureSLAWeekly, FigureResolveTime, FigureFlow, FigureFirstReply, FigureWorkload}

// MaxPeriodDays bounds a figure's period.
const MaxPeriodDays = 400

// Column is one column of a figure's table.
type Column struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Chart says how the UI draws the table.
type Chart struct {
	Type   string   `json:"type"`
	X      string   `json:"x"`
	Series []string `json:"series"`
}

// Table is a computed figure.
type Table struct {
	Figure  string   `json:"figure"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
	Chart   Chart    `json:"chart"`
}

// StatsParams are a figure's period (city days, to inclusive) and filters.
type StatsParams struct {
	From, To    time.Time // local midnights; To is the day after the last day
	Departments []string
	Services    []string
	Now         time.Time
	Loc         *time.Location
	Lang        string
}

var columnLabels = map[string]workflow.Localized{
	"department":    {"it": "Ufficio", "en": "Department", "sv": "Förvaltning", "et": "Osakond", "hu": "Osztály"},
	"service":       {"it": "Servizio", "en": "Service", "sv": "Tjänst", "et": "Teenus", "hu": "Szolgáltatás"},
	"age_0_2":       {"it": "0–2 giorni", "en": "0–2 days", "sv": "0–2 dagar", "et": "0–2 päeva", "hu": "0–2 nap"},
	"age_3_7":       {"it": "3–7 giorni", "en": "3–7 days", "sv": "3–7 dagar", "et": "3–7 päeva", "hu": "3–7 nap"},
	"age_8_30":      {"it": "8–30 giorni", "en": "8–30 days", "sv": "8–30 dagar", "et": "8–30 päeva", "hu": "8–30 nap"},
	"age_over_30":   {"it": "Oltre 30 giorni", "en": "Over 30 days", "sv": "Över 30 dagar", "et": "Üle 30 päeva", "hu": "30 napon túl"},
	"total":         {"it": "Totale", "en": "Total", "sv": "Totalt", "et": "Kokku", "hu": "Összesen"},
	"overdue":       {"it": "Scadute", "en": "Overdue", "sv": "Försenade", "et": "Tähtaeg ületatud", "hu": "Határidőn túl"},
	"oldest_number": {"it": "La più vecchia", "en": "Oldest", "sv": "Äldsta", "et": "Vanim", "hu": "Legrégebbi"},
	"oldest_due_at": {"it": "Scaduta il", "en": "Due on", "sv": "Skulle vara klar", "et": "Tähtaeg", "hu": "Határidő"},
	"days_overdue":  {"it": "Giorni di ritardo", "en": "Days overdue", "sv": "Dagar försenad", "et": "Päevi üle tähtaja", "hu": "Napok késésben"},
	"week":          {"it": "Settimana", "en": "Week", "sv": "Vecka", "et": "Nädal", "hu": "Hét"},
	"resolved":      {"it": "Risolte", "en": "Resolved", "sv": "Åtgärdade", "et": "Lahendatud", "hu": "Megoldva"},
	"within_sla":    {"it": "Nei tempi", "en": "Within SLA", "sv": "Inom tidsgränsen", "et": "Tähtaja piires", "hu": "Határidőn belül"},
	"share_pct":     {"it": "Quota nei tempi (%)", "en": "Within SLA (%)", "sv": "Inom tidsgränsen (%)", "et": "Tähtaja piires (%)", "hu": "Határidőn belül (%)"},
	"median_hours":  {"it": "Mediana (ore)", "en": "Median (hours)", "sv": "Median (timmar)", "et": "Mediaan (tundi)", "hu": "Medián (óra)"},
	"p90_hours":     {"it": "90° percentile (ore)", "en": "90th percentile (hours)", "sv": "90:e percentilen (timmar)", "et": "90. protsentiil (tundi)", "hu": "90. percentilis (óra)"},
	"inflow":        {"it": "Arrivate", "en": "Inflow", "sv": "Inkomna", "et": "Saabunud", "hu": "Beérkezett"},
	"outflow":       {"it": "Chiuse", "en": "Outflow", "sv": "Avslutade", "et": "Suletud", "hu": "Lezárt"},
	"net":           {"it": "Saldo", "en": "Net", "sv": "Netto", "et": "Vahe", "hu": "Egyenleg"},
	"requests":      {"it": "Richieste", "en": "Requests", "sv": "Ärenden", "et": "Pöördumised", "hu": "Bejelentések"},
	"answered":      {"it": "Con risposta", "en": "Answered", "sv": "Besvarade", "et": "Vastatud", "hu": "Megválaszolt"},
	"staff":         {"it": "Operatore", "en": "Clerk", "sv": "Handläggare", "et": "Töötaja", "hu": "Ügyintéző"},
	"open":          {"it": "Aperte assegnate", "en": "Open assigned", "sv": "Öppna tilldelade", "et": "Avatud, määratud", "hu": "Nyitott, kiosztott"},
}

func columns(lang string, keys ...string) []Column {
	out := make([]Column, len(keys))
	for i, k := range keys {
		out[i] = Column{Key: k, Label: columnLabels[k].In(lang, "en")}
	}
	return out
}

func parseStatsParams(e *core.RequestEvent) (*StatsParams, error) {
	cfg := city.Of(e.App)
	q := e.Request.URL.Query()
	now := time.Now()
	p := &StatsParams{Now: now, Loc: cfg.Location, Lang: langOf(e)}
	errs := validation.Errors{}
	local := now.In(cfg.Location)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, cfg.Location)
	p.To = today.AddDate(0, 0, 1)
	if v := q.Get("to"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, cfg.Location)
		if err != nil {
			errs["to"] = validation.NewError("validation_invalid_date", "Use a date YYYY-MM-DD.")
		}
		p.To = t.AddDate(0, 0, 1)
	}
	// default: the last eight ISO weeks, this one included
	last := p.To.AddDate(0, 0, -1)
	monday := last.AddDate(0, 0, -((int(last.Weekday()) + 6) % 7))
	p.From = monday.AddDate(0, 0, -7*7)
	if v := q.Get("from"); v != "" {
		t, err := time.ParseInLocation("2006-01-02", v, cfg.Location)
		if err != nil {
			errs["from"] = validation.NewError("validation_invalid_date", "Use a date YYYY-MM-DD.")
		}
		p.From = t
	}
	if len(errs) == 0 {
		switch {
		case !p.From.Before(p.To):
			errs["from"] = validation.NewError("validation_invalid_period", "from must not be after to.")
		case p.To.Sub(p.From) > MaxPeriodDays*24*time.Hour:
			errs["from"] = validation.NewError("validation_period_too_long", fmt.Sprintf("A period is at most %d days.", MaxPeriodDays))
		}
	}
	if codes := splitList(q.Get("department")); len(codes) > 0 {
		ids, err := idsByCode(e.App, "departments", codes)
		if err != nil {
			errs["department"] = err
		}
		p.Departments = ids
	}
	if codes := splitList(q.Get("service")); len(codes) > 0 {
		ids, err := idsByCode(e.App, "services", codes)
		if err != nil {
			errs["service"] = err
		}
		p.Services = ids
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// filterSQL returns the department/service conditions (prefixed with AND) and their params.
func (p *StatsParams) filterSQL(alias string) (string, dbx.Params) {
	params := dbx.Params{}
	var parts []string
	for _, f := range []struct {
		col string
		ids []string
	}{{"department", p.Departments}, {"service", p.Services}} {
		if len(f.ids) == 0 {
			continue
		}
		ph := make([]string, len(f.ids))
		for i, id := range f.ids {
			k := fmt.Sprintf("f_%s%d", f.col, i)
			params[k] = id
			ph[i] = "{:" + k + "}"
		}
		parts = append(parts, alias+"[["+f.col+"]] IN ("+strings.Join(ph, ", ")+")")
	}
	if len(parts) == 0 {
		return "", params
	}
	return " AND " + strings.Join(parts, " AND "), params
}

func mergeParams(ps ...dbx.Params) dbx.Params {
	out := dbx.Params{}
	for _, p := range ps {
		for k, v := range p {
			out[k] = v
		}
	}
	return out
}

func isoWeek(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

func parseStored(s string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02 15:04:05.000Z", s)
	return t, err == nil
}

// ComputeFigure computes figure over db.
func ComputeFigure(app core.App, figure string, p *StatsParams) (*Table, error) {
	n, err := loadNames(app, p.Lang)
	if err != nil {
		return nil, err
	}
	t := &Table{Figure: figure, From: p.From.Format("2006-01-02"), To: p.To.AddDate(0, 0, -1).Format("2006-01-02"), Rows: [][]any{}}
	switch figure {
	case FigureOpenByAge:
		err = openByAge(app, p, n, t)
	case FigureOverdue:
		err = overdue(app, p, n, t)
	case FigureSLAWeekly, FigureResolveTime:
		err = resolvedWeekly(app, p, t)
	case FigureFlow:
		err = flowWeekly(app, p, t)
	case FigureFirstReply:
		err = firstResponse(app, p, t)
	case FigureWorkload:
		err = workload(app, p, n, t)
	default:
		return nil, validation.Errors{"figure": validation.NewError("validation_unknown_figure", "Unknown figure; use one of "+strings.Join(Figures, ", ")+".")}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func openStatusParams() (string, dbx.Params) {
	return "[[status]] IN ({:o0}, {:o1}, {:o2})", dbx.Params{"o0": openStatuses[0], "o1": openStatuses[1], "o2": openStatuses[2]}
}

// openStatusSQL is the open condition written with literals, as in the WHERE
// of idx_requests_fig_open (SQLite uses a partial index only for a query whose
// WHERE contains the index's).
func openStatusSQL() string {
	return "[[status]] IN ('" + strings.Join(openStatuses, "', '") + "')"
}

// weekRange is one ISO week of the period as stored (UTC) times [lo, hi).
type weekRange struct{ label, lo, hi string }

// weekRanges cuts the period at the city's Mondays; the first and last week
// may be partial. Stored times compare as strings, so a week is an index range.
func (p *StatsParams) weekRanges() []weekRange {
	var out []weekRange
	for d := p.From; d.Before(p.To); d = d.AddDate(0, 0, 1) {
		if w := isoWeek(d); len(out) == 0 || out[len(out)-1].label != w {
			if len(out) > 0 {
				out[len(out)-1].hi = dbTime(d)
			}
			out = append(out, weekRange{label: w, lo: dbTime(d)})
		}
	}
	if len(out) > 0 {
		out[len(out)-1].hi = dbTime(p.To)
	}
	return out
}

// perWeek runs sql (with {:lo} and {:hi}) once per week of the period, one
// index range each, calling row for every result row. Measured on 500,000
// requests (docs/staff-api.md §7): SQLite's per-row expressions (julianday,
// a join with the weeks) cost far more under modernc.org/sqlite than reading
// the covering index's columns into Go, so the queries stay plain ranges.
func (p *StatsParams) perWeek(app core.App, sql string, params dbx.Params, row func(w weekRange, scan func(dst ...any) error) error) error {
	q := app.DB().NewQuery(sql).Prepare()
	defer q.Close()
	for _, w := range p.weekRanges() {
		rows, err := q.Bind(mergeParams(params, dbx.Params{"lo": w.lo, "hi": w.hi})).Rows()
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := row(w, rows.Scan); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// nearestRank is percentile's 0-based rank among n values.
func nearestRank(n int, pct float64) int {
	rank := int(math.Ceil(pct/100*float64(n))) - 1
	if rank < 0 {
		rank = 0
	}
	return rank
}

func openByAge(app core.App, p *StatsParams, n *names, t *Table) error {
	t.Columns = columns(p.Lang, "department", "service", "age_0_2", "age_3_7", "age_8_30", "age_over_30", "total")
	t.Chart = Chart{Type: "bar", X: "service", Series: []string{"age_0_2", "age_3_7", "age_8_30", "age_over_30"}}
	filter, fp := p.filterSQL("")
	day := 24 * time.Hour
	params := mergeParams(fp, dbx.Params{"c3": dbTime(p.Now.Add(-3 * day)), "c8": dbTime(p.Now.Add(-8 * day)), "c31": dbTime(p.Now.Add(-31 * day))})
	var rows []struct {
		Department string `db:"department"`
		Service    string `db:"service"`
		A          int    `db:"a"`
		B          int    `db:"b"`
		C          int    `db:"c"`
		D          int    `db:"d"`
	}
	err := app.DB().NewQuery("SELECT [[department]], [[service]], SUM([[created]] > {:c3}) AS [[a]], SUM([[created]] <= {:c3} AND [[created]] > {:c8}) AS [[b]], " +
		"SUM([[created]] <= {:c8} AND [[created]] > {:c31}) AS [[c]], SUM([[created]] <= {:c31}) AS [[d]] FROM [[requests]] INDEXED BY [[idx_requests_fig_open]] WHERE " + openStatusSQL() + filter +
		" GROUP BY [[department]], [[service]]").Bind(params).All(&rows)
	if err != nil {
		return fmt.Errorf("open by age: %w", err)
	}
	for _, r := range rows {
		dept := ""
		if d := n.department(r.Department); d != nil {
			dept = d.Name
		}
		t.Rows = append(t.Rows, []any{dept, n.service(r.Service).Name, r.A, r.B, r.C, r.D, r.A + r.B + r.C + r.D})
	}
	sort.Slice(t.Rows, func(i, j int) bool {
		return fmt.Sprint(t.Rows[i][0], t.Rows[i][1]) < fmt.Sprint(t.Rows[j][0], t.Rows[j][1])
	})
	return nil
}

func overdue(app core.App, p *StatsParams, n *names, t *Table) error {
	t.Columns = columns(p.Lang, "department", "overdue", "oldest_number", "oldest_due_at", "days_overdue")
	t.Chart = Chart{Type: "bar", X: "department", Series: []string{"overdue"}}
	open := openStatusSQL()
	filter, fp := p.filterSQL("")
	params := mergeParams(fp, dbx.Params{"now": dbTime(p.Now)})
	var rows []struct {
		Department string `db:"department"`
		Count      int    `db:"n"`
		Oldest     string `db:"oldest"`
	}
	if err := app.DB().NewQuery("SELECT [[department]], COUNT(*) AS [[n]], MIN([[due_at]]) AS [[oldest]] FROM [[requests]] INDEXED BY [[idx_requests_fig_open]] WHERE " + open +
		" AND [[due_at]] != '' AND [[due_at]] < {:now}" + filter + " GROUP BY [[department]] ORDER BY [[oldest]]").Bind(params).All(&rows); err != nil {
		return fmt.Errorf("overdue: %w", err)
	}
	for _, r := range rows {
		var number string
		_ = app.DB().NewQuery("SELECT [[number]] FROM [[requests]] WHERE [[department]] = {:d} AND " + open + " AND [[due_at]] = {:due} LIMIT 1").
			Bind(dbx.Params{"d": r.Department, "due": r.Oldest}).Row(&number)
		dept := ""
		if d := n.department(r.Department); d != nil {
			dept = d.Name
		}
		days := 0
		if due, ok := parseStored(r.Oldest); ok {
			days = int(p.Now.Sub(due).Hours() / 24)
		}
		t.Rows = append(t.Rows, []any{dept, r.Count, number, wireTime(r.Oldest), days})
	}
	return nil
}

// resolvedWeekly computes sla_weekly or resolve_time_weekly from the requests
// resolved in the period, read week by week from idx_requests_fig_resolved
// alone: sla_weekly as two sums per week, resolve_time_weekly as one
// duration per request (parsed and sorted in Go: the percentiles are exact).
func resolvedWeekly(app core.App, p *StatsParams, t *Table) error {
	filter, fp := p.filterSQL("")
	from := " FROM [[requests]] INDEXED BY [[idx_requests_fig_resolved]] WHERE [[resolved_at]] != '' AND [[resolved_at]] >= {:lo} AND [[resolved_at]] < {:hi}" + filter
	if t.Figure == FigureSLAWeekly {
		t.Columns = columns(p.Lang, "week", "resolved", "within_sla", "share_pct")
		t.Chart = Chart{Type: "line", X: "week", Series: []string{"share_pct"}}
		return p.perWeek(app, "SELECT COUNT(*), COALESCE(SUM([[due_at]] = '' OR [[resolved_at]] <= [[due_at]]), 0)"+from, fp, func(w weekRange, scan func(...any) error) error {
			var n, within int
			if err := scan(&n, &within); err != nil {
				return fmt.Errorf("sla %s: %w", w.label, err)
			}
			var share any
			if n > 0 {
				share = round1(100 * float64(within) / float64(n))
			}
			t.Rows = append(t.Rows, []any{w.label, n, within, share})
			return nil
		})
	}
	t.Columns = columns(p.Lang, "week", "resolved", "median_hours", "p90_hours")
	t.Chart = Chart{Type: "line", X: "week", Series: []string{"median_hours", "p90_hours"}}
	count := map[string]int{}
	hours := map[string][]float64{}
	if err := p.perWeek(app, "SELECT [[created]], [[resolved_at]]"+from, fp, func(w weekRange, scan func(...any) error) error {
		var created, resolved string
		if err := scan(&created, &resolved); err != nil {
			return fmt.Errorf("resolve time %s: %w", w.label, err)
		}
		count[w.label]++
		c, ok1 := parseStored(created)
		r, ok2 := parseStored(resolved)
		if ok1 && ok2 {
			hours[w.label] = append(hours[w.label], r.Sub(c).Hours())
		}
		return nil
	}); err != nil {
		return err
	}
	for _, w := range p.weekRanges() {
		t.Rows = append(t.Rows, []any{w.label, count[w.label], percentile(hours[w.label], 50), percentile(hours[w.label], 90)})
	}
	return nil
}

// percentile is the nearest-rank percentile of xs (nil when empty), rounded to 0.1.
func percentile(xs []float64, pct float64) any {
	if len(xs) == 0 {
		return nil
	}
	sort.Float64s(xs)
	return round1(xs[nearestRank(len(xs), pct)])
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// countPerWeek runs a COUNT(*) query per week (perWeek).
func (p *StatsParams) countPerWeek(app core.App, sql string, params dbx.Params) (map[string]int, error) {
	out := map[string]int{}
	err := p.perWeek(app, sql, params, func(w weekRange, scan func(...any) error) error {
		v := 0
		err := scan(&v)
		out[w.label] = v
		return err
	})
	return out, err
}

func flowWeekly(app core.App, p *StatsParams, t *Table) error {
	t.Columns = columns(p.Lang, "week", "inflow", "outflow", "net")
	t.Chart = Chart{Type: "bar", X: "week", Series: []string{"inflow", "outflow"}}
	filter, fp := p.filterSQL("[[r]].")
	in, err := p.countPerWeek(app, "SELECT COUNT(*) FROM [[requests]] [[r]] INDEXED BY [[idx_requests_fig_created]] WHERE [[r]].[[created]] >= {:lo} AND [[r]].[[created]] < {:hi}"+filter, fp)
	if err != nil {
		return fmt.Errorf("flow inflow: %w", err)
	}
	// a request leaves the backlog when a status event closes it (reopened
	// ones leave twice); the partial index holds only those events, and the
	// requests row is read only for a filter
	join := ""
	if filter != "" {
		join = " JOIN [[requests]] [[r]] ON [[r]].[[id]] = [[e]].[[request]]"
	}
	out, err := p.countPerWeek(app, "SELECT COUNT(*) FROM [[request_events]] [[e]] INDEXED BY [[idx_request_events_fig_closing]]"+join+
		" WHERE [[e]].[[type]] = 'status' AND [[e]].[[to_status]] IN ('resolved', 'rejected', 'cancelled') AND [[e]].[[to_status]] != [[e]].[[from_status]] "+
		"AND [[e]].[[created]] >= {:lo} AND [[e]].[[created]] < {:hi}"+filter, fp)
	if err != nil {
		return fmt.Errorf("flow outflow: %w", err)
	}
	for _, w := range p.weekRanges() {
		t.Rows = append(t.Rows, []any{w.label, in[w.label], out[w.label], in[w.label] - out[w.label]})
	}
	return nil
}

// firstResponse counts the requests created per week (idx_requests_fig_created)
// and reads the answered ones' times to answer from console_first_responses
// (stats_schema.go), so no request's events are read at all.
func firstResponse(app core.App, p *StatsParams, t *Table) error {
	t.Columns = columns(p.Lang, "week", "requests", "answered", "median_hours")
	t.Chart = Chart{Type: "line", X: "week", Series: []string{"median_hours"}}
	filter, fp := p.filterSQL("[[r]].")
	total, err := p.countPerWeek(app, "SELECT COUNT(*) FROM [[requests]] [[r]] INDEXED BY [[idx_requests_fig_created]] WHERE [[r]].[[created]] >= {:lo} AND [[r]].[[created]] < {:hi}"+filter, fp)
	if err != nil {
		return fmt.Errorf("first response: %w", err)
	}
	hours := map[string][]float64{}
	if err := p.perWeek(app, "SELECT [[r]].[[ms]] FROM [["+FirstResponsesTable+"]] [[r]] INDEXED BY [[idx_"+FirstResponsesTable+"_created]] "+
		"WHERE [[r]].[[created]] >= {:lo} AND [[r]].[[created]] < {:hi} AND [[r]].[[ms]] IS NOT NULL"+filter, fp, func(w weekRange, scan func(...any) error) error {
		var ms int64
		if err := scan(&ms); err != nil {
			return err
		}
		hours[w.label] = append(hours[w.label], (time.Duration(ms) * time.Millisecond).Hours())
		return nil
	}); err != nil {
		return fmt.Errorf("first response: %w", err)
	}
	for _, w := range p.weekRanges() {
		t.Rows = append(t.Rows, []any{w.label, total[w.label], len(hours[w.label]), percentile(hours[w.label], 50)})
	}
	return nil
}

func workload(app core.App, p *StatsParams, n *names, t *Table) error {
	t.Columns = columns(p.Lang, "staff", "open", "overdue", "resolved")
	t.Chart = Chart{Type: "bar", X: "staff", Series: []string{"open", "resolved"}}
	open := openStatusSQL()
	filter, fp := p.filterSQL("")
	params := mergeParams(fp, dbx.Params{"now": dbTime(p.Now), "from": dbTime(p.From), "to": dbTime(p.To)})
	type counts struct{ open, overdue, resolved int }
	by := map[string]*counts{}
	get := func(id string) *counts {
		if by[id] == nil {
			by[id] = &counts{}
		}
		return by[id]
	}
	var openRows []struct {
		Assignee string `db:"assignee"`
		Open     int    `db:"open"`
		Overdue  int    `db:"overdue"`
	}
	if err := app.DB().NewQuery("SELECT [[assignee]], COUNT(*) AS [[open]], SUM([[due_at]] != '' AND [[due_at]] < {:now}) AS [[overdue]] FROM [[requests]] INDEXED BY [[idx_requests_fig_open]] WHERE " +
		open + " AND [[assignee]] != ''" + filter + " GROUP BY [[assignee]]").Bind(params).All(&openRows); err != nil {
		return fmt.Errorf("workload open: %w", err)
	}
	for _, r := range openRows {
		c := get(r.Assignee)
		c.open, c.overdue = r.Open, r.Overdue
	}
	// resolved in the period per assignee: a loose index scan over the
	// assignees of idx_requests_fig_assignee (one seek each) and one index
	// range count per assignee, instead of grouping the period's rows
	// (≈77,000 for a year) in a temporary B-tree
	resolvedRule := "[[resolved_at]] != '' AND [[assignee]] != ''"
	nextQ := app.DB().NewQuery("SELECT MIN([[assignee]]) FROM [[requests]] INDEXED BY [[idx_requests_fig_assignee]] WHERE " + resolvedRule + " AND [[assignee]] > {:after}").Prepare()
	defer nextQ.Close()
	countQ := app.DB().NewQuery("SELECT COUNT(*) FROM [[requests]] INDEXED BY [[idx_requests_fig_assignee]] WHERE " + resolvedRule +
		" AND [[assignee]] = {:a} AND [[resolved_at]] >= {:from} AND [[resolved_at]] < {:to}" + filter).Prepare()
	defer countQ.Close()
	for after := ""; ; {
		var next sql.NullString
		if err := nextQ.Bind(dbx.Params{"after": after}).Row(&next); err != nil {
			return fmt.Errorf("workload resolved: %w", err)
		}
		if !next.Valid {
			break
		}
		after = next.String
		var resolved int
		if err := countQ.Bind(mergeParams(params, dbx.Params{"a": after})).Row(&resolved); err != nil {
			return fmt.Errorf("workload resolved: %w", err)
		}
		if resolved > 0 {
			get(after).resolved = resolved
		}
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	if err := n.loadStaff(app, ids); err != nil {
		return err
	}
	for _, id := range ids {
		name := id
		if s := n.person(id); s != nil {
			name = s.Name
		}
		c := by[id]
		t.Rows = append(t.Rows, []any{name, c.open, c.overdue, c.resolved})
	}
	sort.Slice(t.Rows, func(i, j int) bool { return fmt.Sprint(t.Rows[i][0]) < fmt.Sprint(t.Rows[j][0]) })
	return nil
}

func handleStats(e *core.RequestEvent) error {
	if e.Auth.GetString("role") != workflow.RoleSupervisor {
		return e.ForbiddenError("Figures are for supervisors.", nil)
	}
	p, err := parseStatsParams(e)
	if err != nil {
		return e.BadRequestError("Invalid period or filter.", err)
	}
	t, err := ComputeFigure(e.App, e.Request.PathValue("figure"), p)
	if err != nil {
		return firstAPIError(e, err, "Unknown figure.")
	}
	if e.Request.URL.Query().Get("format") != "csv" {
		return e.JSON(http.StatusOK, t)
	}
	w := startCSV(e, fmt.Sprintf("%s_%s_%s.csv", t.Figure, t.From, t.To))
	cw := csv.NewWriter(w)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Key
	}
	_ = cw.Write(head)
	for _, r := range t.Rows {
		rec := make([]string, len(r))
		for i, v := range r {
			if v != nil {
				rec[i] = fmt.Sprint(v)
			}
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	flush(e)
	return cw.Error()
}
