package receipts

import (
	"crypto/sha256"

	"civicdesk/workflow"
)

// MethodNames are the payment methods of claim 10, in code order (1 = sct).
var MethodNames = []string{"sct", "sct_inst", "hct", "swish", "bankgiro", "uk_fps", "card", "pagopa", "counter"}

// MethodCode returns the claim 10 code of a method name, 0 when unknown.
func MethodCode(name string) int {
	for i, n := range MethodNames {
		if n == name {
			return i + 1
		}
	}
	return 0
}

// EvidenceTag is claim 13: the first 8 bytes of SHA-256 of the provider's
// evidence id. It proves which statement entry paid without revealing it.
func EvidenceTag(evidence string) []byte {
	sum := sha256.Sum256([]byte(evidence))
	return sum[:EvidenceSize]
}

// applyPayment fills a payment receipt's claims from the ledger's payment.
func applyPayment(c *Claims, p *workflow.Payment) {
	amount := uint64(max(p.Amount, 0))
	c.Amount = &amount
	c.Currency = p.Currency
	c.PaymentRef = p.Reference
	pc := &PaymentClaims{Kind: PayKindPayment, Method: p.Method, FeeID: p.FeeID}
	if !p.PaidAt.IsZero() {
		pc.PaidAt = p.PaidAt.Unix()
	}
	if p.Evidence != "" {
		pc.Evidence = EvidenceTag(p.Evidence)
	}
	if p.AmountDue != p.Amount {
		due := uint64(max(p.AmountDue, 0))
		pc.AmountDue = &due
	}
	c.Pay = pc
}
