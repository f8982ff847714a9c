package migrations

import (
	"civicdesk/changelog"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(changelog.EnsureSchema, func(app core.App) error {
		for _, stmt := range []string{
			"DROP TABLE IF EXISTS [[changes]]",
			"DROP TABLE IF EXISTS [[changes_meta]]",
		} {
			if _, err := app.DB().NewQuery(stmt).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}
