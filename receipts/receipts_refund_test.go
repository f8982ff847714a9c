package receipts_test

import (
	"strings"
	"testing"

	"civicdesk/receipts"
)

// worstRefund is a refund receipt with every field at its cap.
func worstRefund() *receipts.Claims {
	c := worstLedgerPayment()
	c.Pay.Kind = receipts.PayKindRefund
	c.Pay.Refunded = u64(receipts.MaxAmount)
	return c
}

// A refund receipt at the caps still fits a version 13 QR code (at level M,
// like ledger payment receipts: docs/receipts.md "Size budget").
func TestRefundSizeBudget(t *testing.T) {
	c := worstRefund()
	ks, err := receipts.OpenKeyStore(t.TempDir(), c.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	code, err := receipts.Sign(c, current(t, ks).Active())
	if err != nil {
		t.Fatal(err)
	}
	n := len(code) - len(receipts.Prefix)
	v, err := receipts.QRVersion(code)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refund at the caps: %d Base45 characters, QR version %d", n, v)
	if n > 430 || v > 13 {
		t.Fatalf("%d characters (max 430), version %d (max 13)", n, v)
	}
}

// Claim 15 round-trips, makes the kind `refund`, and belongs to refund
// receipts only.
func TestRefundClaims(t *testing.T) {
	ks, err := receipts.OpenKeyStore(t.TempDir(), "IT-GE")
	if err != nil {
		t.Fatal(err)
	}
	set := current(t, ks)
	c := worstRefund()
	c.Issuer = "IT-GE"
	code, err := receipts.Sign(c, set.Active())
	if err != nil {
		t.Fatal(err)
	}
	v, verr := set.Verify(code)
	if verr != nil {
		t.Fatal(verr)
	}
	if v.Claims.Kind() != receipts.KindRefund || v.Claims.Pay.Refunded == nil || *v.Claims.Pay.Refunded != receipts.MaxAmount {
		t.Fatalf("decoded %+v", v.Claims.Pay)
	}
	for name, bad := range map[string]func(*receipts.Claims){
		"refund without claim 15":   func(c *receipts.Claims) { c.Pay.Refunded = nil },
		"claim 15 on a payment":     func(c *receipts.Claims) { c.Pay.Kind = receipts.PayKindPayment },
		"nothing refunded":          func(c *receipts.Claims) { c.Pay.Refunded = u64(0) },
		"refunded over the maximum": func(c *receipts.Claims) { c.Pay.Refunded = u64(receipts.MaxAmount + 1) },
	} {
		c := worstRefund()
		bad(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "refunded") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
