package console

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// The supervisor figures read requests and request_events through covering
// and partial indexes of their own (figureIndexes), and
// the first public staff answer of each request from one table of its own,
// console_first_responses, because that figure would otherwise cost an index
// seek into request_events per request of the period (≈100,000 for a year).
// The table is kept exact by SQLite triggers on requests and request_events,
// so it changes in the same statement as every write, whatever the path
// (records API, sync, bulk, raw SQL); RebuildFirstResponses recomputes it
// from scratch. docs/staff-api.md "Supervisor figures" describes the costs.

// FirstResponsesTable holds, per answered request, the request's created,
// department and service (copies, for the period and the filters), the
// first public staff event's time and the milliseconds in between.
const FirstResponsesTable = "console_first_responses"

// firstResponseEvent is the condition of an event that answers the citizen:
// public, by staff, anything but the creation (docs/staff-api.md §7).
func firstResponseEvent(row string) string {
	return fmt.Sprintf("(%[1]s.[[author_type]] = 'staff' AND %[1]s.[[public]] = TRUE AND %[1]s.[[type]] != 'created')", row)
}

// msBetween is the exact number of milliseconds from a to b (stored times
// have millisecond precision; julianday's error is microseconds).
func msBetween(a, b string) string {
	return fmt.Sprintf("CAST(ROUND((julianday(%s) - julianday(%s)) * 86400000) AS INTEGER)", b, a)
}

// refreshFirstResponseSQL recomputes the row of the request whose id is the
// SQL expression id (e.g. OLD.[[request]]).
func refreshFirstResponseSQL(id string) string {
	return fmt.Sprintf(`DELETE FROM [[%[1]s]] WHERE [[request]] = %[2]s;
			INSERT INTO [[%[1]s]] ([[request]], [[created]], [[department]], [[service]], [[first_at]], [[ms]])
				SELECT [[r]].[[id]], [[r]].[[created]], [[r]].[[department]], [[r]].[[service]], [[f]].[[first_at]], %[3]s
				FROM [[requests]] [[r]], (SELECT MIN([[e]].[[created]]) AS [[first_at]] FROM [[request_events]] [[e]] WHERE [[e]].[[request]] = %[2]s AND %[4]s) [[f]]
				WHERE [[r]].[[id]] = %[2]s AND [[f]].[[first_at]] IS NOT NULL;`,
		FirstResponsesTable, id, msBetween("[[r]].[[created]]", "[[f]].[[first_at]]"), firstResponseEvent("[[e]]"))
}

// figureIndexes are the figures' indexes on requests and request_events, by
// name. They are console schema like the triggers, not entries of the
// collections' index lists: PocketBase rebuilds every index of a collection
// whenever that list changes, which on 500,000 requests took minutes of
// start-up (docs/staff-api.md §7), while these five build in seconds.
var figureIndexes = map[string]string{
	// open requests only (≈4% of the rows): open_by_age, overdue, workload;
	// status is a column too, as SQLite reads a partial index as covering
	// only when it holds every column the query names
	"idx_requests_fig_open": "CREATE INDEX IF NOT EXISTS [[idx_requests_fig_open]] ON [[requests]] ([[department]], [[service]], [[created]], [[due_at]], [[assignee]], [[status]]) " +
		"WHERE [[status]] IN ('received', 'in_progress', 'waiting_citizen')",
	// resolved in a period: sla_weekly, resolve_time_weekly, workload
	"idx_requests_fig_resolved": "CREATE INDEX IF NOT EXISTS [[idx_requests_fig_resolved]] ON [[requests]] ([[resolved_at]], [[department]], [[service]], [[due_at]], [[created]]) " +
		"WHERE [[resolved_at]] != ''",
	// resolved in a period per assignee (workload), without grouping rows
	"idx_requests_fig_assignee": "CREATE INDEX IF NOT EXISTS [[idx_requests_fig_assignee]] ON [[requests]] ([[assignee]], [[resolved_at]], [[department]], [[service]]) " +
		"WHERE [[resolved_at]] != '' AND [[assignee]] != ''",
	// created in a period, filtered: flow_weekly inflow, first_response totals
	"idx_requests_fig_created": "CREATE INDEX IF NOT EXISTS [[idx_requests_fig_created]] ON [[requests]] ([[created]], [[department]], [[service]])",
	// flow_weekly outflow: only the status events that close a request
	"idx_request_events_fig_closing": "CREATE INDEX IF NOT EXISTS [[idx_request_events_fig_closing]] ON [[request_events]] ([[created]], [[request]], [[type]], [[to_status]], [[from_status]]) " +
		"WHERE [[type]] = 'status' AND [[to_status]] IN ('resolved', 'rejected', 'cancelled') AND [[to_status]] != [[from_status]]",
}

