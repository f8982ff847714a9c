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
	return (&booker{tx: txApp}).book(fee, e)
}

// booker books ledger rows and derives fee states in one transaction. Its
// zero form saves through app.Save, as the single-fee paths do (routes,
// providers, manual payments, expiry). A statement import (newFastBooker)
// writes the ledger rows and fees as raw rows with prepared statements and
// queues the request's payment marks as notices, applied in batches after
// the commit (fee_notices.go), so that its memory does not grow with the
// number of lines.
type booker struct {
	tx           core.App
	ledger, fees *rowWriter // nil: app.Save
	notices      *noticeQueue
	sumQ, keyQ   *dbx.Query
	// citizens whose fees changed as raw rows: poked after the commit
	citizens map[string]struct{}
}

const (
	sumsSQL      = "SELECT [[kind]], COALESCE(SUM([[amount]]), 0) AS [[total]] FROM [[fee_ledger]] WHERE [[fee]] = {:f} GROUP BY [[kind]]"
	sourceKeySQL = "SELECT COUNT(*) FROM [[fee_ledger]] WHERE [[source_key]] = {:k}"
)

// newFastBooker prepares the statements of a raw-row booker in tx.
func newFastBooker(tx core.App) (*booker, error) {
	b := &booker{tx: tx, citizens: map[string]struct{}{}}
	var err error
	if b.ledger, err = newRowWriter(tx, collLedger); err != nil {
		return nil, err
	}
	if b.fees, err = newRowWriter(tx, collFees); err != nil {
		b.close()
		return nil, err
	}
	if b.notices, err = newNoticeQueue(tx); err != nil {
		b.close()
		return nil, err
	}
	b.sumQ = tx.DB().NewQuery(sumsSQL).Prepare()
	b.keyQ = tx.DB().NewQuery(sourceKeySQL).Prepare()
	if err := firstErr(b.sumQ.LastError, b.keyQ.LastError); err != nil {
		b.close()
		return nil, fmt.Errorf("book: prepare: %w", err)
	}
	return b, nil
}

func (b *booker) close() {
	for _, w := range []*rowWriter{b.ledger, b.fees} {
		if w != nil {
			w.close()
		}
	}
	for _, q := range []*dbx.Query{b.sumQ, b.keyQ} {
		if q != nil {
			q.Close()
		}
	}
	if b.notices != nil {
		b.notices.close()
	}
}

func (b *booker) query(prepared *dbx.Query, sql string) *dbx.Query {
	if prepared != nil {
		return prepared
	}
	return b.tx.DB().NewQuery(sql)
}

