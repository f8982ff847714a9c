package migrations

import (
	"civicdesk/changelog"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The child triggers now fall back to the request's last change row for its
// citizen, so a deleted request's cascaded events and receipts reach its citizen
// as deletions. CREATE TRIGGER IF NOT EXISTS keeps an old body: drop, then ensure.
func init() {
	m.Register(func(app core.App) error {
		for _, name := range []string{
			"changes_request_events_ins", "changes_request_events_upd", "changes_request_events_del",
			"changes_receipts_ins", "changes_receipts_upd", "changes_receipts_del",
		} {
			if _, err := app.DB().NewQuery("DROP TRIGGER IF EXISTS [[" + name + "]]").Execute(); err != nil {
				return err
			}
		}
		return changelog.EnsureSchema(app)
	}, nil)
}
