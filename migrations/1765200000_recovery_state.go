package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(func(app core.App) error {
		// restore detection (package recovery): the sync epoch and what the last
		// detected restore was; a plain table, no API exposes it
		_, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS [[recovery_state]] (
			[[key]]   TEXT PRIMARY KEY NOT NULL,
			[[value]] TEXT NOT NULL
		) WITHOUT ROWID`).Execute()
		return err
	}, nil)
}
