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
	"strings"
	"time"
)

// govukPay is the Birmingham adapter: GOV.UK Pay's public API
// (docs.payments.service.gov.uk). The API key chooses test or live.
type govukPay struct {
	cardPlatform
	platformClient
	cfg GOVUKPayConfig
}

func newGOVUKPay(cfg GOVUKPayConfig) *govukPay {
	return &govukPay{cfg: cfg, platformClient: newPlatformClient("GOV.UK Pay")}
}

// GOV.UK Pay's expiry of an unfinished payment (failure code P0020).
const govukPayExpiry = 90 * time.Minute

// Kind implements Provider.
func (g *govukPay) Kind() string { return KindGOVUKPay }

// Caps implements Provider.
func (g *govukPay) Caps() Caps {
	return Caps{Currencies: []string{"GBP"}, Redirect: true, RefundAPI: true, Async: true, MaxValidity: govukPayExpiry}
}

// govukPayment is the payment resource of the API.
type govukPayment struct {
	PaymentID   string `json:"payment_id"`
	Amount      int64  `json:"amount"`
	Reference   string `json:"reference"`
	Description string `json:"description"`
	ReturnURL   string `json:"return_url"`
	CreatedDate string `json:"created_date"`
	State       struct {
		Status   string `json:"status"`
		Finished bool   `json:"finished"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	} `json:"state"`
	RefundSummary struct {
		Status          string `json:"status"`
		AmountAvailable int64  `json:"amount_available"`
		AmountSubmitted int64  `json:"amount_submitted"`
	} `json:"refund_summary"`
	Links struct {
		NextURL struct {
			Href string `json:"href"`
		} `json:"next_url"`
	} `json:"_links"`
}

type govukError struct {
	Code        string `json:"code"`
	Field       string `json:"field"`
	Description string `json:"description"`
}

func (g *govukPay) do(ctx context.Context, method, path string, body any, idem string) (int, []byte, error) {
	h := http.Header{"Authorization": {"Bearer " + g.cfg.APIKey}, "Accept": {"application/json"}}
	if idem != "" {
		h.Set("Idempotency-Key", idem)
	}
	return g.callJSON(ctx, method, g.cfg.BaseURL, path, body, h)
}

func govukFail(op string, st int, body []byte) error {
	var e govukError
	_ = json.Unmarshal(body, &e)
	return fmt.Errorf("GOV.UK Pay %s: %d %s %s", op, st, e.Code, e.Description)
}

// Begin implements Provider: POST /v1/payments with the attempt id as the
// Idempotency-Key; the return URL carries only the attempt's token.
func (g *govukPay) Begin(ctx context.Context, fee FeeInfo, a Attempt) (*Begun, error) {
	if fee.Currency != "GBP" {
		return nil, fmt.Errorf("GOV.UK Pay takes GBP only, not %s", fee.Currency)
	}
	body := map[string]any{
		"amount": fee.Amount, "reference": fee.Reference, "description": "Fee " + fee.Reference,
		"return_url": a.ReturnURL, "language": "en",
		"metadata": map[string]string{"fee": fee.ID, "attempt": a.ID},
	}
	st, b, err := g.do(ctx, http.MethodPost, "/v1/payments", body, a.ID)
	if err != nil {
		return nil, err
	}
	if st != http.StatusCreated && st != http.StatusOK {
		return nil, govukFail("create payment", st, b)
	}
	var p govukPayment
	if err := json.Unmarshal(b, &p); err != nil || p.PaymentID == "" || p.Links.NextURL.Href == "" {
		return nil, fmt.Errorf("GOV.UK Pay create payment: unreadable answer")
	}
	created, err := time.Parse(time.RFC3339, p.CreatedDate)
	if err != nil {
		created = time.Now()
	}
	return &Begun{RedirectURL: p.Links.NextURL.Href, ProviderRef: p.PaymentID, ExpiresAt: created.Add(govukPayExpiry)}, nil
}

func (g *govukPay) get(ctx context.Context, id string) (*govukPayment, error) {
	st, b, err := g.do(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id), nil, "")
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, govukFail("get payment", st, b)
	}
	var p govukPayment
	if err := json.Unmarshal(b, &p); err != nil || p.PaymentID != id {
		return nil, fmt.Errorf("GOV.UK Pay get payment %s: unreadable answer", id)
	}
	return &p, nil
}

// Status implements Provider: GET /v1/payments/{id} (strongly consistent).
func (g *govukPay) Status(ctx context.Context, a Attempt) (*Observed, error) {
	p, err := g.get(ctx, a.ProviderRef)
	if err != nil {
		return nil, err
	}
	o := &Observed{Amount: p.Amount, Currency: "GBP", Evidence: p.PaymentID, Code: p.State.Code, NextURL: p.Links.NextURL.Href}
	switch p.State.Status {
	case "created":
		o.Status = ObsCreated
	case "started", "submitted", "capturable":
		o.Status = ObsPending
	case "success":
		o.Status = ObsSucceeded
		o.At = time.Now()
	case "cancelled":
		o.Status = ObsCancelled
	case "failed":
		switch p.State.Code {
		case "P0020":
			o.Status = ObsExpired
		case "P0030", "P0040":
			o.Status = ObsCancelled
		default:
			o.Status = ObsFailed
		}
	case "error":
		o.Status = ObsFailed
	default:
		return nil, fmt.Errorf("GOV.UK Pay payment %s: unknown status %q", p.PaymentID, p.State.Status)
	}
	return o, nil
}

// VerifyPaySignature checks a Pay-Signature header: the lower-case hex
// HMAC-SHA256 of the raw body with a signing secret, compared in constant
// time against each configured secret (the current one and, during a
// rotation, the previous one).
func VerifyPaySignature(body []byte, header string, secrets []string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	ok := false
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

// Webhook implements Provider: verify Pay-Signature on the raw body, parse.
func (g *govukPay) Webhook(r *http.Request) ([]ProviderEvent, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	sig := r.Header.Get("Pay-Signature")
	if sig == "" {
		return nil, &WebhookError{Status: http.StatusUnauthorized, Reason: "missing Pay-Signature"}
	}
	if !VerifyPaySignature(body, sig, g.cfg.WebhookSecrets) {
		return nil, &WebhookError{Status: http.StatusUnauthorized, Reason: "bad Pay-Signature"}
	}
	var ev struct {
		ID           string          `json:"id"`
		EventType    string          `json:"event_type"`
		ResourceID   string          `json:"resource_id"`
		ResourceType string          `json:"resource_type"`
		Resource     json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, &WebhookError{Status: http.StatusBadRequest, Reason: "not JSON: " + err.Error()}
	}
	if ev.ID == "" || len(ev.ID) > 200 || ev.ResourceID == "" {
		return nil, &WebhookError{Status: http.StatusBadRequest, Reason: "id and resource_id are required"}
	}
	ref := ev.ResourceID
	if strings.EqualFold(ev.ResourceType, "REFUND") {
		var res struct {
			PaymentID string `json:"payment_id"`
		}
		_ = json.Unmarshal(ev.Resource, &res)
		ref = res.PaymentID
	}
	return []ProviderEvent{{Provider: KindGOVUKPay, EventID: ev.ID, ProviderRef: ref, Type: ev.EventType, Raw: body}}, nil
}

// Observe implements Platform: the payment re-fetched, never the payload.
func (g *govukPay) Observe(ctx context.Context, a Attempt, _ ProviderEvent) (*Observed, error) {
	return g.Status(ctx, a)
}

// Cancel implements Platform: POST /v1/payments/{id}/cancel (204).
func (g *govukPay) Cancel(ctx context.Context, a Attempt) error {
	st, b, err := g.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(a.ProviderRef)+"/cancel", nil, "")
	if err != nil {
		return err
	}
	if st != http.StatusNoContent {
		return govukFail("cancel", st, b)
	}
	return nil
}

// Handles implements Platform: the card payment events.
func (g *govukPay) Handles(t string) bool {
	switch t {
	case "CARD_PAYMENT_SUCCEEDED", "CARD_PAYMENT_CAPTURED", "CARD_PAYMENT_SETTLED", "CARD_PAYMENT_REFUNDED",
		"CARD_PAYMENT_FAILED", "CARD_PAYMENT_EXPIRED", "CARD_PAYMENT_CANCELLED", "CARD_PAYMENT_STARTED":
		return true
	}
	return false
}

// RefundAttempt implements Platform: POST /v1/payments/{id}/refunds with
// refund_amount_available read just before, GOV.UK Pay's optimistic
// concurrency check: a 412 means another refund changed it meanwhile.
func (g *govukPay) RefundAttempt(ctx context.Context, a Attempt, amount int64, _ string) (*Observed, error) {
	p, err := g.get(ctx, a.ProviderRef)
	if err != nil {
		return nil, err
	}
	if amount > p.RefundSummary.AmountAvailable {
		return nil, &ConflictError{Msg: fmt.Sprintf("GOV.UK Pay can refund at most %s of this payment.", FormatAmount(p.RefundSummary.AmountAvailable, "GBP"))}
	}
	st, b, err := g.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(a.ProviderRef)+"/refunds",
		map[string]int64{"amount": amount, "refund_amount_available": p.RefundSummary.AmountAvailable}, "")
	if err != nil {
		return nil, err
	}
	if st == http.StatusPreconditionFailed {
		return nil, &ConflictError{Msg: "Another refund of this payment was made meanwhile; check the payment and try again."}
	}
	if st != http.StatusAccepted && st != http.StatusOK {
		return nil, govukFail("refund", st, b)
	}
	var r struct {
		RefundID string `json:"refund_id"`
		Status   string `json:"status"`
	}
	_ = json.Unmarshal(b, &r)
	return &Observed{Status: "refunded", Amount: amount, Currency: "GBP", Evidence: r.RefundID, At: time.Now()}, nil
}
