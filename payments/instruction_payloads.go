package payments

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"
)

// EPC is the data of an EPC069-12 ("GiroCode", SEPA credit transfer) QR code.
type EPC struct {
	BIC       string // optional in version 002
	Name      string // beneficiary: the account holder's exact legal name (Verification of Payee)
	IBAN      string
	Amount    int64  // euro cents; 0 leaves the amount to the payer
	Purpose   string // optional 4-character AT-44 code
	Reference string // ISO 11649 RF reference (structured remittance)
	Text      string // unstructured remittance, only without Reference
	Info      string // beneficiary-to-originator information
}

// EPCPayload returns the EPC QR payload, version 002, UTF-8, SCT: LF-separated
// lines, trailing empty lines dropped. It checks every field's rules.
func EPCPayload(p EPC) (string, error) {
	iban, err := IBANValidate(p.IBAN)
	if err != nil {
		return "", fmt.Errorf("EPC QR: %w", err)
	}
	if p.BIC != "" && len(p.BIC) != 8 && len(p.BIC) != 11 {
		return "", fmt.Errorf("EPC QR: BIC %q: want 8 or 11 characters", p.BIC)
	}
	if n := utf8.RuneCountInString(p.Name); n < 1 || n > 70 {
		return "", fmt.Errorf("EPC QR: beneficiary name: want 1-70 characters, got %d", n)
	}
	amount := ""
	if p.Amount != 0 {
		if p.Amount < 1 || p.Amount > 99999999999 {
			return "", fmt.Errorf("EPC QR: amount %d cents: want 0.01-999999999.99 EUR", p.Amount)
		}
		amount = "EUR" + formatAmountShort(p.Amount, "EUR")
	}
	if p.Purpose != "" && len(p.Purpose) != 4 {
		return "", fmt.Errorf("EPC QR: purpose %q: want a 4-character code", p.Purpose)
	}
	ref := ""
	if p.Reference != "" {
		if p.Text != "" {
			return "", errors.New("EPC QR: a structured reference and a text are mutually exclusive")
		}
		if ref, err = RFValidate(p.Reference); err != nil {
			return "", fmt.Errorf("EPC QR: %w", err)
		}
	}
	if n := utf8.RuneCountInString(p.Text); n > 140 {
		return "", fmt.Errorf("EPC QR: remittance text: at most 140 characters, got %d", n)
	}
	if n := utf8.RuneCountInString(p.Info); n > 70 {
		return "", fmt.Errorf("EPC QR: information: at most 70 characters, got %d", n)
	}
	for name, v := range map[string]string{"name": p.Name, "text": p.Text, "information": p.Info} {
		if strings.ContainsAny(v, "\r\n") || !utf8.ValidString(v) {
			return "", fmt.Errorf("EPC QR: %s must be one line of UTF-8", name)
		}
	}
	lines := []string{"BCD", "002", "1", "SCT", p.BIC, p.Name, iban, amount, p.Purpose, ref, p.Text, p.Info}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	s := strings.Join(lines, "\n")
	if len(s) > 331 {
		return "", fmt.Errorf("EPC QR: %d bytes, at most 331 fit version 13 at level M", len(s))
	}
	return s, nil
}

// HCT is the data of an MNB QR code of kind HCT (the payee shows the code,
// the payer's bank app fills a HUF instant credit transfer).
type HCT struct {
	BIC        string // 8 or 11 characters (8 is padded with XXX)
	Name       string
	IBAN       string // a HU IBAN, 28 characters
	Amount     int64  // fillér (minor units); must be whole forints
	ValidUntil time.Time
	Purpose    string // optional 4-character code
	Message    string // ≤ 70 characters: the reference the statement will carry
}

// HCTPayload returns the MNB QR payload: 17 LF-terminated lines, UTF-8.
func HCTPayload(p HCT) (string, error) {
	iban, err := IBANValidate(p.IBAN)
	if err != nil {
		return "", fmt.Errorf("MNB QR: %w", err)
	}
	if !strings.HasPrefix(iban, "HU") {
		return "", fmt.Errorf("MNB QR: IBAN %s is not Hungarian", iban)
	}
	bic := strings.ToUpper(p.BIC)
	if len(bic) == 8 {
		bic += "XXX"
	}
	if len(bic) != 11 {
		return "", fmt.Errorf("MNB QR: BIC %q: want 8 or 11 characters", p.BIC)
	}
	if n := utf8.RuneCountInString(p.Name); n < 1 || n > 70 {
		return "", fmt.Errorf("MNB QR: name: want 1-70 characters, got %d", n)
	}
	amount := ""
	if p.Amount != 0 {
		if p.Amount < 0 || p.Amount%100 != 0 {
			return "", fmt.Errorf("MNB QR: amount %d fillér: HCT takes whole forints", p.Amount)
		}
		if p.Amount/100 > 999999999999 {
			return "", errors.New("MNB QR: amount: at most 12 digits")
		}
		amount = fmt.Sprintf("HUF%d", p.Amount/100)
	}
	if p.ValidUntil.IsZero() {
		return "", errors.New("MNB QR: valid-until is required")
	}
	if n := utf8.RuneCountInString(p.Message); n > 70 {
		return "", fmt.Errorf("MNB QR: message: at most 70 characters, got %d", n)
	}
	if p.Purpose != "" && len(p.Purpose) != 4 {
		return "", fmt.Errorf("MNB QR: purpose %q: want a 4-character code", p.Purpose)
	}
	for name, v := range map[string]string{"name": p.Name, "message": p.Message} {
		if strings.ContainsAny(v, "\r\n") || !utf8.ValidString(v) {
			return "", fmt.Errorf("MNB QR: %s must be one line of UTF-8", name)
		}
	}
	lines := []string{"HCT", "001", "1", bic, p.Name, iban, amount, hctTime(p.ValidUntil), p.Purpose, p.Message,
		"", "", "", "", "", "", ""}
	s := strings.Join(lines, "\n") + "\n"
	return s, nil
}

