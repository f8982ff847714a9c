package payments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

const collInbox = "payment_events"

// Inbox event statuses.
const (
	eventStored    = "stored"
	eventProcessed = "processed"
	eventParked    = "parked"
)

// MaxWebhookBody caps a notification's body (research §5.3): a real one is
// a few KiB.
const MaxWebhookBody = 64 << 10

// maxEventTries parks an event whose platform lookup keeps failing.
const maxEventTries = 30

// FaultAfterStoreEnv, set to 1, makes the server exit right after an event
// is committed to the inbox and before it answers or processes it: the
// crash test of "stored but not processed" (never set in production).
const FaultAfterStoreEnv = "CIVICDESK_FAULT_EXIT_AFTER_WEBHOOK_STORE"

// ReceiveWebhook verifies a notification of platform kind on its raw,
// size-capped body and stores each event in the inbox (deduplicated by the
// platform's event id) in one transaction. Only then may the caller answer
// 2xx: a crash before the commit makes the platform send it again.
func ReceiveWebhook(app core.App, kind string, r *http.Request) (stored int, err error) {
	p, err := platform(app, kind)
	if err != nil {
		return 0, &WebhookError{Status: http.StatusNotFound, Reason: err.Error()}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		return 0, &WebhookError{Status: http.StatusBadRequest, Reason: "reading the body: " + err.Error()}
	}
	if len(body) > MaxWebhookBody {
		return 0, &WebhookError{Status: http.StatusRequestEntityTooLarge, Reason: fmt.Sprintf("body over %d bytes", MaxWebhookBody)}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	evs, err := p.Webhook(r)
	if err != nil {
		var we *WebhookError
		if errors.As(err, &we) {
			return 0, we
		}
		return 0, &WebhookError{Status: http.StatusBadRequest, Reason: err.Error()}
	}
	err = app.RunInTransaction(func(tx core.App) error {
		col, err := tx.FindCachedCollectionByNameOrId(collInbox)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			n, err := countWhere(tx, "SELECT COUNT(*) FROM [[payment_events]] WHERE [[provider]] = {:p} AND [[event_id]] = {:e}", dbx.Params{"p": kind, "e": ev.EventID})
			if err != nil {
				return err
			}
			if n > 0 {
				continue // delivered again: stored before
			}
			rec := core.NewRecord(col)
			rec.Set("provider", kind)
			rec.Set("event_id", ev.EventID)
			rec.Set("type", ev.Type)
			rec.Set("provider_ref", ev.ProviderRef)
			rec.Set("body", string(ev.Raw))
			rec.Set("status", eventStored)
			if !p.Handles(ev.Type) {
				rec.Set("status", eventParked)
				rec.Set("reason", "unknown event type "+ev.Type)
				app.Logger().Warn("payments: webhook event parked", "provider", kind, "event", ev.EventID, "reason", "unknown event type "+ev.Type)
			}
			if err := saveServer(tx, rec); err != nil {
				return fmt.Errorf("store %s event %s: %w", kind, ev.EventID, err)
			}
			stored++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if stored > 0 && os.Getenv(FaultAfterStoreEnv) == "1" {
		app.Logger().Error("payments: fault injection: exiting after storing a webhook event")
		os.Exit(3)
	}
	return stored, nil
}

// markEvent sets an inbox event's status, in tx.
func markEvent(tx core.App, id, status, reason string) error {
	rec, err := tx.FindRecordById(collInbox, id)
	if err != nil {
		return fmt.Errorf("inbox event %s: %w", id, err)
	}
	rec.Set("status", status)
	if len(reason) > 500 {
		reason = reason[:500]
	}
	rec.Set("reason", reason)
	rec.Set("processed_at", time.Now().UTC())
	return saveServer(tx, rec)
}

// ProcessEvents applies the stored inbox events, oldest first, and reports
// how many it processed and parked. It is what the worker runs after each
// delivery and at start-up (an event stored before a crash is processed
// then); each event is applied in one transaction with its status, so none
// is applied twice.
func ProcessEvents(ctx context.Context, app core.App) (processed, parked int, err error) {
	var recs []*core.Record
	recs, err = app.FindRecordsByFilter(collInbox, "status = 'stored'", "created", 100, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("inbox: %w", err)
	}
	for _, ev := range recs {
		if ctx.Err() != nil {
			return processed, parked, ctx.Err()
		}
		done, perr := processEvent(ctx, app, ev)
		switch {
		case perr != nil:
			var pe *ParkError
			if errors.As(perr, &pe) {
				app.Logger().Warn("payments: webhook event parked", "provider", ev.GetString("provider"), "event", ev.GetString("event_id"), "reason", pe.Reason)
				if err := app.RunInTransaction(func(tx core.App) error { return markEvent(tx, ev.Id, eventParked, pe.Reason) }); err != nil {
					return processed, parked, err
				}
				parked++
				continue
			}
			// a platform that does not answer: try again later, park at last
			app.Logger().Warn("payments: webhook event not processed yet", "event", ev.GetString("event_id"), "error", perr.Error())
			tries := ev.GetInt("tries") + 1
			ev.Set("tries", tries)
			if tries >= maxEventTries {
				ev.Set("status", eventParked)
				ev.Set("reason", "the platform did not answer: "+perr.Error())
				parked++
			}
			if err := saveServer(app, ev); err != nil {
				return processed, parked, err
			}
		case done:
			processed++
		}
	}
	return processed, parked, nil
}

// processEvent re-reads the attempt behind one stored event from its
// platform and applies it.
func processEvent(ctx context.Context, app core.App, ev *core.Record) (bool, error) {
	kind := ev.GetString("provider")
	p, err := platform(app, kind)
	if err != nil {
		return false, &ParkError{Reason: err.Error()}
	}
	ref := ev.GetString("provider_ref")
	att, err := app.FindFirstRecordByFilter(collAttempts, "provider = {:p} && provider_ref = {:r}", dbx.Params{"p": kind, "r": ref})
	if err != nil || ref == "" {
		return false, &ParkError{Reason: "unknown payment " + kind + " " + ref}
	}
	pev := ProviderEvent{Provider: kind, EventID: ev.GetString("event_id"), ProviderRef: ref, Type: ev.GetString("type"), Raw: []byte(ev.GetString("body"))}
	obs, err := p.Observe(ctx, attemptOf(att, PlatformsOf(app).PublicURL), pev)
	if err != nil {
		var pe *ParkError
		if errors.As(err, &pe) {
			return false, err
		}
		return false, fmt.Errorf("%s lookup of %s: %w", kind, ref, err)
	}
	if obs == nil { // nothing to apply (a KO receipt: the notice stays payable)
		return true, app.RunInTransaction(func(tx core.App) error { return markEvent(tx, ev.Id, eventProcessed, "nothing to apply") })
	}
	return true, ApplyObservation(app, att.Id, obs, ev.Id)
}

// worker runs ProcessEvents when woken (after each stored delivery) and
// every interval, from serve until the app terminates.
type worker struct {
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

const workerStoreKey = "civicdesk.payments.worker"

func workerOf(app core.App) *worker {
	w, _ := app.Store().Get(workerStoreKey).(*worker)
	return w
}

// wakeWorker asks the worker to look at the inbox now (no-op without one).
func wakeWorker(app core.App) {
	if w := workerOf(app); w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func startWorker(app core.App, interval time.Duration) {
	w := &worker{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	app.Store().Set(workerStoreKey, w)
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			if _, _, err := ProcessEvents(ctx, app); err != nil && !strings.Contains(err.Error(), "database is closed") {
				app.Logger().Error("payments: inbox worker", "error", err.Error())
			}
			if _, err := cancelOrphans(ctx, app); err != nil {
				app.Logger().Error("payments: cancel attempts of settled fees", "error", err.Error())
			}
			if _, err := publishPositions(ctx, app); err != nil {
				app.Logger().Error("payments: pagoPA positions", "error", err.Error())
			}
			cancel()
			select {
			case <-w.stop:
				return
			case <-w.wake:
			case <-t.C:
			}
		}
	}()
}

func stopWorker(app core.App) {
	if w := workerOf(app); w != nil {
		w.once.Do(func() { close(w.stop) })
		<-w.done
	}
}
