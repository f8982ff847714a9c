package workflow

import (
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Payment describes the payment behind an OnPaymentRecorded event: the
// payments room attaches it to the request it saves, so the payment receipt
// carries the ledger's facts (docs/receipts.md keys 9-15) instead of only the
// request's fee and reference.
type Payment struct {
	// FeeID is the fees record id.
	FeeID string
	// Amount is what was paid, AmountDue what the fee asked, in minor units of Currency.
	Amount, AmountDue int64
	Currency          string
	// Reference is the fee's structured reference.
	Reference string
	// Method is the receipt's method code (1 SCT … 9 counter, docs/receipts.md).
	Method int
	// PaidAt is the booking date of the credit (bank) or the provider's time.
	PaidAt time.Time
	// Evidence is the provider's id of the evidence (AcctSvcrRef, receipt id).
	Evidence string
}

// paymentKey is a record key that is not a field name (see actorKey).
const paymentKey = "@civicdesk.payment"

// AttachPayment records the payment the next save of rec records.
func AttachPayment(rec *core.Record, p *Payment) {
	rec.Set(paymentKey, p)
}

// PaymentOf returns the payment attached to rec, or nil.
func PaymentOf(rec *core.Record) *Payment {
	p, _ := rec.GetRaw(paymentKey).(*Payment)
	return p
}
