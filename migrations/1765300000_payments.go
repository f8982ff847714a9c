package migrations

import (
	"fmt"

	"civicdesk/changelog"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The payments room's collections (docs/payments.md): fees, their append-only
// ledger, imported statements and their entries (the exceptions list), the
// services' fee policy, and the fee number counter.
func init() {
	m.Register(func(app core.App) error {
		for _, step := range []func(core.App) error{
			addServiceFeePolicy, createFees, createFeeLedger, createPaymentStatements, createBankEntries, addFeeEventType,
		} {
			if err := step(app); err != nil {
				return err
			}
		}
		stmts := []string{
			// the fee number of the year: the numeric base of every reference scheme
			"CREATE TABLE IF NOT EXISTS [[fee_numbers]] ([[year]] INTEGER PRIMARY KEY, [[last]] INTEGER NOT NULL)",
		}
		for _, stmt := range append(stmts, changelog.ChildTriggersSQL("fees")...) {
			if _, err := app.DB().NewQuery(stmt).Execute(); err != nil {
				return fmt.Errorf("payments schema: %w", err)
			}
		}
		return nil
	}, func(app core.App) error {
		for _, name := range []string{"bank_entries", "payment_statements", "fee_ledger", "fees"} {
			if c, err := app.FindCollectionByNameOrId(name); err == nil {
				if err := app.Delete(c); err != nil {
					return fmt.Errorf("drop %s: %w", name, err)
				}
			}
		}
		svc := mustCollection(app, "services")
		for _, f := range []string{"fee_mode", "fee_blocks", "fee_due_days", "fee_on_expiry"} {
			svc.Fields.RemoveByName(f)
		}
		if _, err := app.DB().NewQuery("DROP TABLE IF EXISTS [[fee_numbers]]").Execute(); err != nil {
			return err
		}
		return app.Save(svc)
	})
}

func addServiceFeePolicy(app core.App) error {
	c := mustCollection(app, "services")
	c.Fields.Add(
		// when the fee is due: none, on filing (the service's fee), or assessed by a clerk
		&core.SelectField{Name: "fee_mode", MaxSelect: 1, Values: []string{"none", "on_filing", "assessed"}},
		// processing (in_progress, resolved) waits until the fee is paid or waived
		&core.BoolField{Name: "fee_blocks"},
		// days the citizen has to pay (0: the city's default)
		&core.NumberField{Name: "fee_due_days", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(365.0)},
		// what an expired fee does to its request: cancel it, or keep it open for a clerk
		&core.SelectField{Name: "fee_on_expiry", MaxSelect: 1, Values: []string{"keep_open", "cancel"}},
	)
	return app.Save(c)
}

func createFees(app core.App) error {
	c := core.NewBaseCollection("fees")
	view := "(" + ruleCitizen + " && citizen = @request.auth.id) || " + ruleStaffOf("department")
	c.ListRule = types.Pointer(view)
	c.ViewRule = types.Pointer(view)
	// create/update/delete: nil — only the server writes fees (routes of payments/)
	c.Fields.Add(
		&core.RelationField{Name: "request", Required: true, CollectionId: mustCollection(app, "requests").Id, MaxSelect: 1, CascadeDelete: true},
		&core.RelationField{Name: "citizen", CollectionId: mustCollection(app, "citizens").Id, MaxSelect: 1},
		&core.RelationField{Name: "department", CollectionId: mustCollection(app, "departments").Id, MaxSelect: 1},
		&core.NumberField{Name: "amount", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(1<<32 - 1))},
		&core.TextField{Name: "currency", Required: true, Pattern: `^[A-Z]{3}$`},
		&core.TextField{Name: "reference", Required: true, Max: 25},
		&core.TextField{Name: "scheme", Max: 16},
		&core.TextField{Name: "rail", Max: 32},
		&core.SelectField{Name: "state", Required: true, MaxSelect: 1, Values: []string{"due", "pending", "paid", "refunded", "expired", "waived"}},
		&core.NumberField{Name: "paid_amount", OnlyInt: true},
		&core.NumberField{Name: "refunded_amount", OnlyInt: true},
		&core.DateField{Name: "due_at"},
		&core.DateField{Name: "paid_at"},
		&core.DateField{Name: "pending_since"},
		&core.DateField{Name: "expired_at"},
		&core.DateField{Name: "waived_at"},
		&core.TextField{Name: "waived_reason", Max: 500},
		// the payment instruction the phone shows offline (docs/payments.md "Instruction")
		&core.JSONField{Name: "instruction", MaxSize: 8 << 10},
	)
	autodates(c)
	c.AddIndex("idx_fees_request", true, "`request`", "")
	c.AddIndex("idx_fees_reference", true, "`reference`", "")
	c.AddIndex("idx_fees_citizen", false, "`citizen`", "")
	c.AddIndex("idx_fees_department_state", false, "`department`, `state`", "")
	c.AddIndex("idx_fees_state_due", false, "`state`, `due_at`", "")
	c.AddIndex("idx_fees_amount", false, "`currency`, `amount`, `state`", "")
	return app.Save(c)
}

