package receipts

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"civicdesk/city"
	"civicdesk/rawinsert"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Collection and field names this package writes.
const (
	collReceipts = "receipts"
	collServices = "services"
)

const serviceStoreKey = "civicdesk.receipts.service"

// Service is the receipts machinery of one app: its key store, issuing and verification.
type Service struct {
	app core.App

	mu   sync.Mutex
	keys *KeyStore

	codes sync.Map // service id -> code (serviceCode)
}

// Of returns the receipts service of app (one per app, shared by its transactions).
func Of(app core.App) *Service {
	return app.Store().GetOrSet(serviceStoreKey, func() any {
		return &Service{app: app}
	}).(*Service)
}

// KeyStore opens the key file in the data dir on first use, creating the first
// key when there is none. OnBootstrap calls it so a fresh server has its key
// from the start; tests, whose apps bootstrap before Register, get it lazily.
func (s *Service) KeyStore() (*KeyStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		return s.keys, nil
	}
	ks, err := OpenKeyStore(s.app.DataDir(), city.Of(s.app).IssuerCode)
	if err != nil {
		return nil, fmt.Errorf("receipt keys: %w", err)
	}
	s.keys = ks
	return ks, nil
}

// Keys returns the current key set.
func (s *Service) Keys() (*KeySet, error) {
	ks, err := s.KeyStore()
	if err != nil {
		return nil, err
	}
	return ks.Current()
}

// Issue signs a receipt of kind for the request req and saves it through txApp
// (the caller's transaction, so the receipt commits or rolls back with the
// change that caused it). It returns the saved receipts record.
func (s *Service) Issue(txApp core.App, req *core.Record, kind string) (*core.Record, error) {
	set, key, cti, err := s.start(kind + " receipt")
	if err != nil {
		return nil, err
	}
	serviceCode, err := s.serviceCode(txApp, req.GetString("service"))
	if err != nil {
		return nil, fmt.Errorf("issue receipt: service of request %s: %w", req.Id, err)
	}
	c := &Claims{
		Issuer:   key.Issuer,
		IssuedAt: time.Now().UTC().Truncate(time.Second),
		CTI:      cti,
		Version:  SchemaVersion,
		Number:   req.GetString("number"),
		Service:  serviceCode,
		Status:   req.GetString("status"),
	}
	if citizen := req.GetString("citizen"); citizen != "" {
		c.Holder = set.HolderTag(citizen)
	}
	if kind == KindPayment {
		fee := req.GetInt("fee")
		if fee < 0 {
			return nil, fmt.Errorf("issue receipt: request %s has a negative fee", req.Id)
		}
		amount := uint64(fee)
		c.Amount = &amount
		c.Currency = req.GetString("currency")
		c.PaymentRef = req.GetString("payment_ref")
		if p := workflow.PaymentOf(req); p != nil {
			applyPayment(c, p)
		}
	}
	return s.insert(txApp, req, c, key, kind)
}

// start returns what every receipt's claims begin with: the current key
// set, its active key and a fresh CTI (what names the receipt in errors).
func (s *Service) start(what string) (*KeySet, *Key, []byte, error) {
	set, err := s.Keys()
	if err != nil {
		return nil, nil, nil, err
	}
	key := set.Active()
	if key == nil {
		return nil, nil, nil, fmt.Errorf("issue %s: no active signing key", what)
	}
	cti := make([]byte, CTISize)
	if _, err := rand.Read(cti); err != nil {
		return nil, nil, nil, fmt.Errorf("issue %s: cti: %w", what, err)
	}
	return set, key, cti, nil
}

// signedRow signs c with key and returns the stored fields of its receipts
// row of kind.
func signedRow(c *Claims, key *Key, kind string) (map[string]any, error) {
	code, err := Sign(c, key)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"code":      code,
		"kind":      kind,
		"issued_at": c.IssuedAt,
		"kid":       key.KidString(),
		"cti":       hex.EncodeToString(c.CTI),
	}, nil
}

// insert signs c as request req's receipt of kind and writes it in txApp.
// A server-generated row: a prepared INSERT, no Save (package rawinsert);
// the push notification and the sync poke follow from OnReceiptIssued and
// the after-commit hook rawinsert fires.
func (s *Service) insert(txApp core.App, req *core.Record, c *Claims, key *Key, kind string) (*core.Record, error) {
	row, err := signedRow(c, key, kind)
	if err != nil {
		return nil, fmt.Errorf("issue %s receipt for request %s: %w", kind, req.Id, err)
	}
	row["request"] = req.Id
	rec, err := rawinsert.Insert(txApp, collReceipts, row)
	if err != nil {
		return nil, fmt.Errorf("save %s receipt for request %s: %w", kind, req.Id, err)
	}
	if err := workflow.Of(txApp).OnReceiptIssued.Trigger(&workflow.Event{App: txApp, Request: req, Receipt: rec, Actor: workflow.System, To: req.GetString("status")}); err != nil {
		return nil, fmt.Errorf("%s receipt for request %s: %w", kind, req.Id, err)
	}
	return rec, nil
}

// serviceCode returns the code of service id, from a cache the services'
// own hooks clear (a receipt is issued on every accepted request; the code
// changes about never).
func (s *Service) serviceCode(txApp core.App, id string) (string, error) {
	if v, ok := s.codes.Load(id); ok {
		return v.(string), nil
	}
	var code string
	if err := txApp.DB().NewQuery("SELECT [[code]] FROM {{" + collServices + "}} WHERE [[id]] = {:id}").Bind(dbx.Params{"id": id}).Row(&code); err != nil {
		return "", err
	}
	s.codes.Store(id, code)
	return code, nil
}

