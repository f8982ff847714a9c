package receipts_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civicdesk/receipts"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// testKey is a key the test controls, written into a key file by writeKeyFile
// so the test can sign arbitrary messages the store will look up.
type testKey struct {
	priv   *ecdsa.PrivateKey
	iss    string
	status string
}

func newTestKey(t testing.TB, iss, status string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, iss: iss, status: status}
}

func (k testKey) kid(t testing.TB) []byte {
	kid, err := receipts.KidOf(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// writeKeyFile writes the key file format of docs/receipts.md by hand.
func writeKeyFile(t testing.TB, dir string, keys ...testKey) {
	t.Helper()
	type item struct {
		Kid     string    `json:"kid"`
		Iss     string    `json:"iss"`
		Status  string    `json:"status"`
		Created time.Time `json:"created"`
		Public  string    `json:"public"`
		Private string    `json:"private,omitempty"`
	}
	var items []item
	for _, k := range keys {
		pub, _ := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
		it := item{Kid: base64.RawURLEncoding.EncodeToString(k.kid(t)), Iss: k.iss, Status: k.status, Created: time.Now().UTC(), Public: base64.StdEncoding.EncodeToString(pub)}
		if k.status == receipts.KeyActive {
			der, _ := x509.MarshalPKCS8PrivateKey(k.priv)
			it.Private = base64.StdEncoding.EncodeToString(der)
		}
		items = append(items, it)
	}
	data, _ := json.Marshal(map[string]any{"holderSecret": base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), "keys": items})
	if err := os.WriteFile(filepath.Join(dir, receipts.KeyFileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// craft signs payload with k under the given protected header, as any COSE library would.
func craft(t testing.TB, k testKey, protected cose.ProtectedHeader, payload []byte) string {
	t.Helper()
	signer, err := cose.NewSigner(cose.AlgorithmES256, k.priv)
	if err != nil {
		t.Fatal(err)
	}
	msg := cose.Sign1Message{Headers: cose.Headers{Protected: protected, Unprotected: cose.UnprotectedHeader{}}, Payload: payload}
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		t.Fatal(err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return receipts.Prefix + receipts.Base45Encode(raw)
}

func openStore(t testing.TB, dir string) *receipts.KeyStore {
	t.Helper()
	ks, err := receipts.OpenKeyStore(dir, "IT-GE")
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func current(t testing.TB, ks *receipts.KeyStore) *receipts.KeySet {
	t.Helper()
	set, err := ks.Current()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func signFixed(t testing.TB, set *receipts.KeySet) string {
	t.Helper()
	code, err := receipts.Sign(fixedClaims(), set.Active())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// sign1Parts is COSE_Sign1's array, for tests that edit one part of a message.
type sign1Parts struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected map[int]any
	Payload     []byte
	Signature   []byte
}

func splitCode(t testing.TB, code string) sign1Parts {
	t.Helper()
	raw, err := receipts.ParseCode(code)
	if err != nil {
		t.Fatal(err)
	}
	var tag cbor.RawTag
	if err := cbor.Unmarshal(raw, &tag); err != nil || tag.Number != 18 {
		t.Fatalf("not a tagged COSE_Sign1: %v", err)
	}
	var p sign1Parts
	if err := cbor.Unmarshal(tag.Content, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func joinCode(t testing.TB, p sign1Parts) string {
	t.Helper()
	if p.Unprotected == nil {
		p.Unprotected = map[int]any{}
	}
	raw, err := cbor.Marshal(cbor.Tag{Number: 18, Content: p})
	if err != nil {
		t.Fatal(err)
	}
	return receipts.Prefix + receipts.Base45Encode(raw)
}

func flip(b []byte, bit int) []byte {
	out := bytes.Clone(b)
	out[bit/8] ^= 1 << (bit % 8)
	return out
}

func TestSignVerifyRoundTrip(t *testing.T) {
	set := current(t, openStore(t, t.TempDir()))
	code := signFixed(t, set)
	if !strings.HasPrefix(code, "CR1:") {
		t.Fatalf("code %q", code)
	}
	v, verr := set.Verify(code)
	if verr != nil {
		t.Fatal(verr)
	}
	want, _ := fixedClaims().MarshalPayload()
	got, _ := v.Claims.MarshalPayload()
	if !bytes.Equal(got, want) || !bytes.Equal(v.Key.Kid, set.Active().Kid) {
		t.Fatalf("claims %x, want %x", got, want)
	}
	p := splitCode(t, code)
	// protected header {1: -7, 4: kid}, deterministic; empty unprotected; raw r||s
	wantProt := append([]byte{0xa2, 0x01, 0x26, 0x04, 0x48}, set.Active().Kid...)
	if !bytes.Equal(p.Protected, wantProt) || len(p.Unprotected) != 0 || len(p.Signature) != 64 {
		t.Fatalf("protected %x unprotected %v sig %d bytes", p.Protected, p.Unprotected, len(p.Signature))
	}
}

func TestVerifyTamper(t *testing.T) {
	set := current(t, openStore(t, t.TempDir()))
	code := signFixed(t, set)
	p := splitCode(t, code)

	t.Run("payload bit", func(t *testing.T) {
		for bit := 0; bit < len(p.Payload)*8; bit++ {
			q := p
			q.Payload = flip(p.Payload, bit)
			if _, verr := set.Verify(joinCode(t, q)); verr == nil || verr.Reason != receipts.ReasonBadSignature {
				t.Fatalf("bit %d: %v, want bad_signature", bit, verr)
			}
		}
	})
	t.Run("signature bit", func(t *testing.T) {
		for bit := 0; bit < len(p.Signature)*8; bit++ {
			q := p
			q.Signature = flip(p.Signature, bit)
			if _, verr := set.Verify(joinCode(t, q)); verr == nil || verr.Reason != receipts.ReasonBadSignature {
				t.Fatalf("bit %d: %v, want bad_signature", bit, verr)
			}
		}
	})
	t.Run("protected bit", func(t *testing.T) {
		for bit := 0; bit < len(p.Protected)*8; bit++ {
			q := p
			q.Protected = flip(p.Protected, bit)
			if _, verr := set.Verify(joinCode(t, q)); verr == nil {
				t.Fatalf("bit %d of the protected header: still valid", bit)
			}
		}
		q := p
		q.Protected = flip(p.Protected, len(p.Protected)*8-1) // last kid byte
		if _, verr := set.Verify(joinCode(t, q)); verr == nil || verr.Reason != receipts.ReasonUnknownKey {
			t.Fatalf("kid bit: %v, want unknown_key", verr)
		}
	})
	t.Run("any bit of the whole message", func(t *testing.T) {
		raw, _ := receipts.ParseCode(code)
		for bit := 0; bit < len(raw)*8; bit++ {
			if _, verr := set.Verify(receipts.Prefix + receipts.Base45Encode(flip(raw, bit))); verr == nil {
				t.Fatalf("bit %d: still valid", bit)
			}
		}
	})
}

func TestVerifyReasons(t *testing.T) {
	dir := t.TempDir()
	active := newTestKey(t, "IT-GE", receipts.KeyActive)
	revoked := newTestKey(t, "IT-GE", receipts.KeyRevoked)
	writeKeyFile(t, dir, revoked, active)
	set := current(t, openStore(t, dir))
	stranger := newTestKey(t, "IT-GE", receipts.KeyActive)
	payload, _ := fixedClaims().MarshalPayload()
	otherIss := fixedClaims()
	otherIss.Issuer = "IT-MI"
	otherPayload, _ := otherIss.MarshalPayload()
	prot := func(alg cose.Algorithm, kid []byte) cose.ProtectedHeader {
		return cose.ProtectedHeader{cose.HeaderLabelAlgorithm: alg, cose.HeaderLabelKeyID: kid}
	}
	valid := craft(t, active, prot(cose.AlgorithmES256, active.kid(t)), payload)

	algSwap := splitCode(t, valid)
	algSwap.Protected = append([]byte{0xa2, 0x01, 0x38, 0x22, 0x04, 0x48}, active.kid(t)...) // alg -35 (ES384)
	kidUnprotected := splitCode(t, valid)
	kidUnprotected.Protected = []byte{0xa1, 0x01, 0x26}
	kidUnprotected.Unprotected = map[int]any{4: active.kid(t)}

	scenarios := []struct {
		name string
		code string
		want receipts.Reason
	}{
		{"valid via hand-written key file", valid, ""},
		{"algorithm swap to ES384", joinCode(t, algSwap), receipts.ReasonUnsupportedAlg},
		{"kid only in unprotected header", joinCode(t, kidUnprotected), receipts.ReasonMalformed},
		{"unknown kid", craft(t, stranger, prot(cose.AlgorithmES256, stranger.kid(t)), payload), receipts.ReasonUnknownKey},
		{"known kid, signed by a stranger", craft(t, stranger, prot(cose.AlgorithmES256, active.kid(t)), payload), receipts.ReasonBadSignature},
		{"revoked key", craft(t, revoked, prot(cose.AlgorithmES256, revoked.kid(t)), payload), receipts.ReasonRevokedKey},
		{"wrong issuer", craft(t, active, prot(cose.AlgorithmES256, active.kid(t)), otherPayload), receipts.ReasonWrongIssuer},
		{"signed garbage payload", craft(t, active, prot(cose.AlgorithmES256, active.kid(t)), []byte{0x01}), receipts.ReasonMalformed},
		{"lowercase", strings.ToLower(valid), receipts.ReasonMalformed},
		{"lowercase body", "CR1:" + strings.ToLower(valid[4:]), receipts.ReasonMalformed},
		{"truncated by one char", valid[:len(valid)-1], receipts.ReasonMalformed},
		{"truncated by three chars", valid[:len(valid)-3], receipts.ReasonMalformed},
		{"no prefix", valid[4:], receipts.ReasonMalformed},
		{"wrong prefix version", "CR2:" + valid[4:], receipts.ReasonMalformed},
		{"empty", "", receipts.ReasonMalformed},
		{"oversized", "CR1:" + strings.Repeat("0", receipts.MaxCodeLen), receipts.ReasonMalformed},
		{"garbage", "CR1:hello world", receipts.ReasonMalformed},
		{"untagged COSE", "CR1:" + receipts.Base45Encode(mustParse(t, valid)[1:]), receipts.ReasonMalformed},
		{"deep nesting bomb", "CR1:" + receipts.Base45Encode(append([]byte{0xd2}, bytes.Repeat([]byte{0x81}, 200)...)), receipts.ReasonMalformed},
		{"huge length bomb", "CR1:" + receipts.Base45Encode([]byte{0xd2, 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), receipts.ReasonMalformed},
		{"huge array bomb", "CR1:" + receipts.Base45Encode([]byte{0xd2, 0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}), receipts.ReasonMalformed},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			v, verr := set.Verify(s.code)
			switch {
			case s.want == "" && verr != nil:
				t.Fatalf("want valid, got %v", verr)
			case s.want != "" && verr == nil:
				t.Fatalf("want %s, got valid %+v", s.want, v.Claims)
			case s.want != "" && verr.Reason != s.want:
				t.Fatalf("want %s, got %v", s.want, verr)
			}
		})
	}
}

func mustParse(t testing.TB, code string) []byte {
	t.Helper()
	raw, err := receipts.ParseCode(code)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestKeyStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	ks := openStore(t, dir)
	fi, err := os.Stat(ks.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	first := current(t, ks)
	oldCode := signFixed(t, first)
	tag := first.HolderTag("citizen1")

	// reopening keeps the key and the holder secret
	again := current(t, openStore(t, dir))
	if !bytes.Equal(again.Active().Kid, first.Active().Kid) || !bytes.Equal(again.HolderTag("citizen1"), tag) {
		t.Fatal("reopen changed the key or the holder secret")
	}

	// rotate: the old key is retired, keeps verifying, loses its private half
	nk, err := ks.Rotate("IT-GE")
	if err != nil {
		t.Fatal(err)
	}
	set := current(t, ks)
	old := set.Lookup(first.Active().Kid)
	if bytes.Equal(nk.Kid, old.Kid) || old.Status != receipts.KeyRetired || set.Active() != set.Lookup(nk.Kid) {
		t.Fatalf("after rotate: old %s, active %s", old.Status, set.Active().KidString())
	}
	if _, verr := set.Verify(oldCode); verr != nil {
		t.Fatalf("old receipt after rotation: %v", verr)
	}
	if _, err := receipts.Sign(fixedClaims(), old); err == nil {
		t.Fatal("a retired key signed")
	}
	data, _ := os.ReadFile(ks.Path())
	if n := strings.Count(string(data), `"private"`); n != 1 {
		t.Fatalf("%d private keys on disk, want 1 (the active one)", n)
	}
	if !bytes.Equal(set.HolderTag("citizen1"), tag) {
		t.Fatal("rotation changed the holder secret")
	}

	// another process (a second store on the same dir, like the CLI) revokes: this store sees it
	other := openStore(t, dir)
	// no sleep: retired -> revoked keeps the file's size, and the reload must not depend on mtime ticks
	if err := other.RevokeKey(old.KidString(), "IT-GE"); err != nil {
		t.Fatal(err)
	}
	if _, verr := current(t, ks).Verify(oldCode); verr == nil || verr.Reason != receipts.ReasonRevokedKey {
		t.Fatalf("after revoke-key: %v, want revoked_key", verr)
	}

	// revoking the active key rotates a fresh one in
	activeKid := current(t, ks).Active().KidString()
	if err := ks.RevokeKey(activeKid, "IT-GE"); err != nil {
		t.Fatal(err)
	}
	set = current(t, ks)
	if set.Active() == nil || set.Active().KidString() == activeKid || len(set.Keys()) != 3 {
		t.Fatalf("after revoking the active key: %d keys, active %v", len(set.Keys()), set.Active())
	}
	if err := ks.RevokeKey("AAAAAAAAAAA", "IT-GE"); err == nil {
		t.Fatal("revoked an unknown kid")
	}

	// a broken file written behind the store's back does not stop a running store
	good := current(t, ks)
	saved, _ := os.ReadFile(ks.Path())
	os.WriteFile(ks.Path(), []byte("{broken"), 0o600)
	if got := current(t, ks); got != good {
		t.Fatal("a broken key file replaced the last good key set")
	}
	ks.Rotate("IT-GE") // Rotate reads the file and must refuse to overwrite what it cannot parse
	if data, _ := os.ReadFile(ks.Path()); string(data) != "{broken" {
		t.Fatal("rotate overwrote an unreadable key file")
	}
	os.WriteFile(ks.Path(), saved, 0o600)

	// a new issuer code rotates in a key for it
	moved, err := receipts.OpenKeyStore(dir, "IT-MI")
	if err != nil {
		t.Fatal(err)
	}
	if a := current(t, moved).Active(); a.Issuer != "IT-MI" {
		t.Fatalf("active issuer %s", a.Issuer)
	}
}

func TestKeyStoreRejectsBadFiles(t *testing.T) {
	scenarios := []struct {
		name string
		data string
	}{
		{"not json", "{"},
		{"no holder secret", `{"keys":[]}`},
		{"unknown status", `{"holderSecret":"` + strings.Repeat("A", 43) + `","keys":[{"status":"weird","public":""}]}`},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, receipts.KeyFileName), []byte(s.data), 0o600)
			if _, err := receipts.OpenKeyStore(dir, "IT-GE"); err == nil {
				t.Fatal("opened a bad key file")
			}
		})
	}
	t.Run("two active keys", func(t *testing.T) {
		dir := t.TempDir()
		writeKeyFile(t, dir, newTestKey(t, "IT-GE", receipts.KeyActive), newTestKey(t, "IT-GE", receipts.KeyActive))
		if _, err := receipts.OpenKeyStore(dir, "IT-GE"); err == nil {
			t.Fatal("opened a file with two active keys")
		}
	})
	t.Run("world-readable file is narrowed", func(t *testing.T) {
		dir := t.TempDir()
		writeKeyFile(t, dir, newTestKey(t, "IT-GE", receipts.KeyActive))
		p := filepath.Join(dir, receipts.KeyFileName)
		os.Chmod(p, 0o644)
		openStore(t, dir)
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode().Perm())
		}
	})
}
