package fakeplatforms

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Stripe fakes Stripe Checkout: POST /v1/checkout/sessions (form-encoded,
// Idempotency-Key replayed), GET /v1/checkout/sessions/{id}, POST /v1/refunds,
// a pay page (card, a delayed method, cancel), expiry, and webhooks signed
// with Stripe-Signature (t=…,v1=… — one v1 per secret during a rotation).
type Stripe struct {
	f        *Fakes
	sessions map[string]*stripeSession
	idem     map[string]string
	refunds  map[string]string // Idempotency-Key → refund id
}

type stripeSession struct {
	ID, URL, Status, PaymentStatus, Currency, PaymentIntent, ClientReferenceID string
	SuccessURL, CancelURL                                                      string
	Amount                                                                     int64
	ExpiresAt                                                                  int64
	Refunded                                                                   int64
	form                                                                       string
}

func (s *Stripe) lock() func() { s.f.mu.Lock(); return s.f.mu.Unlock }

func (s *Stripe) object(cs *stripeSession) map[string]any {
	var pi any
	if cs.PaymentIntent != "" {
		pi = cs.PaymentIntent
	}
	return map[string]any{
		"id": cs.ID, "object": "checkout.session", "url": cs.URL, "status": cs.Status, "payment_status": cs.PaymentStatus,
		"amount_total": cs.Amount, "currency": cs.Currency, "payment_intent": pi, "client_reference_id": cs.ClientReferenceID,
		"expires_at": cs.ExpiresAt, "mode": "payment", "success_url": cs.SuccessURL, "cancel_url": cs.CancelURL,
	}
}

func stripeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"type": typ, "message": msg}})
	writeJSON(w, status, b)
}

func (s *Stripe) serve(w http.ResponseWriter, r *http.Request, path string) {
	if strings.HasPrefix(path, "/pay/") {
		s.payPage(w, r, strings.TrimPrefix(path, "/pay/"))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.f.conf().StripeKey {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "Invalid API Key provided")
		return
	}
	_ = r.ParseForm()
	defer s.lock()()
	now := s.f.now()
	switch {
	case r.Method == http.MethodPost && path == "/v1/checkout/sessions":
		form := r.PostForm.Encode()
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			if id, ok := s.idem[k]; ok {
				cs := s.sessions[id]
				if cs.form != form {
					stripeError(w, http.StatusBadRequest, "idempotency_error", "Keys for idempotent requests can only be used with the same parameters they were first used with.")
					return
				}
				b, _ := json.Marshal(s.object(cs))
				w.Header().Set("Idempotent-Replayed", "true")
				writeJSON(w, http.StatusOK, b)
				return
			}
		}
		amount, err := strconv.ParseInt(r.PostForm.Get("line_items[0][price_data][unit_amount]"), 10, 64)
		cur := r.PostForm.Get("line_items[0][price_data][currency]")
		if err != nil || amount < 1 || cur == "" || r.PostForm.Get("mode") != "payment" || r.PostForm.Get("success_url") == "" {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "Missing required param: line_items[0][price_data] / mode / success_url.")
			return
		}
		exp := now.Add(24 * time.Hour).Unix()
		if v := r.PostForm.Get("expires_at"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < now.Add(30*time.Minute).Unix()-5 || n > now.Add(24*time.Hour).Unix() {
				stripeError(w, http.StatusBadRequest, "invalid_request_error", "expires_at must be between 30 minutes and 24 hours from now.")
				return
			}
			exp = n
		}
		cs := &stripeSession{ID: randID("cs_test_", 12), Status: "open", PaymentStatus: "unpaid", Currency: cur, Amount: amount,
			ClientReferenceID: r.PostForm.Get("client_reference_id"), SuccessURL: r.PostForm.Get("success_url"), CancelURL: r.PostForm.Get("cancel_url"),
			ExpiresAt: exp, form: form}
		cs.URL = s.f.cfg.Base + "/stripe/pay/" + cs.ID
		s.sessions[cs.ID] = cs
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			s.idem[k] = cs.ID
		}
		b, _ := json.Marshal(s.object(cs))
		writeJSON(w, http.StatusOK, b)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1/checkout/sessions/") && strings.HasSuffix(path, "/expire"):
		cs, ok := s.sessions[strings.TrimSuffix(strings.TrimPrefix(path, "/v1/checkout/sessions/"), "/expire")]
		if !ok {
			stripeError(w, http.StatusNotFound, "invalid_request_error", "No such checkout.session")
			return
		}
		if cs.Status != "open" {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "Only Checkout Sessions with a status in [\"open\"] can be expired.")
			return
		}
		cs.Status = "expired"
		b, _ := json.Marshal(s.object(cs))
		writeJSON(w, http.StatusOK, b)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/checkout/sessions/"):
		cs, ok := s.sessions[strings.TrimPrefix(path, "/v1/checkout/sessions/")]
		if !ok {
			stripeError(w, http.StatusNotFound, "invalid_request_error", "No such checkout.session")
			return
		}
		if cs.Status == "open" && now.Unix() >= cs.ExpiresAt {
			cs.Status = "expired"
		}
		b, _ := json.Marshal(s.object(cs))
		writeJSON(w, http.StatusOK, b)
	case r.Method == http.MethodPost && path == "/v1/refunds":
		if s.refunds == nil {
			s.refunds = map[string]string{}
		}
		k := r.Header.Get("Idempotency-Key")
		if id, ok := s.refunds[k]; ok && k != "" {
			b, _ := json.Marshal(map[string]any{"id": id, "object": "refund", "status": "succeeded"})
			writeJSON(w, http.StatusOK, b)
			return
		}
		var cs *stripeSession
		for _, c := range s.sessions {
			if c.PaymentIntent != "" && c.PaymentIntent == r.PostForm.Get("payment_intent") {
				cs = c
			}
		}
		amount, _ := strconv.ParseInt(r.PostForm.Get("amount"), 10, 64)
		if cs == nil || cs.PaymentStatus != "paid" || amount < 1 || amount > cs.Amount-cs.Refunded {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "The payment intent cannot be refunded for this amount.")
			return
		}
		cs.Refunded += amount
		id := randID("re_", 12)
		s.refunds[k] = id
		b, _ := json.Marshal(map[string]any{"id": id, "object": "refund", "amount": amount, "status": "succeeded"})
		writeJSON(w, http.StatusOK, b)
	default:
		stripeError(w, http.StatusNotFound, "invalid_request_error", "Unrecognized request URL")
	}
}

