package migrations

import (
	"slices"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Refund receipts (docs/receipts.md claim 15, docs/payments.md §8): the
// receipts kind `refund` and the timeline's public `refund` event.
func init() {
	m.Register(func(app core.App) error {
		for _, x := range []struct{ collection, field, value string }{
			{"receipts", "kind", "refund"},
			{"request_events", "type", "refund"},
		} {
			c := mustCollection(app, x.collection)
			if f, ok := c.Fields.GetByName(x.field).(*core.SelectField); ok && !slices.Contains(f.Values, x.value) {
				f.Values = append(f.Values, x.value)
				if err := app.Save(c); err != nil {
					return err
				}
			}
		}
		return nil
	}, nil)
}