func createFeeLedger(app core.App) error {
	c := core.NewBaseCollection("fee_ledger")
	view := "(" + ruleCitizen + " && fee.citizen = @request.auth.id) || " + ruleStaffOf("fee.department")
	c.ListRule = types.Pointer(view)
	c.ViewRule = types.Pointer(view)
	c.Fields.Add(
		&core.RelationField{Name: "fee", Required: true, CollectionId: mustCollection(app, "fees").Id, MaxSelect: 1, CascadeDelete: true},
		&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{"credit", "refund", "adjustment"}},
		// minor units; credits and refunds are positive, adjustments signed
		&core.NumberField{Name: "amount", OnlyInt: true},
		&core.TextField{Name: "currency", Required: true, Pattern: `^[A-Z]{3}$`},
		// unique: a statement entry, a webhook event or a staff action is booked once
		&core.TextField{Name: "source_key", Required: true, Max: 200},
		&core.SelectField{Name: "source", MaxSelect: 1, Values: []string{"statement", "manual", "provider", "exception"}},
		&core.TextField{Name: "method", Max: 32},
		&core.TextField{Name: "evidence", Max: 200},
		&core.DateField{Name: "booked_at"},
		&core.TextField{Name: "note", Max: 500},
		&core.TextField{Name: "actor", Max: 32},
		&core.TextField{Name: "actor_type", Max: 16},
		&core.AutodateField{Name: "created", OnCreate: true},
	)
	c.AddIndex("idx_fee_ledger_source_key", true, "`source_key`", "")
	c.AddIndex("idx_fee_ledger_fee", false, "`fee`", "")
	return app.Save(c)
}

func createPaymentStatements(app core.App) error {
	c := core.NewBaseCollection("payment_statements")
	c.ListRule = types.Pointer(ruleSupervisor)
	c.ViewRule = types.Pointer(ruleSupervisor)
	c.Fields.Add(
		&core.TextField{Name: "format", Max: 40},
		&core.TextField{Name: "iban", Max: 34},
		&core.TextField{Name: "statement_id", Max: 140},
		&core.TextField{Name: "msg_id", Max: 140},
		&core.TextField{Name: "sha256", Required: true, Max: 64},
		&core.NumberField{Name: "entries", OnlyInt: true},
		&core.NumberField{Name: "matched", OnlyInt: true},
		&core.NumberField{Name: "exceptions", OnlyInt: true},
		&core.NumberField{Name: "ignored", OnlyInt: true},
		&core.TextField{Name: "imported_by", Max: 32},
		&core.TextField{Name: "file_name", Max: 200},
	)
	autodates(c)
	c.AddIndex("idx_payment_statements_sha256", true, "`sha256`", "")
	c.AddIndex("idx_payment_statements_id", true, "`iban`, `statement_id`", "`statement_id` != ''")
	return app.Save(c)
}

func createBankEntries(app core.App) error {
	c := core.NewBaseCollection("bank_entries")
	c.ListRule = types.Pointer(ruleSupervisor)
	c.ViewRule = types.Pointer(ruleSupervisor)
	c.Fields.Add(
		&core.RelationField{Name: "statement", Required: true, CollectionId: mustCollection(app, "payment_statements").Id, MaxSelect: 1},
		&core.TextField{Name: "entry_key", Required: true, Max: 200},
		&core.TextField{Name: "iban", Max: 34},
		&core.TextField{Name: "acct_svcr_ref", Max: 140},
		&core.NumberField{Name: "amount", OnlyInt: true},
		&core.TextField{Name: "currency", Max: 3},
		&core.SelectField{Name: "direction", MaxSelect: 1, Values: []string{"CRDT", "DBIT"}},
		&core.BoolField{Name: "reversal"},
		&core.TextField{Name: "status", Max: 8},
		&core.DateField{Name: "booked_at"},
		&core.TextField{Name: "reference", Max: 140},
		&core.TextField{Name: "remittance", Max: 500},
		// payer data: personal, needed for refunds; kept with the statement
		&core.TextField{Name: "debtor_name", Max: 140},
		&core.TextField{Name: "debtor_iban", Max: 34},
		&core.RelationField{Name: "fee", CollectionId: mustCollection(app, "fees").Id, MaxSelect: 1},
		// outcome of matching: matched, pending, ignored, exception
		&core.SelectField{Name: "outcome", MaxSelect: 1, Values: []string{"matched", "pending", "ignored", "exception", "reversal"}},
		&core.SelectField{Name: "exception", MaxSelect: 1, Values: []string{"partial", "over", "duplicate", "unknown_reference", "after_expiry", "not_open", "reversal_unmatched", "currency"}},
		&core.SelectField{Name: "resolution", MaxSelect: 1, Values: []string{"matched", "refund", "accepted"}},
		&core.TextField{Name: "resolution_note", Max: 500},
		&core.TextField{Name: "resolved_by", Max: 32},
		&core.DateField{Name: "resolved_at"},
	)
	autodates(c)
	c.AddIndex("idx_bank_entries_key", true, "`entry_key`", "")
	c.AddIndex("idx_bank_entries_statement", false, "`statement`", "")
	c.AddIndex("idx_bank_entries_open", false, "`exception`, `resolution`", "")
	return app.Save(c)
}

// addFeeEventType lets the timeline carry fee events (assessed, waived,
// refunded, expired): audited rows written by payments/.
func addFeeEventType(app core.App) error {
	c := mustCollection(app, "request_events")
	f, ok := c.Fields.GetByName("type").(*core.SelectField)
	if !ok {
		return fmt.Errorf("request_events.type is not a select field")
	}
	f.Values = append(f.Values, "fee")
	return app.Save(c)
}