// hctTime formats t as yyyyMMddHHmmss plus the signed UTC offset in hours,
// e.g. 20261231235959+1 (the form of Gerifield/mnb-qr-go's output).
func hctTime(t time.Time) string {
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return t.Format("20060102150405") + sign + fmt.Sprint(off/3600)
}

// Swish is the data of a Swish C2B QR code.
type Swish struct {
	Payee   string // the corporate Swish number (digits)
	Amount  int64  // öre
	Message string // ≤ 50 characters: the OCR reference
	// Editable fields: none, so the payer cannot change payee, amount or message.
}

// SwishPayload returns "C<payee>;<amount>;<message>;<lockmask>" with the
// amount in SEK with a decimal comma and the message URL-encoded. The lock
// mask 0 makes every field read-only.
func SwishPayload(p Swish) (string, error) {
	if !digitsOnly(p.Payee) || len(p.Payee) < 5 || len(p.Payee) > 15 {
		return "", fmt.Errorf("Swish QR: payee %q: want a Swish number of 5-15 digits", p.Payee)
	}
	if p.Amount < 1 || p.Amount > 99999999999999 {
		return "", fmt.Errorf("Swish QR: amount %d öre: want 0.01-999999999999.99 SEK", p.Amount)
	}
	if n := utf8.RuneCountInString(p.Message); n > 50 {
		return "", fmt.Errorf("Swish QR: message: at most 50 characters, got %d", n)
	}
	amount := strings.Replace(FormatAmount(p.Amount, "SEK"), ".", ",", 1)
	return "C" + p.Payee + ";" + amount + ";" + url.QueryEscape(p.Message) + ";0", nil
}

// UKBank is a UK Faster Payments instruction (there is no national payment QR).
type UKBank struct {
	Name          string
	SortCode      string // 6 digits
	AccountNumber string // 8 digits
	Amount        int64  // pence
	Reference     string // ≤ 18 characters
}

// UKBankText returns the instruction as the text a citizen types into their
// bank app, one field a line.
func UKBankText(p UKBank) (string, error) {
	sc := strings.ReplaceAll(strings.ReplaceAll(p.SortCode, "-", ""), " ", "")
	if len(sc) != 6 || !digitsOnly(sc) {
		return "", fmt.Errorf("UK transfer: sort code %q: want 6 digits", p.SortCode)
	}
	if len(p.AccountNumber) != 8 || !digitsOnly(p.AccountNumber) {
		return "", fmt.Errorf("UK transfer: account number %q: want 8 digits", p.AccountNumber)
	}
	ref, err := ValidateReference(SchemeText, p.Reference)
	if err != nil {
		return "", fmt.Errorf("UK transfer: %w", err)
	}
	if p.Amount < 1 {
		return "", errors.New("UK transfer: amount: want at least 1 penny")
	}
	return fmt.Sprintf("Payee: %s\nSort code: %s-%s-%s\nAccount number: %s\nAmount: GBP %s\nReference: %s",
		p.Name, sc[0:2], sc[2:4], sc[4:6], p.AccountNumber, FormatAmount(p.Amount, "GBP"), ref), nil
}

// QRMaxVersion is the largest QR version a payment code may need (EPC069-12).
const QRMaxVersion = 13

// QRPayloadVersion returns the QR version payload needs at level M, and an
// error when it needs more than version 13.
func QRPayloadVersion(payload string) (int, error) {
	q, err := qrcode.New(payload, qrcode.Medium)
	if err != nil {
		return 0, fmt.Errorf("qr: %w", err)
	}
	if q.VersionNumber > QRMaxVersion {
		return q.VersionNumber, fmt.Errorf("qr: payload needs version %d at level M, at most %d allowed", q.VersionNumber, QRMaxVersion)
	}
	return q.VersionNumber, nil
}

// QRPNG renders a payment code at level M (as EPC069-12 requires) with a
// 4-module quiet zone, size pixels square.
func QRPNG(payload string, size int) ([]byte, error) {
	if _, err := QRPayloadVersion(payload); err != nil {
		return nil, err
	}
	png, err := qrcode.Encode(payload, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return png, nil
}
