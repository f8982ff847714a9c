package fakeplatforms

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// GOVUKPay fakes GOV.UK Pay's public API: POST /v1/payments (Idempotency-Key),
// GET /v1/payments/{id} (a fresh single-use next_url each time), POST
// …/cancel, POST …/refunds (refund_amount_available checked: 412 when stale),
// expiry after 90 minutes (P0020), a pay page, and webhooks signed with
// Pay-Signature.
type GOVUKPay struct {
	f        *Fakes
	payments map[string]*govPayment
	idem     map[string]string // Idempotency-Key → payment id
	events   int
}

type govPayment struct {
	ID, Reference, Description, ReturnURL string
	Amount                                int64
	Created                               time.Time
	Status, Code                          string
	NextToken                             string
	Refunded                              int64
	body                                  string
	Metadata                              map[string]string
}

func (g *GOVUKPay) lock() func() { g.f.mu.Lock(); return g.f.mu.Unlock }

func (g *GOVUKPay) finished(p *govPayment) bool {
	switch p.Status {
	case "success", "failed", "cancelled", "error":
		return true
	}
	return false
}

// expire applies GOV.UK Pay's 90-minute limit (call with the lock held).
func (g *GOVUKPay) expire(p *govPayment) {
	if !g.finished(p) && g.f.now().Sub(p.Created) >= 90*time.Minute {
		p.Status, p.Code = "failed", "P0020"
	}
}

func (g *GOVUKPay) resource(p *govPayment) map[string]any {
	st := map[string]any{"status": p.Status, "finished": g.finished(p)}
	if p.Code != "" {
		st["code"] = p.Code
		st["message"] = map[string]string{"P0010": "Payment method rejected", "P0020": "Payment expired", "P0030": "Payment was cancelled by the user", "P0040": "Payment was cancelled by the service"}[p.Code]
	}
	avail := int64(0)
	rs := "unavailable"
	if p.Status == "success" {
		avail, rs = p.Amount-p.Refunded, "available"
		if avail == 0 {
			rs = "full"
		}
	}
	base := g.f.cfg.Base + "/govukpay"
	links := map[string]any{
		"self":   map[string]string{"href": base + "/v1/payments/" + p.ID, "method": "GET"},
		"events": map[string]string{"href": base + "/v1/payments/" + p.ID + "/events", "method": "GET"},
	}
	if !g.finished(p) {
		links["next_url"] = map[string]string{"href": base + "/pay/" + p.ID + "/" + p.NextToken, "method": "GET"}
		links["cancel"] = map[string]string{"href": base + "/v1/payments/" + p.ID + "/cancel", "method": "POST"}
	}
	return map[string]any{
		"payment_id": p.ID, "amount": p.Amount, "reference": p.Reference, "description": p.Description,
		"return_url": p.ReturnURL, "payment_provider": "sandbox", "language": "en", "metadata": p.Metadata,
		"created_date": p.Created.UTC().Format("2006-01-02T15:04:05.000Z"), "state": st,
		"refund_summary":     map[string]any{"status": rs, "amount_available": avail, "amount_submitted": p.Refunded},
		"settlement_summary": map[string]any{}, "_links": links,
	}
}

func govError(w http.ResponseWriter, status int, code, desc string) {
	b, _ := json.Marshal(map[string]string{"code": code, "description": desc})
	writeJSON(w, status, b)
}

