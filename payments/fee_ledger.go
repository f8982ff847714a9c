package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"civicdesk/city"
	"civicdesk/receipts"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Collection names of this room.
const (
	collFees       = "fees"
	collLedger     = "fee_ledger"
	collStatements = "payment_statements"
	collEntries    = "bank_entries"
	collRequests   = "requests"
	collServices   = "services"
	collEvents     = "request_events"
	collReceipts   = "receipts"
)

// Entry is one ledger row to book.
type Entry struct {
	Kind      string // credit, refund, adjustment
	Amount    int64  // minor units (credits and refunds positive)
	Currency  string
	SourceKey string // unique: booking the same key twice is a no-op
	Source    string // statement, manual, provider, exception
	Method    string // receipts.MethodNames
	Evidence  string // the provider's id (AcctSvcrRef, payment id)
	BookedAt  time.Time
	Note      string
	Actor     workflow.Actor
}

// ledgerWriteKey marks ledger records written by this package: the records
// API and the dashboard cannot create, change or delete ledger rows.
const ledgerWriteKey = "@civicdesk.ledgerWrite"

// Book appends e to fee's ledger and derives the fee's state, in txApp's
// transaction. It reports false (and writes nothing) when e.SourceKey was
// booked before, which makes every importer and webhook idempotent.
func Book(txApp core.App, fee *core.Record, e Entry) (bool, error) {
	if e.Currency != fee.GetString("currency") {
		return false, fmt.Errorf("book %s on fee %s: currency %s, the fee is in %s", e.Kind, fee.Id, e.Currency, fee.GetString("currency"))
	}
	if e.SourceKey == "" {
		return false, errors.New("book: a source key is required")
	}
	var n int
	if err := txApp.DB().NewQuery("SELECT COUNT(*) FROM [[fee_ledger]] WHERE [[source_key]] = {:k}").Bind(dbx.Params{"k": e.SourceKey}).Row(&n); err != nil {
		return false, fmt.Errorf("book: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	col, err := txApp.FindCachedCollectionByNameOrId(collLedger)
	if err != nil {
		return false, fmt.Errorf("book: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Set("fee", fee.Id)
	rec.Set("kind", e.Kind)
	rec.Set("amount", e.Amount)
	rec.Set("currency", e.Currency)
	rec.Set("source_key", e.SourceKey)
	rec.Set("source", e.Source)
	rec.Set("method", e.Method)
	rec.Set("evidence", e.Evidence)
	if !e.BookedAt.IsZero() {
		rec.Set("booked_at", e.BookedAt.UTC())
	} else {
		rec.Set("booked_at", time.Now().UTC())
	}
	rec.Set("note", e.Note)
	rec.Set("actor", e.Actor.ID)
	rec.Set("actor_type", string(e.Actor.Kind))
	rec.Set(ledgerWriteKey, true)
	if err := txApp.Save(rec); err != nil {
		return false, fmt.Errorf("book %s on fee %s: %w", e.Kind, fee.Id, err)
	}
	return true, Recompute(txApp, fee, &e)
}

// sums reads fee's ledger totals.
func sums(txApp core.App, feeID string) (Sums, error) {
	var rows []struct {
		Kind  string `db:"kind"`
		Total int64  `db:"total"`
	}
	err := txApp.DB().NewQuery("SELECT [[kind]], COALESCE(SUM([[amount]]), 0) AS [[total]] FROM [[fee_ledger]] WHERE [[fee]] = {:f} GROUP BY [[kind]]").
		Bind(dbx.Params{"f": feeID}).All(&rows)
	if err != nil {
		return Sums{}, fmt.Errorf("ledger sums of fee %s: %w", feeID, err)
	}
	var s Sums
	for _, r := range rows {
		switch r.Kind {
		case LedgerCredit:
			s.Credits = r.Total
		case LedgerRefund:
			s.Refunds = r.Total
		case LedgerAdjustment:
			s.Adjustments = r.Total
		}
	}
	return s, nil
}

// flagsOf reads a fee's non-money facts.
func flagsOf(fee *core.Record) Flags {
	return Flags{
		Waived:  !fee.GetDateTime("waived_at").IsZero(),
		Expired: !fee.GetDateTime("expired_at").IsZero(),
		Pending: !fee.GetDateTime("pending_since").IsZero(),
	}
}

// Recompute derives fee's state from its ledger and flags and saves it; on
// the way into `paid` it records the payment on the request (whose hooks
// write the public `payment` event and fire OnPaymentRecorded, which issues
// the signed receipt and the push), on the way out of it (a reversal) it
// clears the request's payment and revokes the payment receipt. last is the
// entry that caused the change (nil for flag changes).
func Recompute(txApp core.App, fee *core.Record, last *Entry) error {
	s, err := sums(txApp, fee.Id)
	if err != nil {
		return err
	}
	from := fee.GetString("state")
	to := DeriveState(int64(fee.GetInt("amount")), s, flagsOf(fee))
	if !CanMove(from, to) {
		return fmt.Errorf("fee %s: %s cannot become %s", fee.Id, from, to)
	}
	fee.Set("state", to)
	fee.Set("paid_amount", s.Settled())
	fee.Set("refunded_amount", s.Refunds)
	if to == StatePaid && from != StatePaid {
		at := time.Now().UTC()
		if last != nil && !last.BookedAt.IsZero() {
			at = last.BookedAt.UTC()
		}
		fee.Set("paid_at", at)
	}
	if to != StatePaid && to != StateRefunded {
		fee.Set("paid_at", "")
	}
	if err := saveFee(txApp, fee); err != nil {
		return err
	}
	switch {
	case to == StatePaid && from != StatePaid && from != StateRefunded:
		return markRequestPaid(txApp, fee, s, last)
	case from == StatePaid && to == StateDue:
		return unmarkRequestPaid(txApp, fee)
	}
	return nil
}

// saveFee saves a fee written by this package (the API cannot write fees).
func saveFee(txApp core.App, fee *core.Record) error {
	fee.Set(ledgerWriteKey, true)
	if err := txApp.Save(fee); err != nil {
		return fmt.Errorf("save fee %s: %w", fee.Id, err)
	}
	return nil
}

// markRequestPaid sets the request's paid_at and payment_ref as the system,
// with the ledger's payment attached for the receipt's claims.
func markRequestPaid(txApp core.App, fee *core.Record, s Sums, last *Entry) error {
	req, err := txApp.FindRecordById(collRequests, fee.GetString("request"))
	if err != nil {
		return fmt.Errorf("request of fee %s: %w", fee.Id, err)
	}
	if !req.GetDateTime("paid_at").IsZero() {
		return nil // recorded by hand (manual path): the receipt is issued there
	}
	p := paymentOf(fee, s, last)
	req.Set("paid_at", p.PaidAt)
	req.Set("payment_ref", fee.GetString("reference"))
	workflow.AttachActor(req, workflow.System)
	workflow.AttachPayment(req, p)
	if err := txApp.Save(req); err != nil {
		return fmt.Errorf("record payment on request %s: %w", req.Id, err)
	}
	return nil
}

// paymentOf is the workflow payment of a fee that just became paid.
func paymentOf(fee *core.Record, s Sums, last *Entry) *workflow.Payment {
	p := &workflow.Payment{
		FeeID: fee.Id, Amount: s.Settled(), AmountDue: int64(fee.GetInt("amount")), Currency: fee.GetString("currency"),
		Reference: fee.GetString("reference"), PaidAt: fee.GetDateTime("paid_at").Time(),
	}
	if last != nil {
		p.Method = receipts.MethodCode(last.Method)
		p.Evidence = last.Evidence
	}
	if p.PaidAt.IsZero() {
		p.PaidAt = time.Now().UTC()
	}
	p.PaidAt = p.PaidAt.Truncate(time.Second)
	return p
}

// unmarkRequestPaid undoes a payment that a reversal took back: the request
// is unpaid again and its payment receipts are revoked (with a public reason).
func unmarkRequestPaid(txApp core.App, fee *core.Record) error {
	req, err := txApp.FindRecordById(collRequests, fee.GetString("request"))
	if err != nil {
		return fmt.Errorf("request of fee %s: %w", fee.Id, err)
	}
	req.Set("paid_at", "")
	req.Set("payment_ref", "")
	workflow.AttachActor(req, workflow.System)
	if err := txApp.Save(req); err != nil {
		return fmt.Errorf("clear payment on request %s: %w", req.Id, err)
	}
	recs, err := txApp.FindRecordsByFilter(collReceipts, "request = {:r} && kind = 'payment' && revoked = false", "", 0, 0, dbx.Params{"r": req.Id})
	if err != nil {
		return fmt.Errorf("payment receipts of request %s: %w", req.Id, err)
	}
	for _, rc := range recs {
		rc.Set("revoked", true)
		rc.Set("revoked_reason", "The bank reversed this payment.")
		if err := txApp.Save(rc); err != nil {
			return fmt.Errorf("revoke receipt %s: %w", rc.Id, err)
		}
	}
	return addFeeEvent(txApp, req.Id, workflow.System, "The bank reversed the payment; the fee is due again.", true)
}

// addFeeEvent writes an audited `fee` event on the request's timeline.
func addFeeEvent(txApp core.App, requestID string, actor workflow.Actor, msg string, public bool) error {
	col, err := txApp.FindCachedCollectionByNameOrId(collEvents)
	if err != nil {
		return fmt.Errorf("fee event: %w", err)
	}
	ev := core.NewRecord(col)
	ev.Set("request", requestID)
	ev.Set("type", "fee")
	ev.Set("message", msg)
	ev.Set("public", public)
	ev.Set("author", actor.ID)
	author := string(actor.Kind)
	switch actor.Kind {
	case workflow.ActorCitizen, workflow.ActorStaff, workflow.ActorSuperuser, workflow.ActorOpen311:
	default:
		author = string(workflow.ActorSystem)
	}
	ev.Set("author_type", author)
	workflow.AttachActor(ev, workflow.System) // written by the workflow: any type is allowed
	if err := txApp.Save(ev); err != nil {
		return fmt.Errorf("fee event on request %s: %w", requestID, err)
	}
	return nil
}

// feeOfRequest returns the request's fee, or nil when it has none.
func feeOfRequest(app core.App, requestID string) (*core.Record, error) {
	fee, err := app.FindFirstRecordByData(collFees, "request", requestID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fee of request %s: %w", requestID, err)
	}
	return fee, nil
}

// nextFeeBase allocates the next fee number of the year ("2026000042"), the
// numeric base of every reference scheme, in the caller's transaction.
func nextFeeBase(txApp core.App, now time.Time) (string, error) {
	var n int64
	err := txApp.DB().NewQuery(
		"INSERT INTO [[fee_numbers]] ([[year]], [[last]]) VALUES ({:y}, 1) " +
			"ON CONFLICT([[year]]) DO UPDATE SET [[last]] = [[last]] + 1 RETURNING [[last]]",
	).Bind(dbx.Params{"y": now.Year()}).Row(&n)
	if err != nil {
		return "", fmt.Errorf("allocate fee number: %w", err)
	}
	return fmt.Sprintf("%d%06d", now.Year(), n), nil
}

// CreateFee creates the fee of req (amount in minor units of currency) with
// its reference and payment instruction, in txApp's transaction.
func CreateFee(txApp core.App, req *core.Record, amount int64, currency string, dueDays int, actor workflow.Actor) (*core.Record, error) {
	if _, err := CurrencyExponent(currency); err != nil {
		return nil, err
	}
	if amount <= 0 || amount > MaxMinor {
		return nil, fmt.Errorf("fee amount %d: want 1-%d minor units", amount, int64(MaxMinor))
	}
	cfg := city.Of(txApp)
	rail, err := cfg.Payments.RailFor(currency)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	base, err := nextFeeBase(txApp, now.In(cfg.Location))
	if err != nil {
		return nil, err
	}
	ref, err := CreateReference(rail.Scheme, base)
	if err != nil {
		return nil, err
	}
	if dueDays <= 0 {
		dueDays = cfg.Payments.DueDays
	}
	if dueDays <= 0 {
		dueDays = 30
	}
	// due at the end of the last day, in the city's time zone
	d := now.In(cfg.Location).AddDate(0, 0, dueDays)
	due := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, cfg.Location)
	prov, err := ProviderFor(rail)
	if err != nil {
		return nil, err
	}
	// bank rails build the instruction offline; platform adapters begin
	// outside the transaction (issue 15) and are not reached from here
	if !prov.Caps().OfflineInstruction {
		return nil, fmt.Errorf("payment provider %s needs an attempt outside the transaction", prov.Kind())
	}
	begun, err := prov.Begin(context.Background(), FeeInfo{RequestID: req.Id, Reference: ref, Currency: currency, Amount: amount, DueAt: due, Location: cfg.Location}, Attempt{ID: ref})
	if err != nil {
		return nil, err
	}
	in := begun.Instruction
	col, err := txApp.FindCachedCollectionByNameOrId(collFees)
	if err != nil {
		return nil, fmt.Errorf("create fee: %w", err)
	}
	fee := core.NewRecord(col)
	fee.Set("request", req.Id)
	fee.Set("citizen", req.GetString("citizen"))
	fee.Set("department", req.GetString("department"))
	fee.Set("amount", amount)
	fee.Set("currency", currency)
	fee.Set("reference", in.Reference) // a platform may derive its own (pagoPA: the IUV)
	fee.Set("scheme", rail.Scheme)
	fee.Set("rail", rail.Kind)
	fee.Set("state", StateDue)
	fee.Set("due_at", due.UTC())
	fee.Set("instruction", in)
	if err := saveFee(txApp, fee); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Fee of %s %s, to pay by %s, reference %s.", currency, FormatAmount(amount, currency), due.Format("2006-01-02"), in.ReferencePrinted)
	if err := addFeeEvent(txApp, req.Id, actor, msg, true); err != nil {
		return nil, err
	}
	return fee, nil
}

// bankMethod is the method a bank statement credit in currency stands for.
func bankMethod(currency string) string {
	switch currency {
	case "HUF":
		return "hct"
	case "SEK":
		return "bankgiro"
	case "GBP":
		return "uk_fps"
	}
	return "sct"
}
