package workflow

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Event is a domain event about one request. hooks/ triggers it inside the
// write that caused it, so a listener's writes through App commit or roll back
// with that write (a receipt is never issued for a request that was not saved).
//
// NB! Never do network I/O in a listener: use AfterCommit, then a worker.
type Event struct {
	hook.Event

	// App is the transaction's app: write only through it.
	App core.App
	// Request is the request record as saved.
	Request *core.Record
	// Entry is the request_events row written for this event (nil for payments).
	Entry *core.Record
	// Receipt is the receipt issued (OnReceiptIssued only).
	Receipt *core.Record
	// Actor performed the change.
	Actor Actor
	// From and To are the statuses around a status change (To only on acceptance).
	From, To string
}

// AfterCommit runs fn once the surrounding write has committed; never when it rolls back.
func (e *Event) AfterCommit(fn func()) {
	AfterCommit(e.App, fn)
}

// AfterCommit runs fn once app's transaction commits, never when it rolls
// back, and at once when app is not in a transaction.
func AfterCommit(app core.App, fn func()) {
	if info := app.TxInfo(); info != nil {
		info.OnComplete(func(txErr error) error {
			if txErr == nil {
				fn()
			}
			return nil
		})
		return
	}
	fn()
}

// Hooks are the domain events of one app. Bind with Of(app).OnX.BindFunc(...).
type Hooks struct {
	// OnAccepted fires when a new request is accepted (any path: sync, records API, Open311).
	OnAccepted *hook.Hook[*Event]
	// OnStatusChanged fires on every status change; Entry.public says whether the citizen sees it.
	OnStatusChanged *hook.Hook[*Event]
	// OnPublicNote fires when staff add a public comment to a request.
	OnPublicNote *hook.Hook[*Event]
	// OnPaymentRecorded fires when a fee payment is recorded on a request (paid_at set).
	OnPaymentRecorded *hook.Hook[*Event]
	// OnReceiptIssued fires when receipts issued a request's receipt (Receipt
	// set), in the same transaction: receipts are written without app.Save,
	// so this is where listeners of new receipts (push) hear of them.
	OnReceiptIssued *hook.Hook[*Event]
}

const hooksStoreKey = "civicdesk.workflow.hooks"

// Of returns the domain event hooks of app (one set per app, shared by its transactions).
func Of(app core.App) *Hooks {
	return app.Store().GetOrSet(hooksStoreKey, func() any {
		return &Hooks{
			OnAccepted:        &hook.Hook[*Event]{},
			OnStatusChanged:   &hook.Hook[*Event]{},
			OnPublicNote:      &hook.Hook[*Event]{},
			OnPaymentRecorded: &hook.Hook[*Event]{},
			OnReceiptIssued:   &hook.Hook[*Event]{},
		}
	}).(*Hooks)
}
