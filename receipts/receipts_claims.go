package receipts

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Prefix starts every receipt code (version 1 of this format).
const Prefix = "CR1:"

// SchemaVersion is claim -65537/1.
const SchemaVersion = 1

// ClaimKey is the private CWT claim that holds the receipt map.
const ClaimKey = -65537

// CTISize is the length of the random receipt id (CWT cti).
const CTISize = 16

// HolderTagSize is the length of the holder tag.
const HolderTagSize = 8

// Receipt kinds (the receipts collection's kind values).
const (
	KindReceived = "received"
	KindResolved = "resolved"
	KindPayment  = "payment"
	KindRefund   = "refund" // a refund recorded on a fee: claim 9 = 3, claim 15 (receipts_refund.go)
	KindBallot   = "ballot" // participation receipt of a consultation ballot (receipts_ballot.go)
)

// Field caps keep every receipt inside a version 13 QR code at level Q (see
// docs/receipts.md "Size budget"): received and resolved receipts stay within
// 300 Base45 characters, payment receipts within 348.
const (
	MaxIssuerLen     = 8
	MaxNumberLen     = 16
	MaxServiceLen    = 24
	MaxStatusLen     = 15 // "waiting_citizen"
	MaxCurrencyLen   = 3
	MaxPaymentRefLen = 18
	MaxAmount        = math.MaxUint32
	MaxBallotVersion = math.MaxUint32
)

// Claims are the facts a receipt proves. Amount, Currency and PaymentRef are set
// on payment receipts only; Holder is empty when the request has no citizen.
type Claims struct {
	Issuer     string
	IssuedAt   time.Time // whole seconds
	CTI        []byte
	Version    int
	Number     string
	Service    string
	Status     string
	Amount     *uint64
	Currency   string
	PaymentRef string
	Holder     []byte
	// Payment extension (keys 9-15, research/payments.md §5.5), on payment
	// receipts issued from the fee ledger; all optional.
	Pay *PaymentClaims
	// BallotVersion (claim key 16) is set on ballot receipts only.
	BallotVersion *uint64
}

// PaymentClaims are the payment receipt's extension claims (docs/receipts.md §3).
type PaymentClaims struct {
	Kind      int     // 9: 2 payment receipt, 3 refund receipt
	Method    int     // 10: 1 SCT … 9 counter
	PaidAt    int64   // 11: epoch seconds (booking date for bank credits)
	FeeID     string  // 12: the fee's record id
	Evidence  []byte  // 13: first 8 bytes of SHA-256 of the evidence id
	AmountDue *uint64 // 14: what the fee asked, when it differs from the amount paid
	Refunded  *uint64 // 15: refund receipts: the total refunded on the fee, this refund included
}

// Payment receipt kinds (claim 9) and the limits of the extension.
const (
	PayKindRequest = 1
	PayKindPayment = 2
	PayKindRefund  = 3
	MaxMethod      = 9
	MaxFeeIDLen    = 15
	EvidenceSize   = 8
)

// Kind derives the receipt kind from the claims: payment when an amount is
// present, otherwise the status at issue (received or resolved).
func (c *Claims) Kind() string {
	if c.BallotVersion != nil {
		return KindBallot
	}
	if c.Pay != nil && c.Pay.Kind == PayKindRefund {
		return KindRefund
	}
	if c.Amount != nil {
		return KindPayment
	}
	return c.Status
}

// cwtPayload is the CWT (RFC 8392) in its CBOR form. keyasint with the
// core deterministic encoding gives the byte layout of CONTRACT §6.
type cwtPayload struct {
	Iss     string       `cbor:"1,keyasint"`
	Iat     int64        `cbor:"6,keyasint"`
	Cti     []byte       `cbor:"7,keyasint"`
	Receipt receiptClaim `cbor:"-65537,keyasint"`
}

