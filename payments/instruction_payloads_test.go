package payments

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEPCPayloadVector is the example of research §1.1 (77 bytes).
func TestEPCPayloadVector(t *testing.T) {
	got, err := EPCPayload(EPC{Name: "Tartu Linnavalitsus", IBAN: "EE382200221020145685", Amount: 2500, Reference: "RF882026004217"})
	if err != nil {
		t.Fatal(err)
	}
	want := "BCD\n002\n1\nSCT\n\nTartu Linnavalitsus\nEE382200221020145685\nEUR25\n\nRF882026004217"
	if got != want || len(got) != 77 {
		t.Fatalf("EPC payload\n%q (%d bytes)\nwant\n%q", got, len(got), want)
	}
}

func TestEPCPayloadRules(t *testing.T) {
	base := EPC{Name: "Tartu Linnavalitsus", IBAN: "EE382200221020145685", Amount: 2550, Reference: "RF882026004217"}
	bad := map[string]func(p *EPC){
		"wrong IBAN":        func(p *EPC) { p.IBAN = "EE382200221020145686" },
		"bad RF":            func(p *EPC) { p.Reference = "RF892026004217" },
		"ref and text":      func(p *EPC) { p.Text = "fee" },
		"no name":           func(p *EPC) { p.Name = "" },
		"long name":         func(p *EPC) { p.Name = strings.Repeat("n", 71) },
		"newline in name":   func(p *EPC) { p.Name = "a\nb" },
		"BIC of 9":          func(p *EPC) { p.BIC = "ABCDEFGHI" },
		"amount too big":    func(p *EPC) { p.Amount = 100000000000 },
		"negative amount":   func(p *EPC) { p.Amount = -1 },
		"purpose of 3":      func(p *EPC) { p.Purpose = "GOV" },
		"text of 141 chars": func(p *EPC) { p.Reference = ""; p.Text = strings.Repeat("t", 141) },
	}
	for name, mutate := range bad {
		p := base
		mutate(&p)
		if _, err := EPCPayload(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := base
	p.BIC = "HABAEE2X"
	got, err := EPCPayload(p)
	if err != nil || !strings.Contains(got, "\nHABAEE2X\n") || !strings.Contains(got, "\nEUR25.5\n") {
		t.Fatalf("%q, %v", got, err)
	}
}

// TestSwishPayloadVector is the example of the Swish QR specification.
func TestSwishPayloadVector(t *testing.T) {
	got, err := SwishPayload(Swish{Payee: "1237856901", Amount: 10000, Message: "12229445"})
	if err != nil || got != "C1237856901;100,00;12229445;0" {
		t.Fatalf("%q, %v", got, err)
	}
	got, _ = SwishPayload(Swish{Payee: "1237856901", Amount: 5, Message: "a b&c"})
	if got != "C1237856901;0,05;a+b%26c;0" {
		t.Fatalf("%q", got)
	}
	for _, p := range []Swish{{Payee: "12a", Amount: 1}, {Payee: "1237856901", Amount: 0}, {Payee: "1237856901", Amount: 1, Message: strings.Repeat("m", 51)}} {
		if _, err := SwishPayload(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestHCTPayload(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	got, err := HCTPayload(HCT{
		BIC: "OTPVHUHB", Name: "Nyíregyháza Megyei Jogú Város", IBAN: "HU42117730161111101800000000",
		Amount: 500000, ValidUntil: time.Date(2026, 12, 31, 23, 59, 59, 0, loc), Message: "CD2026004217",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "HCT\n001\n1\nOTPVHUHBXXX\nNyíregyháza Megyei Jogú Város\nHU42117730161111101800000000\nHUF5000\n20261231235959+1\n\nCD2026004217\n\n\n\n\n\n\n\n"
	if got != want {
		t.Fatalf("HCT\n%q\nwant\n%q", got, want)
	}
	if n := strings.Count(got, "\n"); n != 17 {
		t.Fatalf("%d lines, want 17 LF-terminated", n)
	}
	for name, p := range map[string]HCT{
		"fillér":     {BIC: "OTPVHUHB", Name: "x", IBAN: "HU42117730161111101800000000", Amount: 150, ValidUntil: time.Now()},
		"not HU":     {BIC: "OTPVHUHB", Name: "x", IBAN: "EE382200221020145685", ValidUntil: time.Now()},
		"no expiry":  {BIC: "OTPVHUHB", Name: "x", IBAN: "HU42117730161111101800000000"},
		"bic length": {BIC: "OTPV", Name: "x", IBAN: "HU42117730161111101800000000", ValidUntil: time.Now()},
	} {
		if _, err := HCTPayload(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestUKBankText(t *testing.T) {
	got, err := UKBankText(UKBank{Name: "Birmingham City Council", SortCode: "40-11-60", AccountNumber: "12345678", Amount: 4250, Reference: "CD2026004217"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Payee: Birmingham City Council\nSort code: 40-11-60\nAccount number: 12345678\nAmount: GBP 42.50\nReference: CD2026004217"
	if got != want {
		t.Fatalf("%q", got)
	}
	if _, err := UKBankText(UKBank{Name: "x", SortCode: "4011", AccountNumber: "12345678", Amount: 1, Reference: "r"}); err == nil {
		t.Fatal("short sort code accepted")
	}
}

// TestQRDecodesToPayload renders every kind of payment code and reads it back
// with an independent decoder (zbar), byte for byte.
func TestQRDecodesToPayload(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("zbarimg not installed (scripts/install-test-deps.sh installs zbar-tools)")
		}
		t.Fatal("zbarimg is required in CI: ", err)
	}
	epc, _ := EPCPayload(EPC{Name: "Tartu Linnavalitsus", IBAN: "EE382200221020145685", Amount: 2500, Reference: "RF882026004217"})
	epcLong, _ := EPCPayload(EPC{BIC: "HABAEE2XXXX", Name: strings.Repeat("N", 70), IBAN: "EE382200221020145685", Amount: 99999999999, Purpose: "GOVT", Text: strings.Repeat("T", 140), Info: strings.Repeat("I", 40)})
	hct, _ := HCTPayload(HCT{BIC: "OTPVHUHB", Name: "Nyíregyháza Megyei Jogú Város", IBAN: "HU42117730161111101800000000", Amount: 500000, ValidUntil: time.Date(2026, 12, 31, 23, 59, 59, 0, time.FixedZone("", 3600)), Message: "CD2026004217"})
	swish, _ := SwishPayload(Swish{Payee: "1237856901", Amount: 10000, Message: "202600421723"})
	uk, _ := UKBankText(UKBank{Name: "Birmingham City Council", SortCode: "401160", AccountNumber: "12345678", Amount: 4250, Reference: "CD2026004217"})
	for i, payload := range []string{epc, epcLong, hct, swish, uk} {
		if payload == "" {
			t.Fatalf("payload %d empty", i)
		}
		v, err := QRPayloadVersion(payload)
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		png, err := QRPNG(payload, 512)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(f, png, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"-q", "--raw"}
		if !isASCII(payload) {
			// without an ECI segment zbar guesses the charset of byte mode (it
			// took UTF-8 for Big5): -Sbinary gives the bytes as encoded
			args = append(args, "-Sbinary")
		}
		out, err := exec.Command(zbar, append(args, f)...).Output()
		if err != nil {
			t.Fatalf("payload %d (version %d): zbarimg: %v", i, v, err)
		}
		got := string(out)
		if len(args) == 2 {
			got = strings.TrimSuffix(got, "\n") // zbarimg's own newline (none with -Sbinary)
		}
		if got != payload {
			t.Fatalf("payload %d: zbarimg read\n%q\nwant\n%q", i, got, payload)
		}
		t.Logf("payload %d: %d bytes, version %d-M", i, len(payload), v)
	}
	if _, err := EPCPayload(EPC{BIC: "HABAEE2XXXX", Name: strings.Repeat("N", 70), IBAN: "EE382200221020145685", Amount: 1, Purpose: "GOVT", Text: strings.Repeat("T", 140), Info: strings.Repeat("I", 70)}); err == nil {
		t.Fatal("an EPC payload over 331 bytes was accepted")
	}
	if _, err := QRPayloadVersion(strings.Repeat("x", 400)); err == nil {
		t.Fatal("a 400-byte payload fits version 13-M?")
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
