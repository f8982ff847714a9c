package receipts_test

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civicdesk/receipts"
)

// worstClaims returns claims of the given kind with every field at its cap.
func worstClaims(kind string) *receipts.Claims {
	c := &receipts.Claims{
		Issuer:   strings.Repeat("X", receipts.MaxIssuerLen),
		IssuedAt: time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC), // still a 4-byte uint
		CTI:      bytes.Repeat([]byte{0xff}, receipts.CTISize),
		Version:  1,
		Number:   strings.Repeat("9", receipts.MaxNumberLen),
		Service:  strings.Repeat("s", receipts.MaxServiceLen),
		Status:   kind,
		Holder:   bytes.Repeat([]byte{0xff}, receipts.HolderTagSize),
	}
	if kind == receipts.KindPayment {
		c.Status = "waiting_citizen" // the longest status
		c.Amount = u64(receipts.MaxAmount)
		c.Currency = "EUR"
		c.PaymentRef = strings.Repeat("R", receipts.MaxPaymentRefLen)
	}
	return c
}

// worstLedgerPayment is a payment receipt from the fee ledger with every
// extension claim at its cap (docs/receipts.md keys 9-14).
func worstLedgerPayment() *receipts.Claims {
	c := worstClaims(receipts.KindPayment)
	c.Pay = &receipts.PaymentClaims{
		Kind: receipts.PayKindPayment, Method: receipts.MaxMethod, PaidAt: c.IssuedAt.Unix(),
		FeeID: strings.Repeat("f", receipts.MaxFeeIDLen), Evidence: bytes.Repeat([]byte{0xff}, receipts.EvidenceSize),
		AmountDue: u64(receipts.MaxAmount),
	}
	return c
}

// TestSizeBudget pins docs/receipts.md "Size budget": with every field at its
// cap, received and resolved receipts stay within 300 Base45 characters and
// payment receipts within 348; all fit a version 13 QR code at level Q.
func TestSizeBudget(t *testing.T) {
	dir := t.TempDir()
	scenarios := []struct {
		kind       string
		maxBase45  int
		maxVersion int
	}{
		{receipts.KindReceived, 300, 13},
		{receipts.KindResolved, 300, 13},
		{receipts.KindPayment, 348, 13},
		{"ledger payment", 420, 13},
	}
	for _, s := range scenarios {
		t.Run(s.kind, func(t *testing.T) {
			c := worstClaims(s.kind)
			if s.kind == "ledger payment" {
				c = worstLedgerPayment()
			}
			ks, err := receipts.OpenKeyStore(dir, c.Issuer)
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
			t.Logf("%s: %d Base45 characters, QR version %d", s.kind, n, v)
			if n > s.maxBase45 || v > s.maxVersion {
				t.Fatalf("%d characters (max %d), version %d (max %d)", n, s.maxBase45, v, s.maxVersion)
			}
		})
	}
	t.Run("realistic received receipt", func(t *testing.T) {
		ks, _ := receipts.OpenKeyStore(dir, "IT-GE")
		code, err := receipts.Sign(fixedClaims(), current(t, ks).Active())
		if err != nil {
			t.Fatal(err)
		}
		v, _ := receipts.QRVersion(code)
		t.Logf("realistic: %d characters, version %d", len(code), v)
		if v > 12 {
			t.Fatalf("version %d", v)
		}
	})
}

// TestQRRoundTrip renders receipts and decodes them with an independent
// decoder (zbar), comparing byte for byte.
func TestQRRoundTrip(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("zbarimg not installed (scripts/install-test-deps.sh installs zbar-tools)")
		}
		t.Fatal("zbarimg is required in CI: ", err)
	}
	set := current(t, openStore(t, t.TempDir()))
	codes := []string{signFixed(t, set)}
	for _, kind := range []string{receipts.KindReceived, receipts.KindPayment, "ledger payment"} {
		c := worstClaims(kind)
		if kind == "ledger payment" {
			c = worstLedgerPayment()
		}
		ks, _ := receipts.OpenKeyStore(t.TempDir(), c.Issuer)
		code, err := receipts.Sign(c, current(t, ks).Active())
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
	}
	for i, code := range codes {
		for _, ppm := range []int{2, receipts.DefaultModulePixels} {
			pngBytes, err := receipts.QRPNG(code, ppm)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(pngBytes))
			if err != nil {
				t.Fatal(err)
			}
			v, _ := receipts.QRVersion(code)
			modules := 4*v + 17 + 2*receipts.QuietZoneModules
			if b := img.Bounds(); b.Dx() != modules*ppm || b.Dy() != modules*ppm {
				t.Fatalf("image %v, want %d px square", b, modules*ppm)
			}
			// the quiet zone is white
			for x := 0; x < modules*ppm; x++ {
				for y := 0; y < receipts.QuietZoneModules*ppm; y++ {
					if r, _, _, _ := img.At(x, y).RGBA(); r != 0xffff {
						t.Fatalf("quiet zone pixel (%d,%d) is dark", x, y)
					}
				}
			}
			f := filepath.Join(t.TempDir(), "qr.png")
			os.WriteFile(f, pngBytes, 0o600)
			out, err := exec.Command(zbar, "-q", "--raw", f).Output()
			if err != nil {
				t.Fatalf("code %d ppm %d: zbarimg: %v", i, ppm, err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != code {
				t.Fatalf("code %d ppm %d: zbarimg read\n%q\nwant\n%q", i, ppm, got, code)
			}
		}
	}
	if _, err := receipts.QRPNG(codes[0], receipts.MaxModulePixels+1); err == nil {
		t.Fatal("accepted too many pixels per module")
	}
	if _, err := receipts.QRPNG(codes[0], 0); err == nil {
		t.Fatal("accepted 0 pixels per module")
	}
}
