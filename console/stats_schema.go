package console

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// The supervisor figures read requests and request_events through the
// covering and partial indexes of migration 1765010000 (FigureIndexes), and
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

// EnsureFigureSchema creates console_first_responses and its triggers where
// missing. When a trigger was missing (a new database, or one dropped by a
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
	if err := db.NewQuery("SELECT [[name]] FROM sqlite_master WHERE [[type]] = 'trigger' AND [[name]] LIKE 'console\\_fr\\_%' ESCAPE '\\'").Column(&existing); err != nil {
		return fmt.Errorf("console figures: triggers: %w", err)
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n] = true
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
