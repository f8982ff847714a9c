package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The payment platforms (issue 15, docs/payments.md "Platforms"): attempts at
// paying a fee through pagoPA, GOV.UK Pay or Stripe (at most one live per
// fee), the webhook inbox (one row per verified provider event), and the
// exceptions list opened to platform payments (a second payment of a paid fee
// is listed for a refund next to the bank statement exceptions).
func init() {
	m.Register(func(app core.App) error {
		for _, step := range []func(core.App) error{createPaymentAttempts, createPaymentEvents, openExceptionsToPlatforms} {
			if err := step(app); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, name := range []string{"payment_events", "payment_attempts"} {
			if c, err := app.FindCollectionByNameOrId(name); err == nil {
				if err := app.Delete(c); err != nil {
					return fmt.Errorf("drop %s: %w", name, err)
				}
			}
		}
		c := mustCollection(app, "bank_entries")
		c.Fields.RemoveByName("provider")
		if f, ok := c.Fields.GetByName("statement").(*core.RelationField); ok {
			f.Required = true
		}
		return app.Save(c)
	})
}

func createPaymentAttempts(app core.App) error {
	c := core.NewBaseCollection("payment_attempts")
	view := "(" + ruleCitizen + " && fee.citizen = @request.auth.id) || " + ruleStaffOf("fee.department")
	c.ListRule = &view
	c.ViewRule = &view
	// create/update/delete: nil — attempts are written by payments/ only
	c.Fields.Add(
		&core.RelationField{Name: "fee", Required: true, CollectionId: mustCollection(app, "fees").Id, MaxSelect: 1, CascadeDelete: true},
		&core.TextField{Name: "provider", Required: true, Max: 32},
		&core.SelectField{Name: "state", Required: true, MaxSelect: 1, Values: []string{"created", "redirected", "succeeded", "failed", "cancelled", "expired"}},
		// the opaque per-attempt token of the return URL (never shown in lists)
		&core.TextField{Name: "token", Required: true, Max: 64, Hidden: true},
		// the platform's id of the payment (GOV.UK Pay payment_id, Stripe cs_…, pagoPA IUV)
		&core.TextField{Name: "provider_ref", Max: 100},
		&core.TextField{Name: "provider_status", Max: 40},
		&core.TextField{Name: "failure_code", Max: 40},
		&core.TextField{Name: "next_url", Max: 2000, Hidden: true},
		&core.NumberField{Name: "amount", OnlyInt: true},
		&core.TextField{Name: "currency", Required: true, Pattern: `^[A-Z]{3}$`},
		&core.TextField{Name: "evidence", Max: 140},
		&core.BoolField{Name: "live_mode"},
		&core.DateField{Name: "expires_at"},
		&core.DateField{Name: "finished_at"},
		&core.NumberField{Name: "refunded", OnlyInt: true},
	)
	autodates(c)
	// at most one live attempt per fee, enforced by SQLite whatever the path
	c.AddIndex("idx_payment_attempts_live", true, "`fee`", "`state` IN ('created', 'redirected')")
	c.AddIndex("idx_payment_attempts_token", true, "`token`", "")
	c.AddIndex("idx_payment_attempts_ref", true, "`provider`, `provider_ref`", "`provider_ref` != ''")
	c.AddIndex("idx_payment_attempts_fee", false, "`fee`", "")
	c.AddIndex("idx_payment_attempts_poll", false, "`state`, `created`", "")
	return app.Save(c)
}

func createPaymentEvents(app core.App) error {
	c := core.NewBaseCollection("payment_events")
	sup := ruleSupervisor
	c.ListRule = &sup
	c.ViewRule = &sup
	c.Fields.Add(
		&core.TextField{Name: "provider", Required: true, Max: 32},
		&core.TextField{Name: "event_id", Required: true, Max: 200},
		&core.TextField{Name: "type", Max: 100},
		&core.TextField{Name: "provider_ref", Max: 100},
		// the verified raw body, kept for processing and audit
		&core.TextField{Name: "body", Max: 64 << 10, Hidden: true},
		// stored → processed | parked (with a reason)
		&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"stored", "processed", "parked"}},
		&core.TextField{Name: "reason", Max: 500},
		&core.NumberField{Name: "tries", OnlyInt: true},
		&core.DateField{Name: "processed_at"},
	)
	autodates(c)
	c.AddIndex("idx_payment_events_id", true, "`provider`, `event_id`", "")
	c.AddIndex("idx_payment_events_status", false, "`status`, `created`", "")
	return app.Save(c)
}

// openExceptionsToPlatforms lets an exception line come from a platform
// (no statement; provider names it).
func openExceptionsToPlatforms(app core.App) error {
	c := mustCollection(app, "bank_entries")
	f, ok := c.Fields.GetByName("statement").(*core.RelationField)
	if !ok {
		return fmt.Errorf("bank_entries.statement is not a relation")
	}
	f.Required = false
	c.Fields.Add(&core.TextField{Name: "provider", Max: 32})
	return app.Save(c)
}