// figureTriggers are the triggers that keep console_first_responses exact,
// by name.
func figureTriggers() map[string]string {
	t := FirstResponsesTable
	changed := func(cols ...string) string {
		s := ""
		for i, c := range cols {
			if i > 0 {
				s += " OR "
			}
			s += fmt.Sprintf("OLD.[[%[1]s]] IS NOT NEW.[[%[1]s]]", c)
		}
		return s
	}
	return map[string]string{
		// the common case: an answer is added; keep the earliest
		"console_fr_events_ins": fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[console_fr_events_ins]] AFTER INSERT ON [[request_events]] WHEN %[2]s BEGIN
			INSERT INTO [[%[1]s]] ([[request]], [[created]], [[department]], [[service]], [[first_at]], [[ms]])
				SELECT [[r]].[[id]], [[r]].[[created]], [[r]].[[department]], [[r]].[[service]], NEW.[[created]], %[3]s
				FROM [[requests]] [[r]] WHERE [[r]].[[id]] = NEW.[[request]]
				ON CONFLICT ([[request]]) DO UPDATE SET [[first_at]] = [[excluded]].[[first_at]], [[ms]] = [[excluded]].[[ms]]
				WHERE [[excluded]].[[first_at]] < [[%[1]s]].[[first_at]];
		END`, t, firstResponseEvent("NEW"), msBetween("[[r]].[[created]]", "NEW.[[created]]")),
		"console_fr_events_upd": fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[console_fr_events_upd]] AFTER UPDATE ON [[request_events]]
			WHEN (%s OR %s) AND (%s) BEGIN
			%s
			%s
		END`, firstResponseEvent("OLD"), firstResponseEvent("NEW"), changed("request", "created", "author_type", "public", "type"),
			refreshFirstResponseSQL("OLD.[[request]]"), refreshFirstResponseSQL("NEW.[[request]]")),
		"console_fr_events_del": fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[console_fr_events_del]] AFTER DELETE ON [[request_events]] WHEN %s BEGIN
			%s
		END`, firstResponseEvent("OLD"), refreshFirstResponseSQL("OLD.[[request]]")),
		// events written before their request (imports) are picked up
		"console_fr_requests_ins": fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[console_fr_requests_ins]] AFTER INSERT ON [[requests]] BEGIN
			%s
		END`, refreshFirstResponseSQL("NEW.[[id]]")),
		"console_fr_requests_upd": fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[console_fr_requests_upd]] AFTER UPDATE ON [[requests]]
			WHEN %s BEGIN
			DELETE FROM [[%s]] WHERE [[request]] = OLD.[[id]] AND OLD.[[id]] IS NOT NEW.[[id]];
			%s
		END`, changed("id", "created", "department", "service"), t, refreshFirstResponseSQL("NEW.[[id]]")),
		"console_fr_requests_del": fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[console_fr_requests_del]] AFTER DELETE ON [[requests]] BEGIN
			DELETE FROM [[%s]] WHERE [[request]] = OLD.[[id]];
		END`, t),
	}
}

