package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// fee_notices: the payment notices a statement import queues in its
// transaction and applies after the commit (docs/payments.md §6, "Notices").
// A plain table (not a collection): only the payments room reads and writes it.
func init() {
	m.Register(func(app core.App) error {
		_, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS [[fee_notices]] (
			[[id]]       INTEGER PRIMARY KEY AUTOINCREMENT,
			[[fee]]      TEXT NOT NULL,
			[[request]]  TEXT NOT NULL,
			[[action]]   TEXT NOT NULL,
			[[payment]]  TEXT NOT NULL DEFAULT '',
			[[attempts]] INTEGER NOT NULL DEFAULT 0,
			[[error]]    TEXT NOT NULL DEFAULT '',
			[[created]]  TEXT NOT NULL
		)`).Execute()
		return err
	}, func(app core.App) error {
		_, err := app.DB().NewQuery("DROP TABLE IF EXISTS [[fee_notices]]").Execute()
		return err
	})
}
