package payments

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// bigMod97 is mod 97 through math/big: the textbook form to compare against.
func bigMod97(s string) int {
	var digits strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			fmt.Fprintf(&digits, "%d", int(r-'A')+10)
		} else {
			digits.WriteRune(r)
		}
	}
	n, _ := new(big.Int).SetString(digits.String(), 10)
	return int(new(big.Int).Mod(n, big.NewInt(97)).Int64())
}

func TestMod97MatchesBigInt(t *testing.T) {
	for _, s := range []string{"2348231RF00", "539007547034RF18", "ABCXYZ0123456789ZZZZ", "9", "EE382200221020145685"} {
		got, err := mod97(s)
		if err != nil || got != bigMod97(s) {
			t.Fatalf("mod97(%q) = %d, %v; want %d", s, got, err, bigMod97(s))
		}
	}
}

// TestRFVectors uses the published ISO 11649 vectors (research §1.2).
func TestRFVectors(t *testing.T) {
	got, err := RFCreate("2348231")
	if err != nil || got != "RF712348231" {
		t.Fatalf("RFCreate(2348231) = %q, %v; want RF712348231 (ISO 11649 Annex B)", got, err)
	}
	got, err = RFCreate("2026004217")
	if err != nil || got != "RF882026004217" {
		t.Fatalf("RFCreate(2026004217) = %q, %v; want RF882026004217 (research §1.1 example)", got, err)
	}
	cases := []struct {
		in, want string
		bad      bool
	}{
		{in: "RF18 5390 0754 7034", want: "RF18539007547034"},
		{in: "rf18539007547034", want: "RF18539007547034"},
		{in: "RF712348231", want: "RF712348231"},
		{in: "RF17 5390 0754 7034", bad: true},
		{in: "RF18 5390 0754 7035", bad: true},
		{in: "RF1", bad: true},
		{in: "XX18539007547034", bad: true},
		{in: "RF18-5390", bad: true},
		{in: "RF" + strings.Repeat("1", 24), bad: true},
	}
	for _, c := range cases {
		got, err := RFValidate(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("RFValidate(%q) accepted", c.in)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("RFValidate(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := RFValidate("RF17539007547034"); !errors.Is(err, ErrBadCheckDigit) {
		t.Fatalf("bad check digit not named: %v", err)
	}
	for _, base := range []string{"", strings.Repeat("1", 22), "12-3"} {
		if _, err := RFCreate(base); err == nil {
			t.Errorf("RFCreate(%q) accepted", base)
		}
	}
}

// TestEE731Vectors uses the Estonian Banking Association's worked example.
func TestEE731Vectors(t *testing.T) {
	got, err := EE731Create("123456")
	if err != nil || got != "1234561" {
		t.Fatalf("EE731Create(123456) = %q, %v; want 1234561", got, err)
	}
	for _, ok := range []string{"1234561", "12345 61", "2026004217" + string(ee731Check("2026004217"))} {
		if _, err := EE731Validate(ok); err != nil {
			t.Errorf("EE731Validate(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"1234562", "1", "12a4561", strings.Repeat("1", 21)} {
		if _, err := EE731Validate(bad); err == nil {
			t.Errorf("EE731Validate(%q) accepted", bad)
		}
	}
	if _, err := EE731Validate("1234562"); !errors.Is(err, ErrBadCheckDigit) {
		t.Fatalf("bad check digit not named: %v", err)
	}
}

// TestOCRVectors uses the Bankgirot / cogwork worked example.
func TestOCRVectors(t *testing.T) {
	got, err := OCRCreate("2026004217", true)
	if err != nil || got != "202600421723" {
		t.Fatalf("OCRCreate(2026004217, length) = %q, %v; want 202600421723", got, err)
	}
	// the Luhn digit of a Swedish personnummer: 811218-987 → 6 (the classic example)
	if got, _ := OCRCreate("811218987", false); got != "8112189876" {
		t.Fatalf("OCRCreate(811218987) = %q, want 8112189876", got)
	}
	if _, err := OCRValidate("202600421723", true); err != nil {
		t.Fatal(err)
	}
	if _, err := OCRValidate("202600421724", true); !errors.Is(err, ErrBadCheckDigit) {
		t.Fatalf("wrong Luhn accepted: %v", err)
	}
	// right Luhn, wrong length digit
	s := "2026004217" + "3"
	s += string(luhnCheck(s))
	if _, err := OCRValidate(s, true); !errors.Is(err, ErrBadCheckDigit) {
		t.Fatalf("wrong length digit accepted: %v", err)
	}
	if _, err := OCRValidate(s, false); err != nil {
		t.Fatalf("plain OCR: %v", err)
	}
}

func TestIBANValidate(t *testing.T) {
	for _, ok := range []string{
		"EE382200221020145685",         // research §1.1
		"GB82 WEST 1234 5698 7654 32",  // ISO 13616 example
		"HU42117730161111101800000000", // ECBS example
		"SE4550000000058398257466",     // ECBS example
		"IT60X0542811101000000123456",  // ECBS example
		"de89 3704 0044 0532 0130 00",  // lowercase and spaces
		"EE471000001020145685",         // research §2.2 debtor
	} {
		if _, err := IBANValidate(ok); err != nil {
			t.Errorf("IBANValidate(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"EE382200221020145686", "GB82WEST1234569876543", "XX", "1E382200221020145685", "EE38220022102014568!"} {
		if _, err := IBANValidate(bad); err == nil {
			t.Errorf("IBANValidate(%q) accepted", bad)
		}
	}
	if got := IBANFormat("EE382200221020145685"); got != "EE38 2200 2210 2014 5685" {
		t.Fatalf("IBANFormat = %q", got)
	}
}

func TestCreateValidateEachScheme(t *testing.T) {
	for _, scheme := range []string{SchemeRF, SchemeEE731, SchemeOCR, SchemeOCRPlain, SchemeText} {
		ref, err := CreateReference(scheme, "2026004217")
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if got, err := ValidateReference(scheme, ref); err != nil || got != ref {
			t.Fatalf("%s: %q does not validate: %v", scheme, ref, err)
		}
	}
	if _, err := ValidateReference("nope", "1"); err == nil {
		t.Fatal("unknown scheme accepted")
	}
}

func TestAmounts(t *testing.T) {
	cases := []struct {
		in, cur string
		want    int64
		bad     bool
	}{
		{in: "25", cur: "EUR", want: 2500},
		{in: "25.5", cur: "EUR", want: 2550},
		{in: "25.05", cur: "EUR", want: 2505},
		{in: "0.01", cur: "SEK", want: 1},
		{in: "25.005", cur: "EUR", bad: true},
		{in: "-1", cur: "EUR", bad: true},
		{in: "1e3", cur: "EUR", bad: true},
		{in: "1,00", cur: "EUR", bad: true},
		{in: "", cur: "EUR", bad: true},
		{in: "1.", cur: "EUR", bad: true},
		{in: "10", cur: "XXX", bad: true},
	}
	for _, c := range cases {
		got, err := ParseAmount(c.in, c.cur)
		if c.bad {
			if err == nil {
				t.Errorf("ParseAmount(%q, %s) accepted", c.in, c.cur)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d", c.in, c.cur, got, err, c.want)
		}
	}
	for minor, want := range map[int64]string{2500: "25.00", 5: "0.05", 0: "0.00", 123456: "1234.56", -250: "-2.50"} {
		if got := FormatAmount(minor, "EUR"); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", minor, got, want)
		}
	}
	for minor, want := range map[int64]string{2500: "25", 2550: "25.5", 2505: "25.05"} {
		if got := formatAmountShort(minor, "EUR"); got != want {
			t.Errorf("formatAmountShort(%d) = %q, want %q", minor, got, want)
		}
	}
}
