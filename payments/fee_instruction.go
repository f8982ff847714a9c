package payments

import (
	"context"
	"fmt"
	"time"

	"civicdesk/city"
)

// Instruction is how a citizen pays one fee. It is stored on the fee and
// synced to the phone, which shows it offline: the QR payload (drawn on the
// phone) and every value as copyable text. Money is never computed on the
// phone; a request without an instruction shows "fee to be confirmed".
type Instruction struct {
	// Rail is the city's rail for the currency (sepa_qr, hct_qr, swish, bankgiro_ocr, ukbank).
	Rail string `json:"rail"`
	// QRKind names the QR format: epc, hct, swish, or "" when there is none (UK).
	QRKind string `json:"qrKind"`
	// QR is the exact payload to encode (level M).
	QR string `json:"qr"`
	// Text is the whole instruction as plain text (the QR's text alternative).
	Text string `json:"text"`

	Creditor      string `json:"creditor"`
	IBAN          string `json:"iban,omitempty"` // printed in groups of four
	BIC           string `json:"bic,omitempty"`
	Bankgiro      string `json:"bankgiro,omitempty"`
	SwishNumber   string `json:"swish,omitempty"`
	SortCode      string `json:"sortCode,omitempty"`
	AccountNumber string `json:"accountNumber,omitempty"`
	// Reference is the electronic form; ReferencePrinted the grouped one.
	Reference        string `json:"reference"`
	ReferencePrinted string `json:"referencePrinted"`
	Scheme           string `json:"scheme"`
	Amount           int64  `json:"amount"` // minor units
	AmountText       string `json:"amountText"`
	Currency         string `json:"currency"`
	DueAt            string `json:"dueAt,omitempty"` // RFC 3339 UTC
}

// BuildInstruction makes the payment instruction of a fee on rail.
func BuildInstruction(rail city.Rail, amount int64, currency, reference string, due time.Time, loc *time.Location) (*Instruction, error) {
	in := &Instruction{
		Rail: rail.Kind, Creditor: rail.Creditor, Reference: reference, ReferencePrinted: reference,
		Scheme: rail.Scheme, Amount: amount, AmountText: FormatAmount(amount, currency), Currency: currency,
	}
	if !due.IsZero() {
		in.DueAt = due.UTC().Format(time.RFC3339)
	}
	if rail.Scheme == SchemeRF {
		in.ReferencePrinted = groupsOf4(reference)
	}
	if rail.IBAN != "" {
		iban, err := IBANValidate(rail.IBAN)
		if err != nil {
			return nil, fmt.Errorf("city payment account: %w", err)
		}
		in.IBAN, in.BIC = IBANFormat(iban), rail.BIC
	}
	var err error
	switch rail.Kind {
	case city.RailSEPAQR:
		if currency != "EUR" {
			return nil, fmt.Errorf("the EPC QR code is for EUR only, not %s", currency)
		}
		in.QRKind = "epc"
		p := EPC{BIC: rail.BIC, Name: rail.Creditor, IBAN: rail.IBAN, Amount: amount}
		if rail.Scheme == SchemeRF {
			p.Reference = reference
		} else {
			p.Text = reference // a 7-3-1 number travels as remittance text
		}
		in.QR, err = EPCPayload(p)
		in.Text = fmt.Sprintf("%s\nIBAN %s\n%s %s\n%s", rail.Creditor, in.IBAN, currency, in.AmountText, in.ReferencePrinted)
	case city.RailHCTQR:
		in.QRKind = "hct"
		validUntil := due
		if validUntil.IsZero() {
			validUntil = time.Now().AddDate(0, 0, 30)
		}
		if loc != nil {
			validUntil = validUntil.In(loc)
		}
		in.QR, err = HCTPayload(HCT{BIC: rail.BIC, Name: rail.Creditor, IBAN: rail.IBAN, Amount: amount, ValidUntil: validUntil, Message: reference})
		in.Text = fmt.Sprintf("%s\nIBAN %s\n%s %s\n%s", rail.Creditor, in.IBAN, currency, in.AmountText, reference)
	case city.RailSwish, city.RailBankgiroOCR:
		in.Bankgiro = rail.Bankgiro
		if rail.Kind == city.RailSwish {
			in.QRKind, in.SwishNumber = "swish", rail.SwishNumber
			in.QR, err = SwishPayload(Swish{Payee: rail.SwishNumber, Amount: amount, Message: reference})
		}
		in.Text = fmt.Sprintf("%s\nBankgiro %s\n%s %s\nOCR %s", rail.Creditor, rail.Bankgiro, currency, in.AmountText, reference)
		if rail.SwishNumber != "" {
			in.Text += "\nSwish " + rail.SwishNumber
		}
	case city.RailUKBank:
		in.SortCode, in.AccountNumber = rail.SortCode, rail.AccountNumber
		in.Text, err = UKBankText(UKBank{Name: rail.Creditor, SortCode: rail.SortCode, AccountNumber: rail.AccountNumber, Amount: amount, Reference: reference})
	default:
		return nil, fmt.Errorf("unknown payment rail %q", rail.Kind)
	}
	if err != nil {
		return nil, err
	}
	if in.QR != "" {
		if _, err := QRPayloadVersion(in.QR); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// ValidateRail checks a configured rail, so a bad account stops the server
// at start instead of failing the first fee.
func ValidateRail(currency string, r city.Rail) error {
	if _, err := CurrencyExponent(currency); err != nil {
		return err
	}
	if r.Creditor == "" {
		return fmt.Errorf("%s rail: the creditor name is required", currency)
	}
	if _, err := CreateReference(r.Scheme, "2026000001"); err != nil {
		return fmt.Errorf("%s rail: %w", currency, err)
	}
	// a sample instruction exercises every field's rules (a platform's own Begin)
	prov, err := ProviderFor(r)
	if err != nil {
		return fmt.Errorf("%s rail: %w", currency, err)
	}
	if !prov.Caps().OfflineInstruction {
		return fmt.Errorf("%s rail: %s cannot be a fee's rail (it has no offline instruction)", currency, r.Kind)
	}
	sample := FeeInfo{Reference: sampleReference(r.Scheme), Currency: currency, Amount: 100, DueAt: time.Now().AddDate(0, 0, 30), Location: time.UTC}
	if _, err := prov.Begin(context.Background(), sample, Attempt{ID: sample.Reference}); err != nil {
		return fmt.Errorf("%s rail: %w", currency, err)
	}
	return nil
}

func sampleReference(scheme string) string {
	ref, _ := CreateReference(scheme, "2026000001")
	return ref
}
