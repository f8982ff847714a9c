package migrations

import (
	"civicdesk/console"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The supervisor figures on a city-sized database (issue 9, docs/staff-api.md
// §7): covering and partial indexes so that each figure reads only index
// ranges, and console_first_responses (one row per answered request, kept by
// triggers), backfilled here from the existing rows. All of it is console
// schema (console/stats_schema.go), re-created at start when missing.
func init() {
	m.Register(func(app core.App) error {
		// creates what is missing and, as the triggers were, fills the table
		return console.EnsureFigureSchema(app.DB())
	}, func(app core.App) error {
		return console.DropFigureSchema(app.DB())
	})
}
