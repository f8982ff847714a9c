package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// push_outbox is the persistent web push outbox (docs/push.md): one row per
// device and message, written in the same transaction as the change that
// causes it, drained by push's worker pool. Superusers only (all rules nil):
// it is visible in the dashboard for operators.
func init() {
	m.Register(func(app core.App) error {
		c := core.NewBaseCollection("push_outbox")
		c.Fields.Add(
			&core.RelationField{Name: "subscription", Required: true, CollectionId: mustCollection(app, "push_subscriptions").Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "request", CollectionId: mustCollection(app, "requests").Id, MaxSelect: 1, CascadeDelete: true},
			&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{"status", "note", "receipt"}},
			&core.JSONField{Name: "payload", MaxSize: 4 << 10},
			&core.TextField{Name: "topic", Max: 32, Pattern: `^[A-Za-z0-9_-]*$`},
			&core.SelectField{Name: "urgency", MaxSelect: 1, Values: []string{"very-low", "low", "normal", "high"}},
			&core.NumberField{Name: "ttl", OnlyInt: true},
			&core.SelectField{Name: "state", Required: true, MaxSelect: 1, Values: []string{"pending", "sending", "sent", "failed", "expired", "superseded"}},
			&core.NumberField{Name: "attempts", OnlyInt: true},
			&core.DateField{Name: "next_at"},
			&core.DateField{Name: "expires_at"},
			&core.DateField{Name: "lease_until"},
			&core.DateField{Name: "sent_at"},
			&core.NumberField{Name: "last_status", OnlyInt: true},
			&core.TextField{Name: "last_error", Max: 500},
		)
		autodates(c)
		c.AddIndex("idx_push_outbox_due", false, "`state`, `next_at`", "")
		c.AddIndex("idx_push_outbox_subscription", false, "`subscription`, `request`", "")
		c.AddIndex("idx_push_outbox_request", false, "`request`", "")
		c.AddIndex("idx_push_outbox_updated", false, "`state`, `updated`", "")
		if err := app.Save(c); err != nil {
			return fmt.Errorf("create push_outbox: %w", err)
		}
		return nil
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("push_outbox")
		if err != nil {
			return nil
		}
		return app.Delete(c)
	})
}
