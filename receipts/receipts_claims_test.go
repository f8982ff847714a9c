package receipts_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"civicdesk/receipts"
)

func u64(v uint64) *uint64 { return &v }

func fixedClaims() *receipts.Claims {
	return &receipts.Claims{
		Issuer:   "IT-GE",
		IssuedAt: time.Unix(1764064811, 0),
		CTI:      []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		Version:  1,
		Number:   "2026-000042",
		Service:  "pothole",
		Status:   "received",
		Holder:   []byte{1, 2, 3, 4, 5, 6, 7, 8},
	}
}

// hexJoin builds a golden byte string from annotated hex pieces.
func hexJoin(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(strings.Join(parts, ""), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClaimsGoldenPayload(t *testing.T) {
	payment := fixedClaims()
	payment.Status = "waiting_citizen"
	payment.Amount = u64(52)
	payment.Currency = "EUR"
	payment.PaymentRef = "PAY-1"

	scenarios := []struct {
		name   string
		claims *receipts.Claims
		golden []byte
	}{
		{"received", fixedClaims(), hexJoin(t,
			"a4",                                     // map(4)
			"01 65 49542d4745",                       // 1 iss: "IT-GE"
			"06 1a 69257e2b",                         // 6 iat: 1764064811
			"07 50 000102030405060708090a0b0c0d0e0f", // 7 cti: 16 bytes
			"3a 00010000",                            // -65537:
			"a5",                                     //   map(5)
			"01 01",                                  //   1 version: 1
			"02 6b 323032362d303030303432",           //   2 number: "2026-000042"
			"03 67 706f74686f6c65",                   //   3 service: "pothole"
			"04 68 7265636569766564",                 //   4 status: "received"
			"08 48 0102030405060708",                 //   8 holder tag
		)},
		{"payment", payment, hexJoin(t,
			"a4",
			"01 65 49542d4745",
			"06 1a 69257e2b",
			"07 50 000102030405060708090a0b0c0d0e0f",
			"3a 00010000",
			"a8",                                   //   map(8)
			"01 01",                                //   1 version
			"02 6b 323032362d303030303432",         //   2 number
			"03 67 706f74686f6c65",                 //   3 service
			"04 6f 77616974696e675f636974697a656e", //   4 status: "waiting_citizen"
			"05 18 34",                             //   5 amount: 52
			"06 63 455552",                         //   6 currency: "EUR"
			"07 65 5041592d31",                     //   7 payment ref: "PAY-1"
			"08 48 0102030405060708",               //   8 holder
		)},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			got, err := s.claims.MarshalPayload()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, s.golden) {
				t.Fatalf("payload\n got %x\nwant %x", got, s.golden)
			}
			back, err := receipts.UnmarshalPayload(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := back.MarshalPayload()
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("decode/encode round trip: %x, %v", again, err)
			}
			if back.Kind() != map[string]string{"received": "received", "payment": "payment"}[s.name] {
				t.Fatalf("kind %q", back.Kind())
			}
		})
	}
}

func TestClaimsNoHolder(t *testing.T) {
	c := fixedClaims()
	c.Holder = nil // Open311 requests have no citizen
	b, err := c.MarshalPayload()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte{0x08, 0x48}) {
		t.Fatalf("holder claim present: %x", b)
	}
	back, err := receipts.UnmarshalPayload(b)
	if err != nil || back.Holder != nil {
		t.Fatalf("decode: %+v, %v", back, err)
	}
}

func TestClaimsValidate(t *testing.T) {
	scenarios := []struct {
		name   string
		mutate func(c *receipts.Claims)
	}{
		{"lowercase issuer", func(c *receipts.Claims) { c.Issuer = "it-ge" }},
		{"long issuer", func(c *receipts.Claims) { c.Issuer = "IT-GENOVA1" }},
		{"empty number", func(c *receipts.Claims) { c.Number = "" }},
		{"long service", func(c *receipts.Claims) { c.Service = strings.Repeat("s", receipts.MaxServiceLen+1) }},
		{"short cti", func(c *receipts.Claims) { c.CTI = c.CTI[:8] }},
		{"version 2", func(c *receipts.Claims) { c.Version = 2 }},
		{"holder 4 bytes", func(c *receipts.Claims) { c.Holder = []byte{1, 2, 3, 4} }},
		{"currency without amount", func(c *receipts.Claims) { c.Currency = "EUR" }},
		{"amount without currency", func(c *receipts.Claims) { c.Amount = u64(1) }},
		{"amount over cap", func(c *receipts.Claims) { c.Amount = u64(receipts.MaxAmount + 1); c.Currency = "EUR" }},
		{"long payment ref", func(c *receipts.Claims) {
			c.Amount, c.Currency, c.PaymentRef = u64(1), "EUR", strings.Repeat("9", receipts.MaxPaymentRefLen+1)
		}},
		{"zero iat", func(c *receipts.Claims) { c.IssuedAt = time.Unix(0, 0) }},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			c := fixedClaims()
			s.mutate(c)
			if _, err := c.MarshalPayload(); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestUnmarshalPayloadRejects(t *testing.T) {
	good, err := fixedClaims().MarshalPayload()
	if err != nil {
		t.Fatal(err)
	}
	scenarios := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-3]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"array instead of map", hexJoin(t, "83 01 02 03")},
		{"unknown claim", hexJoin(t, "a5 01 65 49542d4745 06 1a 69257e2b 07 50 000102030405060708090a0b0c0d0e0f 3a 00010000 a4 01 01 02 61 31 03 61 73 04 61 72 18 63 00")},
		{"duplicate key", hexJoin(t, "a2 01 61 41 01 61 42")},
		{"indefinite map", hexJoin(t, "bf 01 61 41 ff")},
		{"tagged iat", hexJoin(t, "a1 06 c1 1a 69257e2b")},
		{"deep nesting", bytes.Repeat([]byte{0x81}, 10000)},
		{"huge bstr length", hexJoin(t, "a1 07 5b ffffffffffffffff")},
		{"huge map length", hexJoin(t, "bb ffffffffffffffff")},
		{"missing receipt claim", hexJoin(t, "a3 01 65 49542d4745 06 1a 69257e2b 07 50 000102030405060708090a0b0c0d0e0f")},
		{"invalid utf-8", hexJoin(t, "a1 01 62 c328")},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if c, err := receipts.UnmarshalPayload(s.data); err == nil {
				t.Fatalf("accepted %+v", c)
			}
		})
	}
}
