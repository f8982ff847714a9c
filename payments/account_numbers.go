package payments

import (
	"fmt"
	"strings"
)

// BankgiroValidate checks a Bankgiro number ("5050-1055"): 7 or 8 digits, a
// hyphen allowed before the last four, the last digit the Luhn check digit of
// the others (Bankgirot). It returns the digits.
func BankgiroValidate(bg string) (string, error) {
	d := strings.ReplaceAll(strings.TrimSpace(bg), "-", "")
	if (len(d) != 7 && len(d) != 8) || !digitsOnly(d) {
		return "", fmt.Errorf("bankgiro number %q: want 7 or 8 digits (e.g. 5050-1055)", bg)
	}
	if luhnCheck(d[:len(d)-1]) != d[len(d)-1] {
		return "", fmt.Errorf("bankgiro number %q: %w", bg, ErrBadCheckDigit)
	}
	return d, nil
}
