package receipts

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// MaxCodeLen caps the length of a code the verifier looks at. A version 13 QR
// at level Q holds 352 alphanumeric characters; the cap leaves room for growth
// while keeping decoding cheap.
const MaxCodeLen = 1024

// Reason says why a code is not a valid receipt (stable, machine-readable).
type Reason string

// Verification reasons (docs/receipts.md lists them).
const (
	ReasonMalformed      Reason = "malformed"             // not CR1: + Base45 of a COSE_Sign1 with valid claims
	ReasonUnsupportedAlg Reason = "unsupported_algorithm" // protected alg is not ES256 (-7)
	ReasonUnknownKey     Reason = "unknown_key"           // kid not in the JWKS
	ReasonRevokedKey     Reason = "revoked_key"           // kid is revoked
	ReasonBadSignature   Reason = "bad_signature"         // signature does not verify
	ReasonWrongIssuer    Reason = "wrong_issuer"          // iss differs from the signing key's iss
	ReasonRevoked        Reason = "revoked_receipt"       // this receipt (cti) was revoked
)

// VerifyError is the reason a code failed, with a human-readable detail.
type VerifyError struct {
	Reason Reason
	Detail string
}

// Error implements error.
func (e *VerifyError) Error() string { return string(e.Reason) + ": " + e.Detail }

func fail(r Reason, format string, args ...any) *VerifyError {
	return &VerifyError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// coseDecMode checks an untrusted COSE_Sign1 for well-formedness before go-cose
// parses it: bounded nesting, container sizes and no indefinite lengths, so a
// CBOR bomb is refused in one linear pass without allocation.
var coseDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  6,
		MaxArrayElements: 16,
		MaxMapPairs:      16,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// Sign returns the receipt code (CR1: + Base45 of a tagged COSE_Sign1) for c, signed with key.
func Sign(c *Claims, key *Key) (string, error) {
	if key == nil || key.private == nil {
		return "", errors.New("sign receipt: no private key")
	}
	if c.Issuer != key.Issuer {
		// a verifier binds iss to the key's iss in the JWKS: such a code would never verify
		return "", fmt.Errorf("sign receipt: iss %q differs from key %s's issuer %q", c.Issuer, key.KidString(), key.Issuer)
	}
	payload, err := c.MarshalPayload()
	if err != nil {
		return "", err
	}
	signer, err := cose.NewSigner(cose.AlgorithmES256, key.private)
	if err != nil {
		return "", fmt.Errorf("cose signer: %w", err)
	}
	msg := cose.Sign1Message{
		Headers: cose.Headers{
			Protected:   cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: key.Kid},
			Unprotected: cose.UnprotectedHeader{},
		},
		Payload: payload,
	}
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		return "", fmt.Errorf("cose sign: %w", err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		return "", fmt.Errorf("cose encode: %w", err)
	}
	return Prefix + Base45Encode(raw), nil
}

// Verified is a code that passed every offline check.
type Verified struct {
	Claims *Claims
	Key    *Key
}

// Verify checks code against the key set: format, algorithm, key status,
// signature and issuer. It never panics on any input; receipt revocation (an
// online check) is the caller's (see Service.Verify).
func (s *KeySet) Verify(code string) (*Verified, *VerifyError) {
	if len(code) > MaxCodeLen {
		return nil, fail(ReasonMalformed, "code longer than %d characters", MaxCodeLen)
	}
	if !strings.HasPrefix(code, Prefix) {
		return nil, fail(ReasonMalformed, "code does not start with %q", Prefix)
	}
	raw, err := Base45Decode(code[len(Prefix):])
	if err != nil {
		return nil, fail(ReasonMalformed, "%v", err)
	}
	if err := coseDecMode.Wellformed(raw); err != nil {
		return nil, fail(ReasonMalformed, "CBOR: %v", err)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(raw); err != nil {
		return nil, fail(ReasonMalformed, "COSE_Sign1: %v", err)
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		return nil, fail(ReasonMalformed, "protected alg: %v", err)
	}
	if alg != cose.AlgorithmES256 {
		return nil, fail(ReasonUnsupportedAlg, "algorithm %v, want ES256", alg)
	}
	kid, ok := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if !ok || len(kid) != KidSize {
		return nil, fail(ReasonMalformed, "protected header needs a %d-byte kid", KidSize)
	}
	key := s.Lookup(kid)
	if key == nil {
		return nil, fail(ReasonUnknownKey, "no key with kid %x", kid)
	}
	if key.Status == KeyRevoked {
		return nil, fail(ReasonRevokedKey, "key %s is revoked", key.KidString())
	}
	verifier, err := cose.NewVerifier(cose.AlgorithmES256, key.Public)
	if err != nil {
		return nil, fail(ReasonMalformed, "verifier: %v", err)
	}
	if err := msg.Verify(nil, verifier); err != nil {
		return nil, fail(ReasonBadSignature, "signature does not verify with key %s", key.KidString())
	}
	claims, err := UnmarshalPayload(msg.Payload)
	if err != nil {
		return nil, fail(ReasonMalformed, "claims: %v", err)
	}
	if claims.Issuer != key.Issuer {
		return nil, fail(ReasonWrongIssuer, "iss %q but key %s belongs to %q", claims.Issuer, key.KidString(), key.Issuer)
	}
	return &Verified{Claims: claims, Key: key}, nil
}

// ParseCode returns the raw COSE_Sign1 bytes of a code without verifying it.
func ParseCode(code string) ([]byte, error) {
	if !strings.HasPrefix(code, Prefix) {
		return nil, fmt.Errorf("parse receipt code: missing %q prefix", Prefix)
	}
	b, err := Base45Decode(code[len(Prefix):])
	if err != nil {
		return nil, fmt.Errorf("parse receipt code: %w", err)
	}
	return b, nil
}
