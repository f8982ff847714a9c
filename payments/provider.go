package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"civicdesk/city"
)

// Provider is one way of taking money (research §5.1): the bank rails of this
// package (an offline instruction, evidence from bank statements) and the
// platforms (pagoPA, GOV.UK Pay, Stripe), which are adapters registered with
// RegisterProvider, never special cases in the fee code.
type Provider interface {
	// Kind is the rail or platform name (sepa_qr, hct_qr, swish, bankgiro_ocr, ukbank, pagopa, govukpay, stripe, manual).
	Kind() string
	// Caps says what the provider can do.
	Caps() Caps
	// Begin starts paying fee. It is idempotent on attempt.ID (a platform
	// passes it as its Idempotency-Key). No database access: the caller stores
	// the result in its own transaction; platforms call it outside one.
	Begin(ctx context.Context, fee FeeInfo, attempt Attempt) (*Begun, error)
	// Status asks the provider what happened to an attempt (authoritative).
	Status(ctx context.Context, attempt Attempt) (*Observed, error)
	// Webhook verifies and parses a notification (raw, size-capped body), without side effects.
	Webhook(r *http.Request) ([]ProviderEvent, error)
	// Refund returns amount of a paid fee; bank rails answer ErrManualRefund.
	Refund(ctx context.Context, fee FeeInfo, amount int64, key string) (*Observed, error)
}

// Caps are a provider's capabilities.
type Caps struct {
	Currencies []string
	// OfflineInstruction: the phone can show the instruction without the network.
	OfflineInstruction bool
	// Redirect: the citizen pays on the provider's page.
	Redirect bool
	// RefundAPI: refunds go through the provider (otherwise a supervisor records them).
	RefundAPI bool
	// Partial: a fee may be paid in parts.
	Partial bool
	// Async: the outcome arrives later (statement, webhook).
	Async bool
	// MaxValidity caps how long an instruction or attempt stays payable (0: no cap).
	MaxValidity time.Duration
}

// FeeInfo is what a provider needs to know about a fee.
type FeeInfo struct {
	ID, RequestID, Reference, Currency string
	Amount                             int64
	DueAt                              time.Time
	Location                           *time.Location
}

// Attempt is one try at paying a fee (many per fee, at most one live).
type Attempt struct {
	ID    string
	FeeID string
	// ProviderRef is the provider's id of the attempt, once begun.
	ProviderRef string
	// ReturnURL is where the platform sends the citizen back: it carries only
	// the attempt's opaque token, never an id or an outcome.
	ReturnURL string
}

// Begun is the result of Begin: an instruction (bank rails, pagoPA notice)
// or a redirect (card platforms), the provider's reference and the expiry.
type Begun struct {
	Instruction *Instruction
	RedirectURL string
	ProviderRef string
	ExpiresAt   time.Time
}

// Observed is a provider's authoritative view of an attempt.
type Observed struct {
	// Status: created, pending, succeeded, failed, cancelled, expired, refunded.
	Status   string
	Amount   int64
	Currency string
	// Evidence is the provider's id of the proof (receipt id, payment id).
	Evidence string
	At       time.Time
	// Code is the provider's failure or state code (GOV.UK Pay P0020, a pagoPA outcome).
	Code string
	// NextURL is a fresh payment page for a payment still in progress (GOV.UK
	// Pay's next_url is single-use; a resumed attempt needs a new one).
	NextURL string
}

// ProviderEvent is one verified notification; (Provider, EventID) is unique.
type ProviderEvent struct {
	Provider, EventID, ProviderRef string
	// Type is the provider's event type; Raw the verified event as received.
	Type string
	Raw  []byte
}

// Errors of providers that cannot do something by design.
var (
	ErrNoStatus     = errors.New("payments: this provider reports through statements, not a status lookup")
	ErrNoWebhook    = errors.New("payments: this provider sends no webhooks")
	ErrManualRefund = errors.New("payments: refunds of this provider are made by the city's bank and recorded by a supervisor")
)

var (
	providersMu sync.RWMutex
	providers   = map[string]func(rail city.Rail) Provider{}
)

// RegisterProvider makes a provider kind available; the next issue's
// platform adapters call it from their init.
func RegisterProvider(kind string, factory func(rail city.Rail) Provider) {
	providersMu.Lock()
	defer providersMu.Unlock()
	providers[kind] = factory
}

// ProviderFor returns the provider of a configured rail.
func ProviderFor(rail city.Rail) (Provider, error) {
	providersMu.RLock()
	f, ok := providers[rail.Kind]
	providersMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no payment provider %q (known: %v)", rail.Kind, ProviderKinds())
	}
	return f(rail), nil
}

// ProviderKinds lists the registered kinds.
func ProviderKinds() []string {
	providersMu.RLock()
	defer providersMu.RUnlock()
	out := make([]string, 0, len(providers))
	for k := range providers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func init() {
	for _, kind := range []string{city.RailSEPAQR, city.RailHCTQR, city.RailSwish, city.RailBankgiroOCR, city.RailUKBank} {
		RegisterProvider(kind, func(rail city.Rail) Provider { return bankProvider{rail: rail} })
	}
}

// bankProvider is a bank transfer rail: the instruction is built offline,
// the evidence is a bank statement (camt.053/054), refunds are manual.
type bankProvider struct{ rail city.Rail }

// Kind implements Provider.
func (b bankProvider) Kind() string { return b.rail.Kind }

// Caps implements Provider.
func (b bankProvider) Caps() Caps {
	c := Caps{OfflineInstruction: true, Partial: true, Async: true}
	switch b.rail.Kind {
	case city.RailSEPAQR:
		c.Currencies = []string{"EUR"}
	case city.RailHCTQR:
		c.Currencies = []string{"HUF"}
	case city.RailSwish, city.RailBankgiroOCR:
		c.Currencies = []string{"SEK"}
	case city.RailUKBank:
		c.Currencies = []string{"GBP"}
	}
	return c
}

// Begin implements Provider: the instruction, built without the network.
func (b bankProvider) Begin(_ context.Context, fee FeeInfo, _ Attempt) (*Begun, error) {
	in, err := BuildInstruction(b.rail, fee.Amount, fee.Currency, fee.Reference, fee.DueAt, fee.Location)
	if err != nil {
		return nil, err
	}
	return &Begun{Instruction: in, ProviderRef: fee.Reference, ExpiresAt: fee.DueAt}, nil
}

// Status implements Provider.
func (bankProvider) Status(context.Context, Attempt) (*Observed, error) { return nil, ErrNoStatus }

// Webhook implements Provider.
func (bankProvider) Webhook(*http.Request) ([]ProviderEvent, error) { return nil, ErrNoWebhook }

// Refund implements Provider.
func (bankProvider) Refund(context.Context, FeeInfo, int64, string) (*Observed, error) {
	return nil, ErrManualRefund
}
