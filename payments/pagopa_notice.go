package payments

import (
	"fmt"
	"strings"
)

// pagoPA notice numbers (SACI, "Specifiche attuative dei codici
// identificativi di versamento"): the 18-digit notice number (codice avviso)
// is the aux digit and the 17-digit IUV; with aux digit 3 (a creditor body
// with several generation points) the IUV is the 2-digit segregation code,
// the 13-digit IUV base and 2 check digits: the remainder modulo 93 of the
// number "3" + segregation code + IUV base.
const pagoPAAuxDigit = "3"

// IUVBase is the 13-digit IUV base of a fee's numeric base (zero-padded).
func IUVBase(base string) (string, error) {
	if !digitsOnly(base) || len(base) > 13 {
		return "", fmt.Errorf("IUV base %q: want 1-13 digits", base)
	}
	return strings.Repeat("0", 13-len(base)) + base, nil
}

// iuvCheck is the two check digits of segregation code + IUV base.
func iuvCheck(seg, base string) string {
	rem := 0
	for _, r := range pagoPAAuxDigit + seg + base {
		rem = (rem*10 + int(r-'0')) % 93
	}
	return fmt.Sprintf("%02d", rem)
}

// IUVCreate builds the 17-digit IUV of a segregation code (2 digits) and an
// IUV base (up to 13 digits).
func IUVCreate(seg, base string) (string, error) {
	if len(seg) != 2 || !digitsOnly(seg) {
		return "", fmt.Errorf("pagoPA segregation code %q: want 2 digits", seg)
	}
	b, err := IUVBase(base)
	if err != nil {
		return "", err
	}
	return seg + b + iuvCheck(seg, b), nil
}

// IUVValidate checks a 17-digit IUV (with its check digits) or a 13-digit
// IUV base, and returns it.
func IUVValidate(iuv string) (string, error) {
	iuv = strings.TrimSpace(iuv)
	switch {
	case len(iuv) == 13 && digitsOnly(iuv):
		return iuv, nil
	case len(iuv) != 17 || !digitsOnly(iuv):
		return "", fmt.Errorf("IUV %q: want 17 digits (or a 13-digit base)", iuv)
	case iuvCheck(iuv[:2], iuv[2:15]) != iuv[15:]:
		return "", fmt.Errorf("IUV %q: %w", iuv, ErrBadCheckDigit)
	}
	return iuv, nil
}

// NoticeNumber is the 18-digit notice number of an IUV.
func NoticeNumber(iuv string) (string, error) {
	if _, err := IUVValidate(iuv); err != nil || len(iuv) != 17 {
		return "", fmt.Errorf("notice number: %w", err)
	}
	return pagoPAAuxDigit + iuv, nil
}

// NoticeValidate checks an 18-digit notice number and returns its IUV.
func NoticeValidate(notice string) (string, error) {
	if len(notice) != 18 || notice[:1] != pagoPAAuxDigit {
		return "", fmt.Errorf("notice number %q: want 18 digits starting with %s", notice, pagoPAAuxDigit)
	}
	iuv, err := IUVValidate(notice[1:])
	if err != nil || len(iuv) != 17 {
		return "", fmt.Errorf("notice number %q: %w", notice, err)
	}
	return iuv, nil
}

// PagoPAQR is the payload of the notice's QR code (research §1.6):
// PAGOPA|002|<notice number>|<creditor fiscal code>|<amount in cents>.
func PagoPAQR(notice, fiscalCode string, cents int64) (string, error) {
	if len(fiscalCode) != 11 || !digitsOnly(fiscalCode) {
		return "", fmt.Errorf("pagoPA creditor fiscal code %q: want 11 digits", fiscalCode)
	}
	if _, err := NoticeValidate(notice); err != nil {
		return "", err
	}
	if cents < 1 || cents > 9999999999 {
		return "", fmt.Errorf("pagoPA amount %d: want 1-9999999999 cents", cents)
	}
	return fmt.Sprintf("PAGOPA|002|%s|%s|%02d", notice, fiscalCode, cents), nil
}

// printNotice groups a notice number as printed on the avviso (4 4 4 4 2).
func printNotice(n string) string {
	var b strings.Builder
	for i, r := range n {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
