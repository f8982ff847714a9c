package city

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Payment rails (the payments package's provider kinds for bank transfers).
const (
	RailSEPAQR      = "sepa_qr"      // EPC QR code with an ISO 11649 or 7-3-1 reference (EUR)
	RailHCTQR       = "hct_qr"       // MNB QR code, HCT (HUF)
	RailSwish       = "swish"        // Swish C2B QR plus Bankgiro OCR (SEK)
	RailBankgiroOCR = "bankgiro_ocr" // Bankgiro OCR only (SEK)
	RailUKBank      = "ukbank"       // sort code, account number and a text reference (GBP)
)

// Rail is how the city takes one currency: the account a citizen pays into
// and the reference scheme the statement will carry.
type Rail struct {
	// Kind is one of the Rail* constants.
	Kind string
	// Creditor is the account holder's exact legal name (payee name checks
	// compare it with the bank's records).
	Creditor string
	// IBAN and BIC of the account (EUR, HUF, SEK statements).
	IBAN, BIC string
	// Scheme is the reference scheme: rf, ee731, ocr, ocrplain, text.
	Scheme string
	// SwishNumber is the corporate Swish number (swish).
	SwishNumber string
	// Bankgiro is the Bankgiro number shown next to the OCR reference (SEK).
	Bankgiro string
	// SortCode and AccountNumber are the UK account (ukbank).
	SortCode, AccountNumber string
	// FiscalCode (11 digits) and Segregation (2 digits) identify the creditor
	// body and its IUV generation point at pagoPA (pagopa).
	FiscalCode, Segregation string
}

// PaymentConfig is the city's cashless-fee configuration.
type PaymentConfig struct {
	// Profile names the demo configuration it came from (it, et, sv, hu, en).
	Profile string
	// Rails maps an ISO 4217 currency to its rail.
	Rails map[string]Rail
	// DueDays is how many days a citizen has to pay a fee by default.
	DueDays int
}

// RailFor returns the rail of currency, or an error naming what is missing.
func (p PaymentConfig) RailFor(currency string) (Rail, error) {
	r, ok := p.Rails[currency]
	if !ok {
		cs := make([]string, 0, len(p.Rails))
		for c := range p.Rails {
			cs = append(cs, c)
		}
		sort.Strings(cs)
		return Rail{}, fmt.Errorf("the city takes no payments in %q (configured: %s)", currency, strings.Join(cs, ", "))
	}
	return r, nil
}

// PaymentProfiles are demo configurations, one per partner country, keyed by
// language code. The accounts are published examples that pass their check
// digits, not real city accounts.
var PaymentProfiles = map[string]PaymentConfig{
	// Italy: a public body must take payments through pagoPA (issue 15 adds
	// the adapter); the demo shows the SEPA rail so the flow can be tried.
	"it": {Profile: "it", DueDays: 30, Rails: map[string]Rail{
		"EUR": {Kind: RailSEPAQR, Creditor: "Comune di Genova", IBAN: "IT60X0542811101000000123456", BIC: "BPMOIT22XXX", Scheme: "rf",
			FiscalCode: "00856930102", Segregation: "01"},
	}},
	"et": {Profile: "et", DueDays: 30, Rails: map[string]Rail{
		"EUR": {Kind: RailSEPAQR, Creditor: "Tartu Linnavalitsus", IBAN: "EE382200221020145685", BIC: "HABAEE2X", Scheme: "ee731"},
	}},
	"sv": {Profile: "sv", DueDays: 30, Rails: map[string]Rail{
		"SEK": {Kind: RailSwish, Creditor: "Gävle kommun", IBAN: "SE4550000000058398257466", BIC: "ESSESESS", Scheme: "ocr", SwishNumber: "1237856901", Bankgiro: "5050-1055"},
	}},
	"hu": {Profile: "hu", DueDays: 30, Rails: map[string]Rail{
		"HUF": {Kind: RailHCTQR, Creditor: "Nyíregyháza Megyei Jogú Város", IBAN: "HU42117730161111101800000000", BIC: "OTPVHUHB", Scheme: "text"},
	}},
	"en": {Profile: "en", DueDays: 30, Rails: map[string]Rail{
		"GBP": {Kind: RailUKBank, Creditor: "Birmingham City Council", SortCode: "40-11-60", AccountNumber: "12345678", Scheme: "text"},
	}},
}

// paymentsFromLookup reads the payment configuration: CIVICDESK_PAYMENTS
// picks a profile (default "it"), CIVICDESK_PAYMENT_* override the rail of
// CIVICDESK_PAYMENT_CURRENCY (default: the profile's only currency).
func paymentsFromLookup(lookup func(string) (string, bool)) (PaymentConfig, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	name := get("CIVICDESK_PAYMENTS")
	if name == "" {
		name = "it"
	}
	prof, ok := PaymentProfiles[name]
	if !ok {
		return PaymentConfig{}, fmt.Errorf("CIVICDESK_PAYMENTS %q: want one of it, et, sv, hu, en", name)
	}
	p := PaymentConfig{Profile: prof.Profile, DueDays: prof.DueDays, Rails: map[string]Rail{}}
	for c, r := range prof.Rails {
		p.Rails[c] = r
	}
	if v := get("CIVICDESK_PAYMENT_DUE_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return p, fmt.Errorf("CIVICDESK_PAYMENT_DUE_DAYS: want 1-365, got %q", v)
		}
		p.DueDays = n
	}
	cur := get("CIVICDESK_PAYMENT_CURRENCY")
	if cur == "" {
		for c := range p.Rails {
			cur = c
		}
	}
	r := p.Rails[cur]
	set := func(env string, dst *string) {
		if v := get(env); v != "" {
			*dst = v
		}
	}
	set("CIVICDESK_PAYMENT_RAIL", &r.Kind)
	set("CIVICDESK_PAYMENT_CREDITOR", &r.Creditor)
	set("CIVICDESK_PAYMENT_IBAN", &r.IBAN)
	set("CIVICDESK_PAYMENT_BIC", &r.BIC)
	set("CIVICDESK_PAYMENT_SCHEME", &r.Scheme)
	set("CIVICDESK_PAYMENT_SWISH", &r.SwishNumber)
	set("CIVICDESK_PAYMENT_BANKGIRO", &r.Bankgiro)
	set("CIVICDESK_PAYMENT_SORT_CODE", &r.SortCode)
	set("CIVICDESK_PAYMENT_ACCOUNT", &r.AccountNumber)
	set("CIVICDESK_PAYMENT_FISCAL_CODE", &r.FiscalCode)
	set("CIVICDESK_PAYMENT_SEGREGATION_CODE", &r.Segregation)
	if r.Kind != "" {
		p.Rails[cur] = r
	}
	return p, nil
}
