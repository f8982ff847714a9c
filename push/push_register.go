// Package push sends web push notifications through a persistent outbox (CONTRACT §5).
//
// Notifications are written as push_outbox rows inside the transaction of the
// change that causes them (a transactional outbox: a crash between the commit
// and a separate enqueue could otherwise lose them), and a bounded worker pool
// started on serve sends them with webpush-go after the commit. See docs/push.md.
package push

import (
	"context"
	"fmt"
	"time"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Hook handler ids (so tests and other packages can find or unbind them).
const (
	HookIDKeys          = "civicdesk.push.keys"
	HookIDRoutes        = "civicdesk.push.routes"
	HookIDStart         = "civicdesk.push.start"
	HookIDStop          = "civicdesk.push.stop"
	HookIDValidate      = "civicdesk.push.validateSubscription"
	HookIDStatusChanged = "civicdesk.push.onStatusChanged"
	HookIDPublicNote    = "civicdesk.push.onPublicNote"
	HookIDReceipt       = "civicdesk.push.onReceipt"
	HookIDReceiptIssued = "civicdesk.push.onReceiptIssued"
)

const (
	keysStoreKey       = "civicdesk.push.keys"
	dispatcherStoreKey = "civicdesk.push.dispatcher"
	// stopTimeout bounds the wait for POSTs in flight on terminate (requestTimeout + margin).
	stopTimeout = requestTimeout + 5*time.Second
)

// Register mounts the push routes, checks subscriptions on the data layer,
// queues notifications on workflow events and receipts, and runs the
// dispatcher while the app serves.
func Register(app core.App) {
	app.OnBootstrap().Bind(&hook.Handler[*core.BootstrapEvent]{
		Id: HookIDKeys,
		Func: func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			k, err := LoadOrCreateKeys(e.App.DataDir())
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			e.App.Store().Set(keysStoreKey, k)
			return nil
		},
	})

	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDRoutes,
		Func: func(se *core.ServeEvent) error {
			bindRoutes(se)
			return se.Next()
		},
	})
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDStart,
		Func: func(se *core.ServeEvent) error {
			if err := startDispatcher(se.App); err != nil {
				return err
			}
			return se.Next()
		},
	})
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: HookIDStop,
		Func: func(e *core.TerminateEvent) error {
			stopDispatcher(e.App)
			return e.Next()
		},
	})

	app.OnRecordCreate(CollectionSubscriptions).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDValidate, Func: validateSubscription})
	app.OnRecordUpdate(CollectionSubscriptions).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDValidate, Func: validateSubscription})

	wf := workflow.Of(app)
	wf.OnStatusChanged.Bind(&hook.Handler[*workflow.Event]{
		Id: HookIDStatusChanged,
		Func: func(e *workflow.Event) error {
			// the citizen's own change (a reply, a "not fixed") is no news to them
			if e.Entry == nil || !e.Entry.GetBool("public") || e.Actor.Kind == workflow.ActorCitizen {
				return e.Next()
			}
			if err := queueForRequest(e.App, e.Request, Message{Kind: KindStatus, Status: e.To}); err != nil {
				return err
			}
			e.AfterCommit(func() { Poke(app) })
			return e.Next()
		},
	})
	wf.OnPublicNote.Bind(&hook.Handler[*workflow.Event]{
		Id: HookIDPublicNote,
		Func: func(e *workflow.Event) error {
			if err := queueForRequest(e.App, e.Request, Message{Kind: KindNote}); err != nil {
				return err
			}
			e.AfterCommit(func() { Poke(app) })
			return e.Next()
		},
	})
	// receipts.Issue writes a request's receipt without app.Save and announces it here
	wf.OnReceiptIssued.Bind(&hook.Handler[*workflow.Event]{
		Id: HookIDReceiptIssued,
		Func: func(e *workflow.Event) error {
			if e.Receipt == nil || e.Request == nil {
				return e.Next()
			}
			if err := queueForRequest(e.App, e.Request, Message{Kind: KindReceipt, ReceiptKind: e.Receipt.GetString("kind")}); err != nil {
				return err
			}
			e.AfterCommit(func() { Poke(app) })
			return e.Next()
		},
	})
	// a receipt saved through app.Save (not receipts.Issue)
	app.OnRecordCreate("receipts").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookIDReceipt,
		Func: func(e *core.RecordEvent) error {
			// the receipt and its notifications commit together; when the receipt is
			// saved inside a request change (hooks/), this joins that transaction
			original := e.App
			defer func() { e.App = original }()
			return original.RunInTransaction(func(tx core.App) error {
				e.App = tx
				if err := e.Next(); err != nil {
					return err
				}
				if e.Record.GetString("request") == "" {
					return nil // a ballot receipt (consultations): no request to notify about
				}
				req, err := tx.FindRecordById("requests", e.Record.GetString("request"))
				if err != nil {
					return fmt.Errorf("push: receipt's request: %w", err)
				}
				if err := queueForRequest(tx, req, Message{Kind: KindReceipt, ReceiptKind: e.Record.GetString("kind")}); err != nil {
					return err
				}
				workflow.AfterCommit(tx, func() { Poke(app) })
				return nil
			})
		},
	})
}

