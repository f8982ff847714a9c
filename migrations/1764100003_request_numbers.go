package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(func(app core.App) error {
		// the per-year counter behind request numbers (hooks/request_number.go)
		_, err := app.DB().NewQuery("CREATE TABLE IF NOT EXISTS [[request_numbers]] ([[year]] INTEGER PRIMARY KEY, [[last]] INTEGER NOT NULL)").Execute()
		return err
	}, func(app core.App) error {
		_, err := app.DB().NewQuery("DROP TABLE IF EXISTS [[request_numbers]]").Execute()
		return err
	})
}
