package migrations

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// PocketBase creates a `users` auth collection in every new data dir; civicdesk
// never uses it (citizens, staff and superusers are its accounts), so the
// dashboard shows the city's collections only. A `users` collection that holds
// records is left alone: someone put data there on purpose.
func init() {
	m.Register(func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("users")
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find users: %w", err)
		}
		n, err := app.CountRecords(c)
		if err != nil {
			return fmt.Errorf("count users: %w", err)
		}
		if n > 0 {
			app.Logger().Warn("civicdesk: the default users collection holds records; it is kept", "records", n)
			return nil
		}
		if err := app.Delete(c); err != nil {
			return fmt.Errorf("delete the unused users collection: %w", err)
		}
		return nil
	}, nil)
}
