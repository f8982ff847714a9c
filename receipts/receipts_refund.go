package receipts

import (
	"fmt"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Refund is what a refund receipt proves (docs/receipts.md §3, claims 5-15
// with claim 9 = 3): the fee, what had been paid on it, and how much of it
// the city has paid back in total, this refund included.
type Refund struct {
	FeeID string
	// Paid is what the fee received (credits and adjustments, claim 5),
	// AmountDue what it asked (claim 14 when it differs), Refunded the total
	// paid back so far (claim 15), all in minor units of Currency.
	Paid, AmountDue, Refunded int64
	Currency                  string
	// Reference is the fee's structured reference (claim 7).
	Reference string
	// Method is the method code the money went back by (claim 10, 0 unknown).
	Method int
	// At is when the refund was recorded (claim 11).
	At time.Time
	// Evidence is the id of the refund's evidence (the bank's reference of
	// the transfer back, a platform's refund id; claim 13 holds its tag).
	Evidence string
}

// IssueRefund signs a refund receipt for the request req and saves it
// through txApp, the transaction that records the refund (so the receipt
// commits or rolls back with it). The receipt's creation queues the
// citizen's push like every receipt's (push/).
func (s *Service) IssueRefund(txApp core.App, req *core.Record, r Refund) (*core.Record, error) {
	if r.Refunded <= 0 || r.Paid < 0 {
		return nil, fmt.Errorf("issue refund receipt for request %s: refunded %d of %d", req.Id, r.Refunded, r.Paid)
	}
	set, key, cti, err := s.start("refund receipt")
	if err != nil {
		return nil, err
	}
	serviceCode, err := s.serviceCode(txApp, req.GetString("service"))
	if err != nil {
		return nil, fmt.Errorf("issue refund receipt: service of request %s: %w", req.Id, err)
	}
	paid, refunded := uint64(r.Paid), uint64(r.Refunded)
	c := &Claims{
		Issuer: key.Issuer, IssuedAt: time.Now().UTC().Truncate(time.Second), CTI: cti, Version: SchemaVersion,
		Number: req.GetString("number"), Service: serviceCode, Status: req.GetString("status"),
		Amount: &paid, Currency: r.Currency, PaymentRef: r.Reference,
		Pay: &PaymentClaims{Kind: PayKindRefund, Method: r.Method, FeeID: r.FeeID, Refunded: &refunded},
	}
	if citizen := req.GetString("citizen"); citizen != "" {
		c.Holder = set.HolderTag(citizen)
	}
	if !r.At.IsZero() {
		c.Pay.PaidAt = r.At.Unix()
	}
	if r.Evidence != "" {
		c.Pay.Evidence = EvidenceTag(r.Evidence)
	}
	if r.AmountDue != r.Paid {
		due := uint64(max(r.AmountDue, 0))
		c.Pay.AmountDue = &due
	}
	return s.insert(txApp, req, c, key, KindRefund)
}
