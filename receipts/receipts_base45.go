package receipts

import (
	"errors"
	"fmt"
	"strings"
)

// base45Alphabet is RFC 9285's alphabet: exactly the QR alphanumeric character
// set, so a Base45 text fills a QR code in its dense alphanumeric mode.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Values maps a byte to its Base45 value, or -1 when it is not in the alphabet.
var base45Values = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = int8(i)
	}
	return t
}()

// ErrBase45 is wrapped by every Base45 decoding error.
var ErrBase45 = errors.New("invalid base45")

// Base45Encode encodes data as RFC 9285 Base45.
func Base45Encode(data []byte) string {
	var sb strings.Builder
	sb.Grow((len(data)/2)*3 + 2)
	for i := 0; i+1 < len(data); i += 2 {
		n := int(data[i])<<8 | int(data[i+1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[(n/45)%45])
		sb.WriteByte(base45Alphabet[n/2025])
	}
	if len(data)%2 == 1 {
		n := int(data[len(data)-1])
		sb.WriteByte(base45Alphabet[n%45])
		sb.WriteByte(base45Alphabet[n/45])
	}
	return sb.String()
}

// Base45Decode decodes RFC 9285 Base45. It rejects characters outside the
// alphabet (lowercase letters included), a dangling single character and
// groups whose value does not fit their byte count (e.g. "GGW" = 65536).
func Base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("%w: length %d leaves a single trailing character", ErrBase45, len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		end := min(i+3, len(s))
		n := 0
		mul := 1
		for j := i; j < end; j++ {
			v := base45Values[s[j]]
			if v < 0 {
				return nil, fmt.Errorf("%w: character %q at %d is not in the alphabet", ErrBase45, s[j], j)
			}
			n += int(v) * mul
			mul *= 45
		}
		if end-i == 3 {
			if n > 0xffff {
				return nil, fmt.Errorf("%w: group %q at %d exceeds 65535", ErrBase45, s[i:end], i)
			}
			out = append(out, byte(n>>8), byte(n))
		} else {
			if n > 0xff {
				return nil, fmt.Errorf("%w: final group %q exceeds 255", ErrBase45, s[i:end])
			}
			out = append(out, byte(n))
		}
	}
	return out, nil
}