// forgetServiceCodes clears the service code cache (a service was written).
func (s *Service) forgetServiceCodes() {
	s.codes.Clear()
}

// Result is the answer of POST /api/receipts/verify.
type Result struct {
	Valid   bool        `json:"valid"`
	Reason  Reason      `json:"reason"`
	Message string      `json:"message"`
	Claims  *ClaimsJSON `json:"claims"`
	// Superseded is true for a ballot receipt whose ballot was replaced by a
	// later version (the receipt stays valid: it proves what was received).
	Superseded bool `json:"superseded,omitempty"`
}

// ClaimsJSON is the plain-language view of verified claims.
type ClaimsJSON struct {
	Kind       string  `json:"kind"`
	Issuer     string  `json:"iss"`
	IssuedAt   string  `json:"iat"` // RFC 3339 UTC
	CTI        string  `json:"cti"` // hex
	Kid        string  `json:"kid"`
	KeyStatus  string  `json:"keyStatus"`
	Version    int     `json:"version"`
	Number     string  `json:"number"`
	Service    string  `json:"service"`
	Status     string  `json:"status"`
	Amount     *uint64 `json:"amount,omitempty"`
	Currency   string  `json:"currency,omitempty"`
	PaymentRef string  `json:"paymentRef,omitempty"`
	Holder     string  `json:"holder,omitempty"` // hex
	// payment extension (keys 9-14)
	PaymentKind string  `json:"paymentKind,omitempty"` // payment, refund
	Method      string  `json:"method,omitempty"`      // sct, sct_inst, hct, swish, bankgiro, uk_fps, card, pagopa, counter
	PaidAt      string  `json:"paidAt,omitempty"`      // RFC 3339 UTC
	FeeID       string  `json:"feeId,omitempty"`
	Evidence    string  `json:"evidence,omitempty"` // hex
	AmountDue   *uint64 `json:"amountDue,omitempty"`
	Refunded    *uint64 `json:"refunded,omitempty"` // refund receipts: total refunded (key 15)
	// BallotVersion is the version of a ballot receipt (kind ballot).
	BallotVersion *uint64 `json:"ballotVersion,omitempty"`
}

func claimsJSON(v *Verified) *ClaimsJSON {
	c := v.Claims
	out := &ClaimsJSON{
		Kind: c.Kind(), Issuer: c.Issuer, IssuedAt: c.IssuedAt.UTC().Format(time.RFC3339),
		CTI: hex.EncodeToString(c.CTI), Kid: v.Key.KidString(), KeyStatus: v.Key.Status,
		Version: c.Version, Number: c.Number, Service: c.Service, Status: c.Status,
		Amount: c.Amount, Currency: c.Currency, PaymentRef: c.PaymentRef,
		BallotVersion: c.BallotVersion,
	}
	if c.Holder != nil {
		out.Holder = hex.EncodeToString(c.Holder)
	}
	if p := c.Pay; p != nil {
		out.PaymentKind = map[int]string{PayKindPayment: "payment", PayKindRefund: "refund"}[p.Kind]
		if p.Method >= 1 && p.Method <= MaxMethod {
			out.Method = MethodNames[p.Method-1]
		}
		if p.PaidAt > 0 {
			out.PaidAt = time.Unix(p.PaidAt, 0).UTC().Format(time.RFC3339)
		}
		out.FeeID, out.AmountDue, out.Refunded = p.FeeID, p.AmountDue, p.Refunded
		if p.Evidence != nil {
			out.Evidence = hex.EncodeToString(p.Evidence)
		}
	}
	return out
}

// Verify checks a code offline (Keys().Verify) and then online: a receipt
// revoked with `civicdesk receipts revoke` is invalid. Errors are only for
// server trouble (keys unreadable, database down), never for a bad code.
func (s *Service) Verify(code string) (*Result, error) {
	set, err := s.Keys()
	if err != nil {
		return nil, err
	}
	v, verr := set.Verify(code)
	if verr != nil {
		return &Result{Reason: verr.Reason, Message: verr.Detail}, nil
	}
	res := &Result{Valid: true, Claims: claimsJSON(v)}
	rec, err := s.app.FindFirstRecordByData(collReceipts, "cti", res.Claims.CTI)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// not on file (e.g. its request was deleted): the signature still stands
	case err != nil:
		return nil, fmt.Errorf("verify: receipt lookup: %w", err)
	case rec.GetBool("revoked"):
		res.Valid = false
		res.Reason = ReasonRevoked
		res.Message = "This receipt was revoked: " + rec.GetString("revoked_reason")
	case rec.GetBool("superseded"):
		res.Superseded = true
		res.Message = "This ballot version was received but replaced by a later version; only the latest counts."
	}
	return res, nil
}

// Revoke marks the receipt with the record id or cti (hex) revoked with reason.
func (s *Service) Revoke(idOrCTI, reason string) (*core.Record, error) {
	if reason == "" {
		return nil, errors.New("revoke receipt: a reason is required")
	}
	rec, err := s.app.FindRecordById(collReceipts, idOrCTI)
	if errors.Is(err, sql.ErrNoRows) {
		rec, err = s.app.FindFirstRecordByData(collReceipts, "cti", idOrCTI)
	}
	if err != nil {
		return nil, fmt.Errorf("revoke receipt %q: %w", idOrCTI, err)
	}
	rec.Set("revoked", true)
	rec.Set("revoked_reason", reason)
	if err := s.app.Save(rec); err != nil {
		return nil, fmt.Errorf("revoke receipt %q: %w", idOrCTI, err)
	}
	return rec, nil
}
