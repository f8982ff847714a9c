package receipts_test

import (
	"bytes"
	"reflect"
	"testing"

	"civicdesk/receipts"
)

// TestPaymentClaimsRoundTrip pins the extension claims 9-14: they survive
// encoding, are refused without an amount, and are checked for range.
func TestPaymentClaimsRoundTrip(t *testing.T) {
	c := worstLedgerPayment()
	b, err := c.MarshalPayload()
	if err != nil {
		t.Fatal(err)
	}
	got, err := receipts.UnmarshalPayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Pay, c.Pay) {
		t.Fatalf("payment claims %+v, want %+v", got.Pay, c.Pay)
	}
	// keys 9..14 in the CBOR, in deterministic order after 8
	for _, key := range []byte{0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e} {
		if !bytes.Contains(b, []byte{key}) {
			t.Fatalf("key %d missing", key)
		}
	}

	bad := map[string]func(c *receipts.Claims){
		"no amount":     func(c *receipts.Claims) { c.Amount, c.Currency, c.PaymentRef = nil, "", "" },
		"kind 1":        func(c *receipts.Claims) { c.Pay.Kind = receipts.PayKindRequest },
		"method 10":     func(c *receipts.Claims) { c.Pay.Method = 10 },
		"long fee id":   func(c *receipts.Claims) { c.Pay.FeeID = "0123456789abcdef" },
		"evidence of 4": func(c *receipts.Claims) { c.Pay.Evidence = []byte{1, 2, 3, 4} },
	}
	for name, mutate := range bad {
		c := worstLedgerPayment()
		mutate(c)
		if _, err := c.MarshalPayload(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if receipts.MethodCode("swish") != 4 || receipts.MethodCode("nope") != 0 || len(receipts.EvidenceTag("x")) != receipts.EvidenceSize {
		t.Fatal("method codes or evidence tag")
	}
}
