package payments

import (
	"context"
	"fmt"
	"net/http"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Attempt states (docs/payments.md "Platforms"): created → redirected →
// succeeded | failed | cancelled | expired. Only the platform's own answer
// (a status lookup, a verified receipt) moves an attempt to a final state.
const (
	AttemptCreated    = "created"
	AttemptRedirected = "redirected"
	AttemptSucceeded  = "succeeded"
	AttemptFailed     = "failed"
	AttemptCancelled  = "cancelled"
	AttemptExpired    = "expired"
)

// Observed statuses a platform adapter reports (Observed.Status).
const (
	ObsCreated   = "created"
	ObsPending   = "pending"
	ObsSucceeded = "succeeded"
	ObsFailed    = "failed"
	ObsCancelled = "cancelled"
	ObsExpired   = "expired"
)

// attemptRank orders the states: an attempt only moves up, and a final
// state (rank 2) never changes again.
var attemptRank = map[string]int{
	AttemptCreated: 0, AttemptRedirected: 1,
	AttemptSucceeded: 2, AttemptFailed: 2, AttemptCancelled: 2, AttemptExpired: 2,
}

// AttemptCanMove reports whether an attempt may move from one state to another.
func AttemptCanMove(from, to string) bool {
	rf, ok1 := attemptRank[from]
	rt, ok2 := attemptRank[to]
	if !ok1 || !ok2 {
		return false
	}
	return from == to || (rf < 2 && rt > rf)
}

// AttemptIsLive reports whether an attempt may still take money.
func AttemptIsLive(state string) bool {
	return state == AttemptCreated || state == AttemptRedirected
}

// attemptStateOf maps a platform's observed status to the attempt state.
func attemptStateOf(obs string) string {
	switch obs {
	case ObsSucceeded:
		return AttemptSucceeded
	case ObsFailed:
		return AttemptFailed
	case ObsCancelled:
		return AttemptCancelled
	case ObsExpired:
		return AttemptExpired
	case ObsPending:
		return AttemptRedirected
	}
	return AttemptCreated
}

// Platform is a payment platform adapter: a Provider that also reads the
// authoritative state behind a stored event and refunds one attempt.
type Platform interface {
	Provider
	// Observe returns the authoritative state of attempt for a stored,
	// verified event: the card platforms re-fetch the payment (delivery is
	// unordered and repeated, so the event's own payload is not trusted); the
	// pagoPA receipt is itself the evidence.
	Observe(ctx context.Context, attempt Attempt, ev ProviderEvent) (*Observed, error)
	// RefundAttempt returns amount of a succeeded attempt through the API.
	RefundAttempt(ctx context.Context, attempt Attempt, amount int64, key string) (*Observed, error)
	// Cancel ends a payment still in progress at the platform (the fee was
	// paid another way); an error means it may have finished meanwhile.
	Cancel(ctx context.Context, attempt Attempt) error
	// Handles reports whether the platform's event type is one civicdesk processes.
	Handles(eventType string) bool
	// Ack writes the platform's expected answer to a stored (or duplicate) event.
	Ack(w http.ResponseWriter) error
}

// WebhookError is a refused notification: Status is the HTTP answer (401
// bad or missing signature, 400 stale or malformed), Reason is logged.
type WebhookError struct {
	Status int
	Reason string
}

func (e *WebhookError) Error() string { return "webhook refused: " + e.Reason }

// ParkError stops an event from being applied: it is kept with its reason
// for a supervisor (an unknown payment, an amount differing from the fee).
type ParkError struct{ Reason string }

func (e *ParkError) Error() string { return "parked: " + e.Reason }

// saveServer saves an attempt or inbox event written by this package; the
// guard refuses every other write (the records API has no create or update
// rule; this also stops the dashboard from moving an attempt backwards).
func saveServer(tx core.App, rec *core.Record) error {
	rec.Set(ledgerWriteKey, true)
	if err := tx.Save(rec); err != nil {
		return fmt.Errorf("save %s %s: %w", rec.Collection().Name, rec.Id, err)
	}
	return nil
}

// guardPlatformWrite refuses writes to attempts and inbox events that do
// not come from this package.
func guardPlatformWrite(e *core.RecordEvent) error {
	if ok, _ := e.Record.GetRaw(ledgerWriteKey).(bool); !ok {
		return validation.Errors{"id": validation.NewError("validation_server_only", "Payment attempts and platform events are written by the server only.")}
	}
	return e.Next()
}