func (g *GOVUKPay) serve(w http.ResponseWriter, r *http.Request, path string) {
	if strings.HasPrefix(path, "/pay/") {
		g.payPage(w, r, strings.TrimPrefix(path, "/pay/"))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.f.conf().GOVUKPayKey {
		govError(w, http.StatusUnauthorized, "P0199", "Credentials are required to access this resource")
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	defer g.lock()()
	switch {
	case r.Method == http.MethodPost && path == "/v1/payments":
		var body struct {
			Amount      int64             `json:"amount"`
			Reference   string            `json:"reference"`
			Description string            `json:"description"`
			ReturnURL   string            `json:"return_url"`
			Metadata    map[string]string `json:"metadata"`
		}
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := json.Unmarshal(raw, &body); err != nil {
			govError(w, http.StatusBadRequest, "P0197", "Unable to parse JSON")
			return
		}
		switch {
		case body.Amount < 1 || body.Amount > 10000000:
			govError(w, http.StatusUnprocessableEntity, "P0102", "Invalid attribute value: amount. Must be greater than or equal to 1")
			return
		case body.Reference == "" || len(body.Reference) > 255 || body.Description == "" || len(body.Description) > 255:
			govError(w, http.StatusBadRequest, "P0101", "Missing mandatory attribute: reference/description")
			return
		case body.ReturnURL == "" || len(body.ReturnURL) > 2000:
			govError(w, http.StatusBadRequest, "P0101", "Missing mandatory attribute: return_url")
			return
		}
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			if id, ok := g.idem[k]; ok {
				p := g.payments[id]
				if p.body != string(raw) {
					govError(w, http.StatusUnprocessableEntity, "P0191", "The Idempotency-Key has already been used with a different request body")
					return
				}
				b, _ := json.Marshal(g.resource(p))
				writeJSON(w, http.StatusOK, b)
				return
			}
		}
		p := &govPayment{ID: randID("", 13), Reference: body.Reference, Description: body.Description, ReturnURL: body.ReturnURL,
			Amount: body.Amount, Created: g.f.now(), Status: "created", NextToken: randID("", 16), body: string(raw), Metadata: body.Metadata}
		g.payments[p.ID] = p
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			g.idem[k] = p.ID
		}
		b, _ := json.Marshal(g.resource(p))
		w.Header().Set("Location", g.f.cfg.Base+"/govukpay/v1/payments/"+p.ID)
		writeJSON(w, http.StatusCreated, b)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[1] == "payments":
		p, ok := g.payments[parts[2]]
		if !ok {
			govError(w, http.StatusNotFound, "P0200", "Not found")
			return
		}
		g.expire(p)
		if !g.finished(p) {
			p.NextToken = randID("", 16) // next_url is single-use: each GET has a fresh one
		}
		b, _ := json.Marshal(g.resource(p))
		writeJSON(w, http.StatusOK, b)
	case r.Method == http.MethodPost && len(parts) == 4 && parts[3] == "cancel":
		p, ok := g.payments[parts[2]]
		if !ok {
			govError(w, http.StatusNotFound, "P0500", "Not found")
			return
		}
		if g.finished(p) {
			govError(w, http.StatusBadRequest, "P0501", "Cancellation of payment failed")
			return
		}
		p.Status, p.Code = "failed", "P0040"
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && len(parts) == 4 && parts[3] == "refunds":
		p, ok := g.payments[parts[2]]
		if !ok {
			govError(w, http.StatusNotFound, "P0600", "Not found")
			return
		}
		var body struct {
			Amount          int64  `json:"amount"`
			RefundAvailable *int64 `json:"refund_amount_available"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		avail := p.Amount - p.Refunded
		switch {
		case p.Status != "success":
			govError(w, http.StatusBadRequest, "P0603", "The payment is not available for refund")
		case body.RefundAvailable != nil && *body.RefundAvailable != avail:
			govError(w, http.StatusPreconditionFailed, "P0604", "Refund amount available mismatch")
		case body.Amount < 1 || body.Amount > avail:
			govError(w, http.StatusBadRequest, "P0602", "Not sufficient amount available for refund")
		default:
			p.Refunded += body.Amount
			id := randID("", 13)
			b, _ := json.Marshal(map[string]any{"refund_id": id, "amount": body.Amount, "status": "submitted", "created_date": g.f.now().UTC().Format(time.RFC3339)})
			writeJSON(w, http.StatusAccepted, b)
		}
	default:
		govError(w, http.StatusNotFound, "P0200", "Not found")
	}
}

// payPage: GET /pay/{id}/{token} shows the buttons; POST …/{outcome} decides.
func (g *GOVUKPay) payPage(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	unlock := g.lock()
	p, ok := g.payments[parts[0]]
	if !ok || len(parts) < 2 || parts[1] != p.NextToken {
		unlock()
		http.Error(w, "This payment link has expired or was already used.", http.StatusNotFound)
		return
	}
	g.expire(p)
	if g.finished(p) {
		unlock()
		http.Redirect(w, r, p.ReturnURL, http.StatusSeeOther)
		return
	}
	if r.Method == http.MethodGet {
		if p.Status == "created" {
			p.Status = "started"
		}
		base := g.f.cfg.Base + "/govukpay/pay/" + p.ID + "/" + p.NextToken + "/"
		unlock()
		payPage(w, "GOV.UK Pay (fake) — Enter card details", "Pay £"+money(p.Amount)+" — "+p.Description,
			[][2]string{{base + "success", "Pay now (test card 4444333322221111)"}, {base + "decline", "Decline card"}, {base + "cancel", "Cancel payment"}})
		return
	}
	outcome := ""
	if len(parts) > 2 {
		outcome = parts[2]
	}
	ev := ""
	switch outcome {
	case "success":
		p.Status, p.Code, ev = "success", "", "CARD_PAYMENT_SUCCEEDED"
	case "decline":
		p.Status, p.Code, ev = "failed", "P0010", "CARD_PAYMENT_FAILED"
	case "cancel":
		p.Status, p.Code, ev = "failed", "P0030", "CARD_PAYMENT_CANCELLED"
	default:
		unlock()
		http.Error(w, "unknown outcome", http.StatusBadRequest)
		return
	}
	p.NextToken = ""
	body := g.eventLocked(p, ev)
	ret := p.ReturnURL
	unlock()
	g.f.deliverAsync(func() (int, error) { return g.Send(body, nil) })
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// eventLocked builds a webhook body for p (lock held).
func (g *GOVUKPay) eventLocked(p *govPayment, eventType string) []byte {
	g.events++
	b, _ := json.Marshal(map[string]any{
		"id": randID("ev", 10), "api_version": 1, "created_date": g.f.now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"resource_id": p.ID, "resource_type": "payment", "event_type": eventType, "resource": g.resource(p),
	})
	return b
}

// Event returns a signed-ready webhook body for payment id.
func (g *GOVUKPay) Event(id, eventType string) []byte {
	defer g.lock()()
	return g.eventLocked(g.payments[id], eventType)
}

// Send posts body to civicdesk with Pay-Signature by secret (nil: the
// current first secret).
func (g *GOVUKPay) Send(body []byte, secret *string) (int, error) {
	cfg := g.f.conf()
	s := ""
	if len(cfg.GOVUKPaySecrets) > 0 {
		s = cfg.GOVUKPaySecrets[0]
	}
	if secret != nil {
		s = *secret
	}
	return g.f.post("govukpay", body, map[string]string{"Pay-Signature": hmacHex(s, body)})
}

// Complete settles payment id as the pay page would (success, decline or
// cancel), without a webhook; it returns the return URL.
func (g *GOVUKPay) Complete(id, outcome string) string {
	defer g.lock()()
	p := g.payments[id]
	if g.finished(p) {
		return p.ReturnURL // a finished payment cannot change (cancelled, expired)
	}
	switch outcome {
	case "success":
		p.Status, p.Code = "success", ""
	case "decline":
		p.Status, p.Code = "failed", "P0010"
	case "cancel":
		p.Status, p.Code = "failed", "P0030"
	}
	p.NextToken = ""
	return p.ReturnURL
}

// SetAmount changes what the fake says was paid (a mismatch test).
func (g *GOVUKPay) SetAmount(id string, amount int64) {
	defer g.lock()()
	g.payments[id].Amount = amount
}

// Refunded reports how much of payment id was refunded.
func (g *GOVUKPay) Refunded(id string) int64 {
	defer g.lock()()
	return g.payments[id].Refunded
}

// Count is the number of payments created.
func (g *GOVUKPay) Count() int {
	defer g.lock()()
	return len(g.payments)
}