// payPage: GET /pay/{id}; POST /pay/{id}/{card|delayed|cancel}.
func (s *Stripe) payPage(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	unlock := s.lock()
	cs, ok := s.sessions[parts[0]]
	if !ok {
		unlock()
		http.NotFound(w, r)
		return
	}
	if cs.Status == "open" && s.f.now().Unix() >= cs.ExpiresAt {
		cs.Status = "expired"
	}
	if cs.Status != "open" {
		unlock()
		http.Error(w, "This Checkout Session is no longer active.", http.StatusGone)
		return
	}
	if r.Method == http.MethodGet {
		base := s.f.cfg.Base + "/stripe/pay/" + cs.ID + "/"
		unlock()
		payPage(w, "Stripe Checkout (fake)", "Pay "+strings.ToUpper(cs.Currency)+" "+money(cs.Amount),
			[][2]string{{base + "card", "Pay with card 4242 4242 4242 4242"}, {base + "delayed", "Pay by SEPA debit (delayed)"}, {base + "cancel", "Back to the city"}})
		return
	}
	outcome := ""
	if len(parts) > 1 {
		outcome = parts[1]
	}
	ret := cs.SuccessURL
	var evs [][]byte
	switch outcome {
	case "card":
		cs.Status, cs.PaymentStatus, cs.PaymentIntent = "complete", "paid", randID("pi_", 12)
		evs = append(evs, s.eventLocked(cs, "checkout.session.completed"))
	case "delayed":
		cs.Status, cs.PaymentStatus, cs.PaymentIntent = "complete", "unpaid", randID("pi_", 12)
		evs = append(evs, s.eventLocked(cs, "checkout.session.completed"))
	case "cancel":
		ret = cs.CancelURL
	default:
		unlock()
		http.Error(w, "unknown outcome", http.StatusBadRequest)
		return
	}
	unlock()
	for _, b := range evs {
		b := b
		s.f.deliverAsync(func() (int, error) { return s.Send(b, 0, nil) })
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

func (s *Stripe) eventLocked(cs *stripeSession, typ string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": randID("evt_", 12), "object": "event", "type": typ, "api_version": "2025-01-27.acacia",
		"created": s.f.now().Unix(), "data": map[string]any{"object": s.object(cs)},
	})
	return b
}

// Event returns an event body of type for session id.
func (s *Stripe) Event(id, typ string) []byte {
	defer s.lock()()
	return s.eventLocked(s.sessions[id], typ)
}

// Settle moves session id as Stripe would: "card" (paid), "delayed"
// (complete, unpaid), "async_ok", "async_fail", "expire".
func (s *Stripe) Settle(id, what string) {
	defer s.lock()()
	cs := s.sessions[id]
	switch what {
	case "card":
		cs.Status, cs.PaymentStatus, cs.PaymentIntent = "complete", "paid", randID("pi_", 12)
	case "delayed":
		cs.Status, cs.PaymentStatus, cs.PaymentIntent = "complete", "unpaid", randID("pi_", 12)
	case "async_ok":
		cs.PaymentStatus = "paid"
	case "async_fail":
		cs.PaymentStatus = "unpaid"
	case "expire":
		cs.Status = "expired"
	}
}

// Send posts body signed at now+skew with every current secret (one v1 per
// secret, as Stripe does while a rotated secret is still valid), or with
// secrets when given.
func (s *Stripe) Send(body []byte, skew time.Duration, secrets []string) (int, error) {
	if secrets == nil {
		secrets = s.f.conf().StripeSecrets
	}
	t := strconv.FormatInt(s.f.clock().Add(skew).Unix(), 10)
	h := "t=" + t
	for _, sec := range secrets {
		h += ",v1=" + hmacHex(sec, append([]byte(t+"."), body...))
	}
	return s.f.post("stripe", body, map[string]string{"Stripe-Signature": h})
}

// Count is the number of sessions created.
func (s *Stripe) Count() int {
	defer s.lock()()
	return len(s.sessions)
}
