// Package fakeplatforms runs local fakes of GOV.UK Pay, Stripe Checkout and
// pagoPA's GPD on loopback, following the real APIs' fields, states and
// signatures (research/payments.md §3.4), for contract tests and the demo.
// Each fake has a pay page with buttons, and sends its notifications to
// civicdesk — normally, or duplicated, out of order, stale, or signed with
// the old and the new secret during a rotation.
package fakeplatforms

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is the fakes' shared configuration.
type Config struct {
	// Server is civicdesk's base URL (webhooks go to Server + /api/payments/webhooks/{kind}).
	Server string
	// Base is the fakes' own base URL (pay pages, next_url).
	Base string

	GOVUKPayKey     string
	GOVUKPaySecrets []string // signs with each (during a rotation: old and new)
	StripeKey       string
	StripeSecrets   []string
	PagoPAKey       string
	PagoPAToken     string // bearer token of the receipts posted to civicdesk
	PagoPAFiscal    string

	// Manual: no webhook is sent on its own (tests send them with Deliver*).
	Manual bool
}

// Fakes is the three fakes behind one handler: /govukpay/…, /stripe/…, /pagopa/….
type Fakes struct {
	cfg Config
	mu  sync.Mutex
	now func() time.Time
	hc  *http.Client

	GOVUK  *GOVUKPay
	Stripe *Stripe
	PagoPA *PagoPA
}

// New returns the fakes.
func New(cfg Config) *Fakes {
	f := &Fakes{cfg: cfg, now: time.Now, hc: &http.Client{Timeout: 10 * time.Second}}
	f.GOVUK = &GOVUKPay{f: f, payments: map[string]*govPayment{}, idem: map[string]string{}}
	f.Stripe = &Stripe{f: f, sessions: map[string]*stripeSession{}, idem: map[string]string{}}
	f.PagoPA = &PagoPA{f: f, positions: map[string]*position{}}
	return f
}

// SetClock replaces the fakes' clock (expiry tests).
func (f *Fakes) SetClock(now func() time.Time) {
	f.mu.Lock()
	f.now = now
	f.mu.Unlock()
}

// SetSecrets changes the webhook signing secrets (a rotation).
func (f *Fakes) SetSecrets(govuk, stripe []string) {
	f.mu.Lock()
	f.cfg.GOVUKPaySecrets, f.cfg.StripeSecrets = govuk, stripe
	f.mu.Unlock()
}

// SetServer points the webhooks at civicdesk.
func (f *Fakes) SetServer(u string) {
	f.mu.Lock()
	f.cfg.Server = strings.TrimRight(u, "/")
	f.mu.Unlock()
}

// SetBase sets the fakes' own URL (after the listener is known).
func (f *Fakes) SetBase(u string) {
	f.mu.Lock()
	f.cfg.Base = strings.TrimRight(u, "/")
	f.mu.Unlock()
}

func (f *Fakes) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

func (f *Fakes) conf() Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// ServeHTTP routes to the fakes.
func (f *Fakes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/govukpay/"):
		f.GOVUK.serve(w, r, strings.TrimPrefix(r.URL.Path, "/govukpay"))
	case strings.HasPrefix(r.URL.Path, "/stripe/"):
		f.Stripe.serve(w, r, strings.TrimPrefix(r.URL.Path, "/stripe"))
	case strings.HasPrefix(r.URL.Path, "/pagopa/"):
		f.PagoPA.serve(w, r, strings.TrimPrefix(r.URL.Path, "/pagopa"))
	case r.URL.Path == "/health":
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

func randID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Delivery is one notification as sent and civicdesk's answer.
type Delivery struct {
	Kind, EventID string
	Status        int
	Err           error
}

// post sends body to civicdesk's webhook of kind with headers.
func (f *Fakes) post(kind string, body []byte, headers map[string]string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, f.conf().Server+"/api/payments/webhooks/"+kind, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// deliverAsync sends in the background with retries (the demo), unless Manual.
func (f *Fakes) deliverAsync(send func() (int, error)) {
	if f.conf().Manual || f.conf().Server == "" {
		return
	}
	go func() {
		for i := 0; i < 8; i++ {
			st, err := send()
			if err == nil && st/100 == 2 {
				return
			}
			time.Sleep(time.Duration(1<<i) * 200 * time.Millisecond)
		}
	}()
}

func hmacHex(secret string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// payPage renders a fake platform's pay page: one form button per outcome.
func payPage(w http.ResponseWriter, title, summary string, actions [][2]string) {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</title></head><body><main><h1>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</h1><p>TEST MODE — a local fake; no money moves.</p><p id="summary">`)
	b.WriteString(html.EscapeString(summary))
	b.WriteString(`</p>`)
	for _, a := range actions {
		fmt.Fprintf(&b, `<form method="post" action="%s"><button type="submit" id="%s">%s</button></form>`,
			html.EscapeString(a[0]), html.EscapeString(idOf(a[1])), html.EscapeString(a[1]))
	}
	b.WriteString(`</main></body></html>`)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

func idOf(label string) string {
	return strings.ToLower(strings.ReplaceAll(strings.Fields(label)[0], ".", ""))
}

func money(cents int64) string {
	return strconv.FormatInt(cents/100, 10) + "." + fmt.Sprintf("%02d", cents%100)
}