type receiptClaim struct {
	Version    int     `cbor:"1,keyasint"`
	Number     string  `cbor:"2,keyasint"`
	Service    string  `cbor:"3,keyasint"`
	Status     string  `cbor:"4,keyasint"`
	Amount     *uint64 `cbor:"5,keyasint,omitempty"`
	Currency   string  `cbor:"6,keyasint,omitempty"`
	PaymentRef string  `cbor:"7,keyasint,omitempty"`
	Holder     []byte  `cbor:"8,keyasint,omitempty"`
	PayKind    int     `cbor:"9,keyasint,omitempty"`
	Method     int     `cbor:"10,keyasint,omitempty"`
	PaidAt     int64   `cbor:"11,keyasint,omitempty"`
	FeeID      string  `cbor:"12,keyasint,omitempty"`
	Evidence   []byte  `cbor:"13,keyasint,omitempty"`
	AmountDue  *uint64 `cbor:"14,keyasint,omitempty"`
	Refunded   *uint64 `cbor:"15,keyasint,omitempty"`
	// extension keys (CONTRACT §6): 16 ballot version
	BallotVersion *uint64 `cbor:"16,keyasint,omitempty"`
}

var (
	// encMode is RFC 8949 §4.2.1 core deterministic encoding.
	encMode = func() cbor.EncMode {
		em, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return em
	}()

	// payloadDecMode decodes untrusted claims: no duplicates, no indefinite
	// lengths, no tags, no unknown claims, tight nesting and container limits.
	payloadDecMode = func() cbor.DecMode {
		dm, err := cbor.DecOptions{
			DupMapKey:         cbor.DupMapKeyEnforcedAPF,
			IndefLength:       cbor.IndefLengthForbidden,
			TagsMd:            cbor.TagsForbidden,
			MaxNestedLevels:   4,
			MaxArrayElements:  16,
			MaxMapPairs:       16,
			ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
			UTF8:              cbor.UTF8RejectInvalid,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return dm
	}()
)

var (
	issuerPattern   = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]*$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// ValidateIssuer checks an issuer code (uppercase letters, digits and '-', at
// most MaxIssuerLen characters, e.g. "IT-GE").
func ValidateIssuer(iss string) error {
	if len(iss) > MaxIssuerLen || !issuerPattern.MatchString(iss) {
		return fmt.Errorf("receipt issuer %q: want 1-%d of A-Z, 0-9 and '-' (e.g. IT-GE)", iss, MaxIssuerLen)
	}
	return nil
}

// Validate checks the claims against the format: required fields, lengths and
// the payment fields' consistency. Both issuing and verifying use it.
func (c *Claims) Validate() error {
	text := func(name, v string, max int) error {
		if v == "" || len(v) > max || !utf8.ValidString(v) {
			return fmt.Errorf("%s: want 1-%d bytes of UTF-8, got %d", name, max, len(v))
		}
		return nil
	}
	if err := ValidateIssuer(c.Issuer); err != nil {
		return err
	}
	if c.Version != SchemaVersion {
		return fmt.Errorf("schema version %d: want %d", c.Version, SchemaVersion)
	}
	if c.IssuedAt.Unix() <= 0 {
		return errors.New("iat: want a positive time")
	}
	if len(c.CTI) != CTISize {
		return fmt.Errorf("cti: want %d bytes, got %d", CTISize, len(c.CTI))
	}
	if err := errors.Join(text("number", c.Number, MaxNumberLen), text("service", c.Service, MaxServiceLen), text("status", c.Status, MaxStatusLen)); err != nil {
		return err
	}
	if c.Holder != nil && len(c.Holder) != HolderTagSize {
		return fmt.Errorf("holder: want %d bytes, got %d", HolderTagSize, len(c.Holder))
	}
	if c.BallotVersion != nil && (*c.BallotVersion < 1 || *c.BallotVersion > MaxBallotVersion || c.Amount != nil) {
		return fmt.Errorf("ballot version: want 1-%d and no amount", MaxBallotVersion)
	}
	if c.Amount == nil {
		if c.Currency != "" || c.PaymentRef != "" || c.Pay != nil {
			return errors.New("currency, payment reference and payment claims need an amount")
		}
		return nil
	}
	if p := c.Pay; p != nil {
		if p.Kind != PayKindPayment && p.Kind != PayKindRefund {
			return fmt.Errorf("payment kind %d: want %d (payment) or %d (refund)", p.Kind, PayKindPayment, PayKindRefund)
		}
		if p.Method < 0 || p.Method > MaxMethod {
			return fmt.Errorf("payment method %d: want 1-%d", p.Method, MaxMethod)
		}
		if p.PaidAt < 0 {
			return errors.New("paid_at: want a time after 1970")
		}
		if len(p.FeeID) > MaxFeeIDLen {
			return fmt.Errorf("fee id: at most %d characters", MaxFeeIDLen)
		}
		if p.Evidence != nil && len(p.Evidence) != EvidenceSize {
			return fmt.Errorf("evidence tag: want %d bytes", EvidenceSize)
		}
		if p.AmountDue != nil && *p.AmountDue > MaxAmount {
			return fmt.Errorf("amount due: at most %d minor units", uint64(MaxAmount))
		}
		if (p.Refunded != nil) != (p.Kind == PayKindRefund) {
			return errors.New("refunded amount: on refund receipts, and only there")
		}
		if p.Refunded != nil && (*p.Refunded == 0 || *p.Refunded > MaxAmount) {
			return fmt.Errorf("refunded amount: want 1-%d minor units", uint64(MaxAmount))
		}
	}
	if *c.Amount > MaxAmount {
		return fmt.Errorf("amount: at most %d minor units", uint64(MaxAmount))
	}
	if !currencyPattern.MatchString(c.Currency) {
		return fmt.Errorf("currency %q: want an ISO 4217 code", c.Currency)
	}
	if len(c.PaymentRef) > MaxPaymentRefLen || !utf8.ValidString(c.PaymentRef) {
		return fmt.Errorf("payment reference: at most %d bytes of UTF-8", MaxPaymentRefLen)
	}
	return nil
}

// MarshalPayload returns the deterministic CBOR CWT of c (the COSE payload).
func (c *Claims) MarshalPayload() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("receipt claims: %w", err)
	}
	p := cwtPayload{
		Iss: c.Issuer,
		Iat: c.IssuedAt.Unix(),
		Cti: c.CTI,
		Receipt: receiptClaim{
			Version: c.Version, Number: c.Number, Service: c.Service, Status: c.Status,
			Amount: c.Amount, Currency: c.Currency, PaymentRef: c.PaymentRef, Holder: c.Holder,
			BallotVersion: c.BallotVersion,
		},
	}
	if pc := c.Pay; pc != nil {
		p.Receipt.PayKind, p.Receipt.Method, p.Receipt.PaidAt = pc.Kind, pc.Method, pc.PaidAt
		p.Receipt.FeeID, p.Receipt.Evidence, p.Receipt.AmountDue = pc.FeeID, pc.Evidence, pc.AmountDue
		p.Receipt.Refunded = pc.Refunded
	}
	b, err := encMode.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	return b, nil
}

