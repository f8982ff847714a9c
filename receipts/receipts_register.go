// Package receipts issues and verifies signed QR receipts (CONTRACT §6): an
// ES256 COSE_Sign1 over a deterministic-CBOR CWT, Base45-encoded behind
// "CR1:", that anyone can verify offline against the JWKS at
// /.well-known/receipt-keys. See docs/receipts.md.
package receipts

import (
	"fmt"

	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/spf13/cobra"
)

// Hook ids, so tests and plugins can find or Unbind them.
const (
	HookIDKeys          = "civicdeskReceiptsKeys"
	HookIDRoutes        = "civicdeskReceiptsRoutes"
	HookIDAccepted      = "civicdeskReceiptsAccepted"
	HookIDResolved      = "civicdeskReceiptsResolved"
	HookIDPayment       = "civicdeskReceiptsPayment"
	HookIDServiceLimits = "civicdeskReceiptsServiceLimits"
	HookIDRequestLimits = "civicdeskReceiptsRequestLimits"
	HookIDServiceCodes  = "civicdeskReceiptsServiceCodes"
)

// Register creates the signing key on first start, issues receipts on the
// workflow events, mounts the receipt routes and adds the `receipts` command.
func Register(app core.App, rootCmd *cobra.Command) {
	app.OnBootstrap().Bind(&hook.Handler[*core.BootstrapEvent]{
		Id: HookIDKeys,
		Func: func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			// after Next: the data dir exists; a bad issuer code stops the start here, not at the first request
			if _, err := Of(e.App).KeyStore(); err != nil {
				return fmt.Errorf("receipts: %w", err)
			}
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

	events := workflow.Of(app)
	events.OnAccepted.Bind(&hook.Handler[*workflow.Event]{
		Id: HookIDAccepted,
		Func: func(e *workflow.Event) error {
			if _, err := Of(app).Issue(e.App, e.Request, KindReceived); err != nil {
				return err
			}
			return e.Next()
		},
	})
	events.OnStatusChanged.Bind(&hook.Handler[*workflow.Event]{
		Id: HookIDResolved,
		Func: func(e *workflow.Event) error {
			if e.To == workflow.StatusResolved {
				if _, err := Of(app).Issue(e.App, e.Request, KindResolved); err != nil {
					return err
				}
			}
			return e.Next()
		},
	})
	events.OnPaymentRecorded.Bind(&hook.Handler[*workflow.Event]{
		Id: HookIDPayment,
		Func: func(e *workflow.Event) error {
			if _, err := Of(app).Issue(e.App, e.Request, KindPayment); err != nil {
				return err
			}
			return e.Next()
		},
	})

	// the service code cache of Issue: cleared when a service is written, and
	// again once that write is committed or failed (a receipt issued meanwhile
	// may have read the old code)
	forget := func(e *core.RecordEvent) error {
		Of(app).forgetServiceCodes()
		err := e.Next()
		Of(app).forgetServiceCodes()
		return err
	}
	forgetFailed := func(e *core.RecordErrorEvent) error {
		Of(app).forgetServiceCodes()
		return e.Next()
	}
	app.OnRecordUpdate(collServices).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDServiceCodes, Func: forget})
	app.OnRecordDelete(collServices).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDServiceCodes, Func: forget})
	app.OnRecordAfterUpdateSuccess(collServices).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDServiceCodes, Func: forget})
	app.OnRecordAfterDeleteSuccess(collServices).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDServiceCodes, Func: forget})
	app.OnRecordAfterUpdateError(collServices).Bind(&hook.Handler[*core.RecordErrorEvent]{Id: HookIDServiceCodes, Func: forgetFailed})
	app.OnRecordValidate(collServices).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDServiceLimits, Func: validateServiceLimits})
	app.OnRecordValidate("requests").Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDRequestLimits, Func: validateRequestLimits})

	if rootCmd != nil {
		rootCmd.AddCommand(Command(app))
	}
}