// EnsureFigureSchema creates the figures' indexes, console_first_responses
// and its triggers where missing (an index created here gets its ANALYZE
// statistics, so that the planner weighs it right for other queries too). When a trigger was missing (a new database, or one dropped by a
// schema edit in the dashboard, during which writes were not followed) the
// table is rebuilt from scratch. Migration 1765010000 and every start call it.
func EnsureFigureSchema(db dbx.Builder) error {
	if _, err := db.NewQuery(fmt.Sprintf(`CREATE TABLE IF NOT EXISTS [[%[1]s]] (
		[[request]] TEXT PRIMARY KEY NOT NULL,
		[[created]] TEXT NOT NULL DEFAULT '',
		[[department]] TEXT NOT NULL DEFAULT '',
		[[service]] TEXT NOT NULL DEFAULT '',
		[[first_at]] TEXT NOT NULL DEFAULT '',
		[[ms]] INTEGER
	) WITHOUT ROWID`, FirstResponsesTable)).Execute(); err != nil {
		return fmt.Errorf("console figures: create %s: %w", FirstResponsesTable, err)
	}
	// answered requests of a period (and its filters) with the time to answer:
	// the figure reads only this index
	if _, err := db.NewQuery(fmt.Sprintf("CREATE INDEX IF NOT EXISTS [[idx_%[1]s_created]] ON [[%[1]s]] ([[created]], [[department]], [[service]], [[ms]])", FirstResponsesTable)).Execute(); err != nil {
		return fmt.Errorf("console figures: index: %w", err)
	}
	var existing []string
	if err := db.NewQuery("SELECT [[name]] FROM sqlite_master WHERE [[type]] IN ('trigger', 'index')").Column(&existing); err != nil {
		return fmt.Errorf("console figures: schema: %w", err)
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n] = true
	}
	for name, sql := range figureIndexes {
		if have[name] {
			continue
		}
		if _, err := db.NewQuery(sql).Execute(); err != nil {
			return fmt.Errorf("console figures: index %s: %w", name, err)
		}
		if _, err := db.NewQuery("ANALYZE [[" + name + "]]").Execute(); err != nil {
			return fmt.Errorf("console figures: analyze %s: %w", name, err)
		}
	}
	missing := false
	for name, sql := range figureTriggers() {
		if have[name] {
			continue
		}
		missing = true
		if _, err := db.NewQuery(sql).Execute(); err != nil {
			return fmt.Errorf("console figures: trigger %s: %w", name, err)
		}
	}
	if missing {
		return RebuildFirstResponses(db)
	}
	return nil
}

// RebuildFirstResponses recomputes console_first_responses from requests and
// request_events (the migration's backfill; bench/console after a bulk load
// without triggers). Run it in a transaction to keep it exact under writes.
func RebuildFirstResponses(db dbx.Builder) error {
	if _, err := db.NewQuery("DELETE FROM [[" + FirstResponsesTable + "]]").Execute(); err != nil {
		return fmt.Errorf("console figures: rebuild: %w", err)
	}
	if _, err := db.NewQuery(fmt.Sprintf(`INSERT INTO [[%[1]s]] ([[request]], [[created]], [[department]], [[service]], [[first_at]], [[ms]])
		SELECT [[r]].[[id]], [[r]].[[created]], [[r]].[[department]], [[r]].[[service]], [[f]].[[first_at]], %[2]s
		FROM (SELECT [[e]].[[request]] AS [[request]], MIN([[e]].[[created]]) AS [[first_at]] FROM [[request_events]] [[e]] WHERE %[3]s GROUP BY [[e]].[[request]]) [[f]]
		JOIN [[requests]] [[r]] ON [[r]].[[id]] = [[f]].[[request]]`,
		FirstResponsesTable, msBetween("[[r]].[[created]]", "[[f]].[[first_at]]"), firstResponseEvent("[[e]]"))).Execute(); err != nil {
		return fmt.Errorf("console figures: rebuild: %w", err)
	}
	return nil
}

// HookIDFigureSchema is the id of the serve handler that re-creates missing
// figure triggers.
const HookIDFigureSchema = "civicdesk.console.figureSchema"

func bindFigureSchema(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id:       HookIDFigureSchema,
		Priority: -100,
		Func: func(se *core.ServeEvent) error {
			if err := se.App.RunInTransaction(func(tx core.App) error { return EnsureFigureSchema(tx.DB()) }); err != nil {
				return fmt.Errorf("civicdesk: %w", err)
			}
			return se.Next()
		},
	})
}

// DropFigureSchema removes what EnsureFigureSchema creates (the migration's
// down step).
func DropFigureSchema(db dbx.Builder) error {
	var stmts []string
	for name := range figureTriggers() {
		stmts = append(stmts, "DROP TRIGGER IF EXISTS [["+name+"]]")
	}
	for name := range figureIndexes {
		stmts = append(stmts, "DROP INDEX IF EXISTS [["+name+"]]")
	}
	stmts = append(stmts, "DROP TABLE IF EXISTS [["+FirstResponsesTable+"]]")
	for _, s := range stmts {
		if _, err := db.NewQuery(s).Execute(); err != nil {
			return fmt.Errorf("console figures: %s: %w", s, err)
		}
	}
	return nil
}
