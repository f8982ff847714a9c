package receipts_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"civicdesk/receipts"
)

// RFC 9285 §4.3 and §4.4 examples.
func TestBase45RFCVectors(t *testing.T) {
	scenarios := []struct {
		raw     string
		encoded string
	}{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
	}
	for _, s := range scenarios {
		t.Run(s.encoded, func(t *testing.T) {
			if got := receipts.Base45Encode([]byte(s.raw)); got != s.encoded {
				t.Fatalf("encode %q = %q, want %q", s.raw, got, s.encoded)
			}
			got, err := receipts.Base45Decode(s.encoded)
			if err != nil {
				t.Fatalf("decode %q: %v", s.encoded, err)
			}
			if string(got) != s.raw {
				t.Fatalf("decode %q = %q, want %q", s.encoded, got, s.raw)
			}
		})
	}
}

func TestBase45DecodeRejects(t *testing.T) {
	scenarios := []struct {
		name, in string
	}{
		{"value over 65535 (RFC 9285 §6)", "GGW"},
		{"final pair over 255", "ZZ"},
		{"dangling single char", "BB8A"},
		{"single char", "A"},
		{"lowercase", "bb8"},
		{"outside alphabet", "BB#"},
		{"non-ascii", "BBé"},
		{"NUL byte", "BB\x00"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			out, err := receipts.Base45Decode(s.in)
			if !errors.Is(err, receipts.ErrBase45) {
				t.Fatalf("decode %q = %x, %v; want ErrBase45", s.in, out, err)
			}
		})
	}
}

func TestBase45RoundTripRandom(t *testing.T) {
	for n := 0; n < 300; n++ {
		data := make([]byte, n)
		rand.Read(data)
		enc := receipts.Base45Encode(data)
		if want := n/2*3 + n%2*2; len(enc) != want {
			t.Fatalf("len(encode(%d bytes)) = %d, want %d", n, len(enc), want)
		}
		dec, err := receipts.Base45Decode(enc)
		if err != nil || !bytes.Equal(dec, data) {
			t.Fatalf("round trip of %x: %x, %v", data, dec, err)
		}
	}
}
