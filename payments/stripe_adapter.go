package payments

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// stripeTolerance is how old a Stripe-Signature timestamp may be (stripe-go
// webhook.DefaultTolerance).
const stripeTolerance = 300 * time.Second

// stripeSessionTTL is how long a Checkout Session stays payable (Stripe
// accepts 30 minutes to 24 hours).
const stripeSessionTTL = time.Hour

// stripe is the card adapter through Stripe Checkout: fulfilment from
// webhooks only (the success page proves nothing), with the delayed
// methods' async_payment_succeeded/failed and the session's expiry.
type stripe struct {
	cardPlatform
	platformClient
	cfg StripeConfig
	now func() time.Time
}

func newStripe(cfg StripeConfig) *stripe {
	return &stripe{cfg: cfg, platformClient: newPlatformClient("stripe"), now: time.Now}
}

// Kind implements Provider.
func (s *stripe) Kind() string { return KindStripe }

// Caps implements Provider.
func (s *stripe) Caps() Caps {
	return Caps{Currencies: []string{"EUR", "GBP", "SEK", "HUF"}, Redirect: true, RefundAPI: true, Async: true, MaxValidity: stripeSessionTTL}
}

type stripeSession struct {
	ID                string `json:"id"`
	URL               string `json:"url"`
	Status            string `json:"status"`
	PaymentStatus     string `json:"payment_status"`
	AmountTotal       int64  `json:"amount_total"`
	Currency          string `json:"currency"`
	PaymentIntent     string `json:"payment_intent"`
	ClientReferenceID string `json:"client_reference_id"`
	ExpiresAt         int64  `json:"expires_at"`
}

func (s *stripe) do(ctx context.Context, method, path string, form url.Values, idem string) (int, []byte, error) {
	h := http.Header{"Authorization": {"Bearer " + s.cfg.SecretKey}}
	if idem != "" {
		h.Set("Idempotency-Key", idem)
	}
	var body []byte
	if form != nil {
		body = []byte(form.Encode())
	}
	return s.call(ctx, method, s.cfg.BaseURL, path, "application/x-www-form-urlencoded", body, h)
}

func stripeFail(op string, st int, body []byte) error {
	var e struct {
		Error struct {
			Type, Code, Message string
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return fmt.Errorf("stripe %s: %d %s %s", op, st, e.Error.Code, e.Error.Message)
}

// Begin implements Provider: POST /v1/checkout/sessions, client_reference_id
// = the attempt id, which is also the Idempotency-Key.
func (s *stripe) Begin(ctx context.Context, fee FeeInfo, a Attempt) (*Begun, error) {
	f := url.Values{}
	f.Set("mode", "payment")
	f.Set("line_items[0][price_data][currency]", strings.ToLower(fee.Currency))
	f.Set("line_items[0][price_data][unit_amount]", strconv.FormatInt(fee.Amount, 10))
	f.Set("line_items[0][price_data][product_data][name]", "Fee "+fee.Reference)
	f.Set("line_items[0][quantity]", "1")
	f.Set("success_url", a.ReturnURL)
	f.Set("cancel_url", a.ReturnURL)
	f.Set("client_reference_id", a.ID)
	f.Set("metadata[fee]", fee.ID)
	f.Set("expires_at", strconv.FormatInt(s.now().Add(stripeSessionTTL).Unix(), 10))
	st, b, err := s.do(ctx, http.MethodPost, "/v1/checkout/sessions", f, a.ID)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, stripeFail("create session", st, b)
	}
	var cs stripeSession
	if err := json.Unmarshal(b, &cs); err != nil || cs.ID == "" || cs.URL == "" {
		return nil, fmt.Errorf("stripe create session: unreadable answer")
	}
	if cs.ClientReferenceID != a.ID {
		return nil, fmt.Errorf("stripe create session: client_reference_id %q, want %q", cs.ClientReferenceID, a.ID)
	}
	return &Begun{RedirectURL: cs.URL, ProviderRef: cs.ID, ExpiresAt: time.Unix(cs.ExpiresAt, 0)}, nil
}

func (s *stripe) session(ctx context.Context, id string) (*stripeSession, error) {
	st, b, err := s.do(ctx, http.MethodGet, "/v1/checkout/sessions/"+url.PathEscape(id), nil, "")
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, stripeFail("get session", st, b)
	}
	var cs stripeSession
	if err := json.Unmarshal(b, &cs); err != nil || cs.ID != id {
		return nil, fmt.Errorf("stripe session %s: unreadable answer", id)
	}
	return &cs, nil
}

