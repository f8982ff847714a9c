package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Staff web push (issue 9, docs/staff-api.md §6): a push subscription belongs
// to a citizen or to a staff member (exactly one; push/ checks it), and the
// outbox carries staff notifications as kind "staff".
func init() {
	m.Register(func(app core.App) error {
		subs := mustCollection(app, "push_subscriptions")
		if f, ok := subs.Fields.GetByName("citizen").(*core.RelationField); ok {
			f.Required = false
		}
		if subs.Fields.GetByName("staff") == nil {
			subs.Fields.Add(&core.RelationField{Name: "staff", CollectionId: mustCollection(app, "staff").Id, MaxSelect: 1, CascadeDelete: true})
		}
		subs.AddIndex("idx_push_subscriptions_staff", false, "`staff`", "`staff` != ''")
		if err := app.Save(subs); err != nil {
			return fmt.Errorf("push_subscriptions staff: %w", err)
		}
		outbox := mustCollection(app, "push_outbox")
		if f, ok := outbox.Fields.GetByName("kind").(*core.SelectField); ok {
			f.Values = append(f.Values, "staff")
		}
		if err := app.Save(outbox); err != nil {
			return fmt.Errorf("push_outbox staff kind: %w", err)
		}
		return nil
	}, nil)
}
