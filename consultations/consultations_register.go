// Package consultations is e-participation: public consultations whose
// ballots a phone casts offline through the sync outbox (mutation
// ballot.cast), one per citizen and consultation (a UNIQUE index), changeable
// until close with a version check, receipted with a CR1 receipt that holds no
// choice, and tallied only for publication. See docs/consultations.md.
package consultations

import (
	"fmt"

	mobileapi "civicdesk/mobile-api"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Hook ids.
const (
	HookIDRoutes       = "civicdeskConsultationsRoutes"
	HookIDCreate       = "civicdeskConsultationsCreate"
	HookIDUpdate       = "civicdeskConsultationsUpdate"
	HookIDDelete       = "civicdeskConsultationsDelete"
	HookIDActorCreate  = "civicdeskConsultationsActorCreate"
	HookIDActorUpdate  = "civicdeskConsultationsActorUpdate"
	HookIDTextUpdate   = "civicdeskConsultationsTextUpdate"
	HookIDTextActor    = "civicdeskConsultationsTextActor"
	HookIDLifecycleJob = "civicdeskConsultationsLifecycle"
	HookIDServerOnly   = "civicdeskConsultationsServerOnly"
)

// JobLifecycle is the cron job id of RunLifecycle (every minute).
const JobLifecycle = "consultations_lifecycle"

// Register binds the consultation hooks and routes, the ballot.cast sync
// mutation and the lifecycle job.
func Register(app core.App) {
	mobileapi.RegisterMutation(MutationCast, mobileapi.MutationHandler{
		Parse: parseCast,
		Apply: func(tx core.App, citizenID string, m mobileapi.Mutation, parsed any) error {
			return Of(app).applyCast(tx, citizenID, m, parsed)
		},
	})

	app.OnRecordCreateRequest(CollConsultations).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDActorCreate, Func: attachActor})
	app.OnRecordUpdateRequest(CollConsultations).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDActorUpdate, Func: attachActor})
	app.OnRecordUpdateRequest(CollTexts).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDTextActor, Func: attachActor})
	app.OnRecordCreate(CollConsultations).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDCreate, Func: onCreate})
	app.OnRecordUpdate(CollConsultations).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDUpdate, Func: onUpdate})
	app.OnRecordDelete(CollConsultations).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDDelete, Func: onDelete})
	app.OnRecordUpdate(CollTexts).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDTextUpdate, Func: onTextUpdate})
	// the log and the free texts are written by the server: not even a superuser adds or removes one by hand
	serverOnly := func(e *core.RecordRequestEvent) error {
		return e.ForbiddenError("These records are written by the server only.", nil)
	}
	app.OnRecordCreateRequest(CollEvents, CollTexts).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDServerOnly, Func: serverOnly})
	app.OnRecordUpdateRequest(CollEvents).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDServerOnly, Func: serverOnly})
	app.OnRecordDeleteRequest(CollEvents, CollTexts).Bind(&hook.Handler[*core.RecordRequestEvent]{Id: HookIDServerOnly, Func: serverOnly})

	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDRoutes,
		Func: func(se *core.ServeEvent) error {
			bindRoutes(se)
			// minute resolution is enough: ballots are judged by the clock, the
			// job only records the status and queues notices
			if err := se.App.Cron().Add(JobLifecycle, "* * * * *", func() {
				if rep, err := Of(se.App).RunLifecycle(); err != nil {
					se.App.Logger().Error("consultations: lifecycle", "error", err.Error())
				} else if rep != (LifecycleReport{}) {
					se.App.Logger().Info("consultations: lifecycle", "opened", rep.Opened, "closed", rep.Closed, "reminded", rep.Reminded, "pushes", rep.Pushes)
				}
			}); err != nil {
				return fmt.Errorf("consultations: lifecycle job: %w", err)
			}
			return se.Next()
		},
	})
}
