package payments

import (
	"errors"
	"fmt"
	"strings"
)

// Reference schemes a fee's structured reference can use (research §1.2).
const (
	SchemeRF       = "rf"       // ISO 11649 creditor reference, SEPA-wide
	SchemeEE731    = "ee731"    // Estonian viitenumber, 7-3-1 check digit
	SchemeOCR      = "ocr"      // Swedish Bankgiro OCR, Luhn with a length digit
	SchemeOCRPlain = "ocrplain" // Bankgiro OCR, Luhn without a length digit
	SchemeText     = "text"     // a plain text reference (UK Faster Payments, HU message line)
	SchemeIUV      = "iuv"      // pagoPA IUV: the 13-digit base here, the full 17 digits from the pagopa provider
)

// ErrBadCheckDigit is wrapped by every reference error caused by a wrong check digit.
var ErrBadCheckDigit = errors.New("bad check digit")

// mod97 returns s mod 97 where s is a string of digits and letters, letters
// mapped A=10 … Z=35 (ISO 7064 MOD 97-10 as ISO 11649 and ISO 13616 use it).
func mod97(s string) (int, error) {
	rem := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			rem = (rem*10 + int(r-'0')) % 97
		case r >= 'A' && r <= 'Z':
			v := int(r-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return 0, fmt.Errorf("character %q is not 0-9 or A-Z", r)
		}
	}
	return rem, nil
}

