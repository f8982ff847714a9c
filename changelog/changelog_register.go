package changelog

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// HookIDEnsure is the id of the bootstrap handler that re-creates missing triggers.
const HookIDEnsure = "civicdeskChangelogEnsure"

// Register re-creates the change table and triggers on every start once the
// migrations have run (serve and the commands that run migrations).
func Register(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id:       HookIDEnsure,
		Priority: -100,
		Func: func(se *core.ServeEvent) error {
			if err := EnsureSchema(se.App); err != nil {
				return fmt.Errorf("civicdesk: %w", err)
			}
			return se.Next()
		},
	})
}
