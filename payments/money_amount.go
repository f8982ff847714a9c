package payments

import (
	"fmt"
	"strconv"
	"strings"
)

// currencyExponents are the ISO 4217 minor-unit exponents civicdesk knows.
// A fee's currency must be one of them.
var currencyExponents = map[string]int{
	"EUR": 2, "GBP": 2, "SEK": 2, "HUF": 2, "NOK": 2, "DKK": 2, "CHF": 2, "PLN": 2, "CZK": 2,
}

// CurrencyExponent returns the number of decimals of currency, or an error
// for a code civicdesk does not know.
func CurrencyExponent(currency string) (int, error) {
	exp, ok := currencyExponents[currency]
	if !ok {
		return 0, fmt.Errorf("currency %q: want one of EUR, GBP, SEK, HUF, NOK, DKK, CHF, PLN, CZK", currency)
	}
	return exp, nil
}

// MaxMinor is the largest amount civicdesk handles, in minor units (it is
// also what a receipt can carry).
const MaxMinor = 1<<32 - 1

// ParseAmount reads a decimal amount ("25", "25.5", "25.00") of currency into
// minor units, exactly (never through a float). More decimals than the
// currency has, signs, exponents and separators are errors.
func ParseAmount(s, currency string) (int64, error) {
	exp, err := CurrencyExponent(currency)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if !digitsOnly(whole) || (hasDot && !digitsOnly(frac)) {
		return 0, fmt.Errorf("amount %q: want digits with an optional '.' and decimals", s)
	}
	if len(frac) > exp {
		return 0, fmt.Errorf("amount %q: %s has %d decimals, not %d", s, currency, exp, len(frac))
	}
	if len(whole) > 12 {
		return 0, fmt.Errorf("amount %q: too large", s)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	return n, nil
}

// FormatAmount prints minor units of currency with all its decimals and a
// '.' separator ("25.00"), as ISO 20022 and the payment codes write amounts.
func FormatAmount(minor int64, currency string) string {
	exp := currencyExponents[currency]
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// formatAmountShort is FormatAmount without trailing zero decimals ("25",
// "12.5"), the shortest form EPC069-12 allows.
func formatAmountShort(minor int64, currency string) string {
	s := FormatAmount(minor, currency)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