// normalizeRef removes spaces and upper-cases a printed reference.
func normalizeRef(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// RFCreate builds the ISO 11649 creditor reference of base (1–21 characters
// of 0-9 and A-Z): "RF", two check digits, base.
func RFCreate(base string) (string, error) {
	base = normalizeRef(base)
	if len(base) < 1 || len(base) > 21 {
		return "", fmt.Errorf("RF reference base %q: want 1-21 characters", base)
	}
	rem, err := mod97(base + "RF00")
	if err != nil {
		return "", fmt.Errorf("RF reference base %q: %w", base, err)
	}
	return fmt.Sprintf("RF%02d%s", 98-rem, base), nil
}

// RFValidate checks an ISO 11649 reference (spaces and case are ignored) and
// returns its electronic form.
func RFValidate(ref string) (string, error) {
	ref = normalizeRef(ref)
	if len(ref) < 5 || len(ref) > 25 || !strings.HasPrefix(ref, "RF") {
		return "", fmt.Errorf("RF reference %q: want RF, 2 check digits and 1-21 characters", ref)
	}
	if ref[2] < '0' || ref[2] > '9' || ref[3] < '0' || ref[3] > '9' {
		return "", fmt.Errorf("RF reference %q: check digits must be digits", ref)
	}
	rem, err := mod97(ref[4:] + ref[:4])
	if err != nil {
		return "", fmt.Errorf("RF reference %q: %w", ref, err)
	}
	if rem != 1 {
		return "", fmt.Errorf("RF reference %q: %w", ref, ErrBadCheckDigit)
	}
	return ref, nil
}

// digitsOnly reports whether s is non-empty and all ASCII digits.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ee731Check is the 7-3-1 check digit of base (weights 7, 3, 1 repeating from
// the right; check = distance to the next multiple of 10).
func ee731Check(base string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(base); i++ {
		d := int(base[len(base)-1-i] - '0')
		sum += d * weights[i%3]
	}
	return byte('0' + (10-sum%10)%10)
}

// EE731Create appends the 7-3-1 check digit to base (1–19 digits), giving an
// Estonian reference number (viitenumber) of 2–20 digits.
func EE731Create(base string) (string, error) {
	base = normalizeRef(base)
	if !digitsOnly(base) || len(base) > 19 {
		return "", fmt.Errorf("EE 7-3-1 reference base %q: want 1-19 digits", base)
	}
	return base + string(ee731Check(base)), nil
}

// EE731Validate checks an Estonian reference number (2–20 digits, last one the 7-3-1 check).
func EE731Validate(ref string) (string, error) {
	ref = normalizeRef(ref)
	if !digitsOnly(ref) || len(ref) < 2 || len(ref) > 20 {
		return "", fmt.Errorf("EE 7-3-1 reference %q: want 2-20 digits", ref)
	}
	if ee731Check(ref[:len(ref)-1]) != ref[len(ref)-1] {
		return "", fmt.Errorf("EE 7-3-1 reference %q: %w", ref, ErrBadCheckDigit)
	}
	return ref, nil
}

// luhnCheck is the Luhn ("10-modul") check digit of s.
func luhnCheck(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 { // the digit next to the check digit is doubled
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// OCRCreate builds a Bankgiro OCR number from base (digits). With withLength,
// a length digit (the total length mod 10) precedes the Luhn check digit, as
// a payee's "hard" OCR control usually demands. The result has 2–25 digits.
func OCRCreate(base string, withLength bool) (string, error) {
	base = normalizeRef(base)
	extra := 1
	if withLength {
		extra = 2
	}
	if !digitsOnly(base) || len(base)+extra > 25 {
		return "", fmt.Errorf("OCR base %q: want 1-%d digits", base, 25-extra)
	}
	s := base
	if withLength {
		s += string(byte('0' + (len(base)+2)%10))
	}
	return s + string(luhnCheck(s)), nil
}

// OCRValidate checks a Bankgiro OCR number: its Luhn check digit and, with
// withLength, the length digit before it.
func OCRValidate(ref string, withLength bool) (string, error) {
	ref = normalizeRef(ref)
	min := 2
	if withLength {
		min = 3
	}
	if !digitsOnly(ref) || len(ref) < min || len(ref) > 25 {
		return "", fmt.Errorf("OCR number %q: want %d-25 digits", ref, min)
	}
	if luhnCheck(ref[:len(ref)-1]) != ref[len(ref)-1] {
		return "", fmt.Errorf("OCR number %q: %w", ref, ErrBadCheckDigit)
	}
	if withLength && ref[len(ref)-2] != byte('0'+len(ref)%10) {
		return "", fmt.Errorf("OCR number %q: length digit %c, want %d: %w", ref, ref[len(ref)-2], len(ref)%10, ErrBadCheckDigit)
	}
	return ref, nil
}

// ibanLengths are the IBAN lengths of the partner countries and their
// neighbours (ISO 13616 registry); other countries are checked by mod 97 only.
var ibanLengths = map[string]int{
	"AT": 20, "BE": 16, "CH": 21, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27,
	"GB": 22, "HU": 28, "IE": 22, "IT": 27, "LT": 20, "LV": 21, "NL": 18, "NO": 15, "PL": 28,
	"PT": 25, "SE": 24, "SI": 19, "SK": 24,
}

// IBANValidate checks an IBAN (spaces and case ignored): country code, length
// where the country is known, and the ISO 13616 mod-97 check. It returns the
// electronic form (no spaces).
func IBANValidate(iban string) (string, error) {
	iban = normalizeRef(iban)
	if len(iban) < 15 || len(iban) > 34 {
		return "", fmt.Errorf("IBAN %q: want 15-34 characters", iban)
	}
	if iban[0] < 'A' || iban[0] > 'Z' || iban[1] < 'A' || iban[1] > 'Z' || !digitsOnly(iban[2:4]) {
		return "", fmt.Errorf("IBAN %q: want a country code and 2 check digits first", iban)
	}
	if n, ok := ibanLengths[iban[:2]]; ok && len(iban) != n {
		return "", fmt.Errorf("IBAN %q: a %s IBAN has %d characters, not %d", iban, iban[:2], n, len(iban))
	}
	rem, err := mod97(iban[4:] + iban[:4])
	if err != nil {
		return "", fmt.Errorf("IBAN %q: %w", iban, err)
	}
	if rem != 1 {
		return "", fmt.Errorf("IBAN %q: %w", iban, ErrBadCheckDigit)
	}
	return iban, nil
}

// IBANFormat prints an IBAN in groups of four, as people copy it.
func IBANFormat(iban string) string {
	return groupsOf4(normalizeRef(iban))
}

// groupsOf4 splits s into space-separated groups of four characters.
func groupsOf4(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// ValidateReference checks ref under scheme and returns its electronic form.
func ValidateReference(scheme, ref string) (string, error) {
	switch scheme {
	case SchemeRF:
		return RFValidate(ref)
	case SchemeEE731:
		return EE731Validate(ref)
	case SchemeOCR:
		return OCRValidate(ref, true)
	case SchemeOCRPlain:
		return OCRValidate(ref, false)
	case SchemeText:
		ref = strings.TrimSpace(ref)
		if ref == "" || len(ref) > 18 || strings.ContainsAny(ref, "\n\r;") {
			return "", fmt.Errorf("text reference %q: want 1-18 characters on one line, without ';'", ref)
		}
		return ref, nil
	case SchemeIUV:
		return IUVValidate(ref)
	}
	return "", fmt.Errorf("unknown reference scheme %q", scheme)
}

// CreateReference builds the reference of scheme from a numeric base.
func CreateReference(scheme, base string) (string, error) {
	switch scheme {
	case SchemeRF:
		return RFCreate(base)
	case SchemeEE731:
		return EE731Create(base)
	case SchemeOCR:
		return OCRCreate(base, true)
	case SchemeOCRPlain:
		return OCRCreate(base, false)
	case SchemeText:
		return ValidateReference(SchemeText, "CD"+base)
	case SchemeIUV:
		return IUVBase(base)
	}
	return "", fmt.Errorf("unknown reference scheme %q", scheme)
}
