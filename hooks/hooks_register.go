// Package hooks enforces the request workflow on the data layer, so the records
// API, the dashboard, sync, Open311 and jobs all obey it: transitions, numbering,
// department and SLA, form validation, the append-only event log, and the
// domain events of package workflow.
package hooks

import (
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Hook ids, so tests and plugins can find or Unbind them.
const (
	HookIDActorCreate       = "civicdeskActorCreate"
	HookIDActorUpdate       = "civicdeskActorUpdate"
	HookIDActorDelete       = "civicdeskActorDelete"
	HookIDRequestCreate     = "civicdeskRequestCreate"
	HookIDRequestUpdate     = "civicdeskRequestUpdate"
	HookIDEventCreate       = "civicdeskEventCreate"
	HookIDEventUpdate       = "civicdeskEventUpdate"
	HookIDEventDelete       = "civicdeskEventDelete"
	HookIDServiceValidation = "civicdeskServiceValidation"
	HookIDPhotosCreate      = "civicdeskPhotosCreate"
	HookIDPhotosUpdate      = "civicdeskPhotosUpdate"
	HookIDStaffCreate       = "civicdeskStaffCreate"
	HookIDStaffUpdate       = "civicdeskStaffUpdate"
	HookIDRatingSave        = "civicdeskRatingSave"
	HookIDRequestGeo        = "civicdeskRequestGeo"
	HookIDFollowCreate      = "civicdeskFollowCreate"
	HookIDActorFollow       = "civicdeskActorFollow"
)

// hookPriority runs the workflow before PocketBase's own validation (inside Next).
const hookPriority = -50

// Register binds every workflow hook to app.
func Register(app core.App) {
	// who acts: the records API (and so the dashboard) knows the auth record
	attach := func(e *core.RecordRequestEvent) error {
		workflow.AttachActor(e.Record, workflow.ActorFromAuth(e.Auth))
		return e.Next()
	}
	app.OnRecordCreateRequest(collRequests, collEvents).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDActorCreate, Func: attach, Priority: hookPriority})
	app.OnRecordUpdateRequest(collRequests, collEvents).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDActorUpdate, Func: attach, Priority: hookPriority})
	app.OnRecordDeleteRequest(collRequests, collEvents).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDActorDelete, Func: attach, Priority: hookPriority})

	app.OnRecordCreateRequest(collRequests).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDPhotosCreate, Func: onRequestPhotosUpload, Priority: hookPriority + 1})
	app.OnRecordUpdateRequest(collRequests).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDPhotosUpdate, Func: onRequestPhotosUpload, Priority: hookPriority + 1})

	app.OnRecordCreateRequest(collRequests).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDStaffCreate, Func: attachStaffRequest, Priority: hookPriority + 1})
	app.OnRecordUpdateRequest(collRequests).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDStaffUpdate, Func: attachStaffRequest, Priority: hookPriority + 1})

	app.OnRecordCreate(collRequests).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDRequestCreate, Func: onRequestCreate, Priority: hookPriority})
	app.OnRecordUpdate(collRequests).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDRequestUpdate, Func: onRequestUpdate, Priority: hookPriority})

	app.OnRecordCreate(collEvents).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDEventCreate, Func: onEventCreate, Priority: hookPriority})
	app.OnRecordUpdate(collEvents).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDEventUpdate, Func: onEventUpdate, Priority: hookPriority})
	app.OnRecordDelete(collEvents).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDEventDelete, Func: onEventDelete, Priority: hookPriority})

	// inside the workflow's Next, just before the write
	app.OnRecordCreate(collRequests).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDRequestGeo, Func: onRequestGeo, Priority: hookPriority + 2})
	app.OnRecordUpdate(collRequests).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDRequestGeo, Func: onRequestGeo, Priority: hookPriority + 2})
	app.OnRecordCreate("follows").Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDFollowCreate, Func: onFollowCreate, Priority: hookPriority})
	// its own id: handlers of one hook share ids across tags, and Bind replaces a handler with the same id
	app.OnRecordCreateRequest("follows").Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDActorFollow, Func: attach, Priority: hookPriority})
	app.OnRecordCreate(collRatings).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDRatingSave, Func: onRatingSave, Priority: hookPriority})
	app.OnRecordUpdate(collRatings).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDRatingSave, Func: onRatingSave, Priority: hookPriority})

	app.OnRecordValidate(collServices).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDServiceValidation, Func: onServiceValidate, Priority: hookPriority})
}

// Collection names used by the hooks.
const (
	collRequests = "requests"
	collEvents   = "request_events"
	collServices = "services"
)

// inTx runs fn with e.App swapped for a transaction (or the current one), so
// everything the hook writes commits or rolls back with the record itself.
// This is PocketBase's own pattern (core/record_model_superusers.go).
func inTx(e *core.RecordEvent, fn func() error) error {
	if e.App.IsTransactional() {
		return fn()
	}
	original := e.App
	err := e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		return fn()
	})
	e.App = original
	return err
}