// queueForRequest fills m from req and enqueues it for req's citizen.
func queueForRequest(txApp core.App, req *core.Record, m Message) error {
	if req == nil {
		return nil
	}
	m.RequestID = req.Id
	m.Number = req.GetString("number")
	if m.Status == "" {
		m.Status = req.GetString("status")
	}
	if _, err := Enqueue(txApp, req.GetString("citizen"), m, time.Now(), DefaultTTL); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	return nil
}

func keysOf(app core.App) (Keys, bool) {
	k, ok := app.Store().Get(keysStoreKey).(Keys)
	return k, ok
}

// NewSender returns a Sender with app's VAPID keys, city subject and allow-list.
func NewSender(app core.App, workers int) (*Sender, error) {
	k, ok := keysOf(app)
	if !ok {
		var err error
		if k, err = LoadOrCreateKeys(app.DataDir()); err != nil {
			return nil, fmt.Errorf("push: %w", err)
		}
		app.Store().Set(keysStoreKey, k)
	}
	return &Sender{
		Client:  NewHTTPClient(AllowListOf(app), workers),
		Keys:    k,
		Subject: city.Of(app).PushSubject,
	}, nil
}

// PublicKey returns app's VAPID public key (base64url), loading or creating the key file.
func PublicKey(app core.App) (string, error) {
	if k, ok := keysOf(app); ok {
		return k.PublicKey, nil
	}
	k, err := LoadOrCreateKeys(app.DataDir())
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	app.Store().Set(keysStoreKey, k)
	return k.PublicKey, nil
}

// Of returns app's running dispatcher, or nil when it is not serving.
func Of(app core.App) *Dispatcher {
	d, _ := app.Store().Get(dispatcherStoreKey).(*Dispatcher)
	return d
}

// Poke wakes app's dispatcher, if one runs.
func Poke(app core.App) {
	if d := Of(app); d != nil {
		d.Poke()
	}
}

func startDispatcher(app core.App) error {
	if Of(app) != nil {
		return nil // OnServe can fire more than once in tests
	}
	d, err := NewDispatcher(app, Options{})
	if err != nil {
		return err
	}
	if err := d.Start(); err != nil {
		return fmt.Errorf("push: start dispatcher: %w", err)
	}
	app.Store().Set(dispatcherStoreKey, d)
	return nil
}

func stopDispatcher(app core.App) {
	d := Of(app)
	if d == nil {
		return
	}
	app.Store().Remove(dispatcherStoreKey)
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		app.Logger().Warn("push: dispatcher stopped before every send finished", "error", err.Error())
	}
}