func (b *booker) book(fee *core.Record, e Entry) (bool, error) {
	if e.Currency != fee.GetString("currency") {
		return false, fmt.Errorf("book %s on fee %s: currency %s, the fee is in %s", e.Kind, fee.Id, e.Currency, fee.GetString("currency"))
	}
	if e.SourceKey == "" {
		return false, errors.New("book: a source key is required")
	}
	var n int
	if err := b.query(b.keyQ, sourceKeySQL).Bind(dbx.Params{"k": e.SourceKey}).Row(&n); err != nil {
		return false, fmt.Errorf("book: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	col, err := b.tx.FindCachedCollectionByNameOrId(collLedger)
	if err != nil {
		return false, fmt.Errorf("book: %w", err)
	}
	rec := ledgerRecord(col, fee, e)
	if b.ledger != nil {
		err = b.ledger.create(rec)
	} else {
		rec.Set(ledgerWriteKey, true)
		err = b.tx.Save(rec)
	}
	if err != nil {
		return false, fmt.Errorf("book %s on fee %s: %w", e.Kind, fee.Id, err)
	}
	if err := b.recompute(fee, &e); err != nil {
		return false, err
	}
	if e.Kind == LedgerRefund {
		// every path that records a refund (the route, a platform's refund)
		if err := issueRefund(b.tx, fee, e); err != nil {
			return false, err
		}
	}
	return true, nil
}

// issueRefund writes what a recorded refund owes the citizen, in its
// transaction: a signed refund receipt (claims 9 = 3 and 15, whose creation
// queues the push), and a public `refund` event on the request's timeline.
func issueRefund(txApp core.App, fee *core.Record, e Entry) error {
	req, err := txApp.FindRecordById(collRequests, fee.GetString("request"))
	if err != nil {
		return fmt.Errorf("refund receipt: request of fee %s: %w", fee.Id, err)
	}
	s, err := sums(txApp, fee.Id)
	if err != nil {
		return err
	}
	at := e.BookedAt
	if at.IsZero() {
		at = time.Now()
	}
	evidence := e.Evidence
	if evidence == "" {
		evidence = e.SourceKey
	}
	cur := fee.GetString("currency")
	_, err = receipts.Of(txApp).IssueRefund(txApp, req, receipts.Refund{
		FeeID: fee.Id, Paid: s.Credits + s.Adjustments, AmountDue: int64(fee.GetInt("amount")), Refunded: s.Refunds,
		Currency: cur, Reference: fee.GetString("reference"), Method: receipts.MethodCode(e.Method), At: at.UTC().Truncate(time.Second),
		Evidence: evidence,
	})
	if err != nil {
		return err
	}
	return addEvent(txApp, req.Id, "refund", workflow.System, fmt.Sprintf("Refund of %s %s recorded.", cur, FormatAmount(e.Amount, cur)), true)
}

// ledgerRecord is the new fee_ledger record of e.
func ledgerRecord(col *core.Collection, fee *core.Record, e Entry) *core.Record {
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
	return rec
}

// sums reads fee's ledger totals.
func sums(txApp core.App, feeID string) (Sums, error) {
	return (&booker{tx: txApp}).sums(feeID)
}

func (b *booker) sums(feeID string) (Sums, error) {
	var rows []struct {
		Kind  string `db:"kind"`
		Total int64  `db:"total"`
	}
	if err := b.query(b.sumQ, sumsSQL).Bind(dbx.Params{"f": feeID}).All(&rows); err != nil {
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
	return (&booker{tx: txApp}).recompute(fee, last)
}

func (b *booker) recompute(fee *core.Record, last *Entry) error {
	s, err := b.sums(fee.Id)
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
	if b.fees != nil {
		if err := b.fees.save(fee); err != nil {
			return err
		}
		b.citizens[fee.GetString("citizen")] = struct{}{}
	} else if err := saveFee(b.tx, fee); err != nil {
		return err
	}
	switch {
	case to == StatePaid && from != StatePaid && from != StateRefunded:
		p := paymentOf(fee, s, last)
		if b.notices != nil {
			return b.notices.add(fee, noticePaid, p)
		}
		return markRequestPaid(b.tx, fee, p)
	case from == StatePaid && to == StateDue:
		if b.notices != nil {
			return b.notices.add(fee, noticeUnpaid, nil)
		}
		return unmarkRequestPaid(b.tx, fee)
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
// with the ledger's payment p attached for the receipt's claims.
func markRequestPaid(txApp core.App, fee *core.Record, p *workflow.Payment) error {
	req, err := txApp.FindRecordById(collRequests, fee.GetString("request"))
	if err != nil {
		return fmt.Errorf("request of fee %s: %w", fee.Id, err)
	}
	if !req.GetDateTime("paid_at").IsZero() {
		return nil // recorded by hand (manual path): the receipt is issued there
	}
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
	return addEvent(txApp, requestID, "fee", actor, msg, public)
}

// addEvent writes an event of type typ (fee, refund) on the request's timeline.
func addEvent(txApp core.App, requestID, typ string, actor workflow.Actor, msg string, public bool) error {
	col, err := txApp.FindCachedCollectionByNameOrId(collEvents)
	if err != nil {
		return fmt.Errorf("fee event: %w", err)
	}
	ev := core.NewRecord(col)
	ev.Set("request", requestID)
	ev.Set("type", typ)
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
		return fmt.Errorf("%s event on request %s: %w", typ, requestID, err)
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
