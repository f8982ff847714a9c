package receipts_test

import (
	"bytes"
	"testing"

	"civicdesk/receipts"
)

// FuzzVerifyCode feeds arbitrary text to the verifier: it must never panic or
// hang, must give a reason for every rejection, and must accept only codes
// whose claims re-encode.
func FuzzVerifyCode(f *testing.F) {
	set := current(f, openStore(f, f.TempDir()))
	valid := signFixed(f, set)
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add("CR1:")
	f.Add("CR1:" + receipts.Base45Encode([]byte{0xd2, 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
	f.Add("CR1:" + receipts.Base45Encode(append([]byte{0xd2}, bytes.Repeat([]byte{0x81}, 100)...)))
	f.Fuzz(func(t *testing.T, code string) {
		v, verr := set.Verify(code)
		if verr != nil {
			if v != nil || verr.Reason == "" {
				t.Fatalf("rejection without a reason: %v", verr)
			}
			return
		}
		if _, err := v.Claims.MarshalPayload(); err != nil {
			t.Fatalf("accepted claims that do not re-encode: %v", err)
		}
	})
}

// FuzzVerifyCOSE fuzzes the bytes under the Base45 layer, where CBOR bombs live.
func FuzzVerifyCOSE(f *testing.F) {
	set := current(f, openStore(f, f.TempDir()))
	raw := mustParse(f, signFixed(f, set))
	f.Add(raw)
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Add([]byte{0xd2, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, verr := set.Verify(receipts.Prefix + receipts.Base45Encode(data)); verr != nil && verr.Reason == "" {
			t.Fatalf("rejection without a reason: %v", verr)
		}
	})
}

// FuzzBase45Decode checks that decoding is strict: whatever decodes re-encodes to the same text.
func FuzzBase45Decode(f *testing.F) {
	for _, s := range []string{"BB8", "%69 VD92EX0", "GGW", "QED8WEX0", "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := receipts.Base45Decode(s)
		if err != nil {
			return
		}
		if back := receipts.Base45Encode(b); back != s {
			t.Fatalf("decode(%q) = %x re-encodes to %q", s, b, back)
		}
	})
}
