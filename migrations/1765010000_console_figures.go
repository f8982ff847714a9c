package migrations

import (
	"fmt"

	"civicdesk/console"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The supervisor figures on a city-sized database (issue 9, docs/staff-api.md
// §7): covering and partial indexes so that each figure reads only an index
// range, and console_first_responses (one row per answered request, kept by
// triggers; console/stats_schema.go), backfilled here from the existing rows.
func init() {
	m.Register(func(app core.App) error {
		req := mustCollection(app, "requests")
		// open requests only (≈4% of the rows): open_by_age, overdue, workload;
		// status is in the columns too, as SQLite reads a partial index as
		// covering only when it holds every column the query names
		req.AddIndex("idx_requests_fig_open", false, "`department`, `service`, `created`, `due_at`, `assignee`, `status`",
			"`status` IN ('received', 'in_progress', 'waiting_citizen')")
		// resolved in a period: sla_weekly, resolve_time_weekly, workload
		req.AddIndex("idx_requests_fig_resolved", false, "`resolved_at`, `department`, `service`, `due_at`, `created`, `assignee`", "`resolved_at` != ''")
		// created in a period, filtered: flow_weekly inflow, first_response totals
		req.AddIndex("idx_requests_fig_created", false, "`created`, `department`, `service`", "")
		if err := app.Save(req); err != nil {
			return fmt.Errorf("requests figure indexes: %w", err)
		}
		ev := mustCollection(app, "request_events")
		// flow_weekly outflow: only the status events that close a request
		ev.AddIndex("idx_request_events_fig_closing", false, "`created`, `request`, `type`, `to_status`, `from_status`",
			"`type` = 'status' AND `to_status` IN ('resolved', 'rejected', 'cancelled') AND `to_status` != `from_status`")
		if err := app.Save(ev); err != nil {
			return fmt.Errorf("request_events figure index: %w", err)
		}
		// creates the table and triggers and, as they were missing, fills it
		return console.EnsureFigureSchema(app.DB())
	}, func(app core.App) error {
		for _, name := range []string{"console_fr_events_ins", "console_fr_events_upd", "console_fr_events_del", "console_fr_requests_ins", "console_fr_requests_upd", "console_fr_requests_del"} {
			if _, err := app.DB().NewQuery("DROP TRIGGER IF EXISTS [[" + name + "]]").Execute(); err != nil {
				return err
			}
		}
		if _, err := app.DB().NewQuery("DROP TABLE IF EXISTS [[" + console.FirstResponsesTable + "]]").Execute(); err != nil {
			return err
		}
		req := mustCollection(app, "requests")
		for _, idx := range []string{"idx_requests_fig_open", "idx_requests_fig_resolved", "idx_requests_fig_created"} {
			req.RemoveIndex(idx)
		}
		if err := app.Save(req); err != nil {
			return err
		}
		ev := mustCollection(app, "request_events")
		ev.RemoveIndex("idx_request_events_fig_closing")
		return app.Save(ev)
	})
}