// UnmarshalPayload decodes and validates an untrusted CWT payload.
func UnmarshalPayload(b []byte) (*Claims, error) {
	var p cwtPayload
	if err := payloadDecMode.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	c := &Claims{
		Issuer: p.Iss, IssuedAt: time.Unix(p.Iat, 0).UTC(), CTI: p.Cti,
		Version: p.Receipt.Version, Number: p.Receipt.Number, Service: p.Receipt.Service, Status: p.Receipt.Status,
		Amount: p.Receipt.Amount, Currency: p.Receipt.Currency, PaymentRef: p.Receipt.PaymentRef, Holder: p.Receipt.Holder,
		BallotVersion: p.Receipt.BallotVersion,
	}
	r := p.Receipt
	if r.PayKind != 0 || r.Method != 0 || r.PaidAt != 0 || r.FeeID != "" || r.Evidence != nil || r.AmountDue != nil || r.Refunded != nil {
		c.Pay = &PaymentClaims{Kind: r.PayKind, Method: r.Method, PaidAt: r.PaidAt, FeeID: r.FeeID, Evidence: r.Evidence, AmountDue: r.AmountDue, Refunded: r.Refunded}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func holderTag(secret []byte, citizenID string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(citizenID))
	return m.Sum(nil)[:HolderTagSize]
}