// Status implements Provider: the session re-fetched. A complete session
// with payment_status unpaid is a delayed method (SEPA debit) still running.
func (s *stripe) Status(ctx context.Context, a Attempt) (*Observed, error) {
	cs, err := s.session(ctx, a.ProviderRef)
	if err != nil {
		return nil, err
	}
	o := &Observed{Amount: cs.AmountTotal, Currency: strings.ToUpper(cs.Currency), Evidence: firstNonEmpty(cs.PaymentIntent, cs.ID), Code: cs.Status + "/" + cs.PaymentStatus}
	switch {
	case cs.Status == "complete" && cs.PaymentStatus == "paid":
		o.Status, o.At = ObsSucceeded, s.now()
	case cs.Status == "expired":
		o.Status = ObsExpired
	case cs.Status == "open":
		o.Status, o.NextURL = ObsCreated, cs.URL
	default:
		o.Status = ObsPending
	}
	return o, nil
}

// VerifyStripeSignature checks a Stripe-Signature header as stripe-go's
// webhook package does (webhook/client.go): t=<unix>,v1=<hex>[,v1=…]; the
// signed payload is "<t>." + the raw body, HMAC-SHA256 with the endpoint
// secret; any v1 may match any configured secret (several appear during a
// rotation); the timestamp must be within tolerance of now.
func VerifyStripeSignature(body []byte, header string, secrets []string, now time.Time, tolerance time.Duration) error {
	var ts int64
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("stripe signature: bad timestamp")
			}
			ts = n
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == 0 || len(sigs) == 0 {
		return fmt.Errorf("stripe signature: no timestamp or no v1 signature")
	}
	at := time.Unix(ts, 0)
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return errStripeStale
	}
	payload := append([]byte(strconv.FormatInt(ts, 10)+"."), body...)
	for _, sec := range secrets {
		m := hmac.New(sha256.New, []byte(sec))
		m.Write(payload)
		want := m.Sum(nil)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				return nil
			}
		}
	}
	return fmt.Errorf("stripe signature: no v1 matches")
}

var errStripeStale = fmt.Errorf("stripe signature: timestamp outside the %s tolerance", stripeTolerance)

// Webhook implements Provider.
func (s *stripe) Webhook(r *http.Request) ([]ProviderEvent, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	h := r.Header.Get("Stripe-Signature")
	if h == "" {
		return nil, &WebhookError{Status: http.StatusUnauthorized, Reason: "missing Stripe-Signature"}
	}
	if err := VerifyStripeSignature(body, h, s.cfg.WebhookSecrets, s.now(), stripeTolerance); err != nil {
		st := http.StatusUnauthorized
		if err == errStripeStale {
			st = http.StatusBadRequest
		}
		return nil, &WebhookError{Status: st, Reason: err.Error()}
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object struct {
				ID     string `json:"id"`
				Object string `json:"object"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, &WebhookError{Status: http.StatusBadRequest, Reason: "not JSON: " + err.Error()}
	}
	if ev.ID == "" || len(ev.ID) > 200 {
		return nil, &WebhookError{Status: http.StatusBadRequest, Reason: "id is required"}
	}
	return []ProviderEvent{{Provider: KindStripe, EventID: ev.ID, ProviderRef: ev.Data.Object.ID, Type: ev.Type, Raw: body}}, nil
}

// Observe implements Platform: the session re-fetched; a verified
// async_payment_failed ends a delayed payment the session still shows unpaid.
func (s *stripe) Observe(ctx context.Context, a Attempt, ev ProviderEvent) (*Observed, error) {
	o, err := s.Status(ctx, a)
	if err != nil {
		return nil, err
	}
	if ev.Type == "checkout.session.async_payment_failed" && o.Status == ObsPending {
		o.Status, o.Code = ObsFailed, "async_payment_failed"
	}
	return o, nil
}

// Cancel implements Platform: POST /v1/checkout/sessions/{id}/expire.
func (s *stripe) Cancel(ctx context.Context, a Attempt) error {
	st, b, err := s.do(ctx, http.MethodPost, "/v1/checkout/sessions/"+url.PathEscape(a.ProviderRef)+"/expire", url.Values{}, "")
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return stripeFail("expire session", st, b)
	}
	return nil
}

// Handles implements Platform.
func (s *stripe) Handles(t string) bool {
	switch t {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded",
		"checkout.session.async_payment_failed", "checkout.session.expired":
		return true
	}
	return false
}

// RefundAttempt implements Platform: POST /v1/refunds on the session's
// payment intent, with the caller's key as the Idempotency-Key.
func (s *stripe) RefundAttempt(ctx context.Context, a Attempt, amount int64, key string) (*Observed, error) {
	cs, err := s.session(ctx, a.ProviderRef)
	if err != nil {
		return nil, err
	}
	f := url.Values{}
	f.Set("payment_intent", cs.PaymentIntent)
	f.Set("amount", strconv.FormatInt(amount, 10))
	st, b, err := s.do(ctx, http.MethodPost, "/v1/refunds", f, "refund-"+a.ID+"-"+key)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, stripeFail("refund", st, b)
	}
	var r struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &r)
	return &Observed{Status: "refunded", Amount: amount, Currency: strings.ToUpper(cs.Currency), Evidence: r.ID, At: s.now()}, nil
}
