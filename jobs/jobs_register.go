// Package jobs runs civicdesk's scheduled work in the city's time zone with
// robfig/cron/v3 (per-scheduler time zone, SkipIfStillRunning, Recover, and a
// Stop that waits for running jobs): the push outbox sweeper, the SLA watch,
// dead push subscription removal, retention (anonymisation) and the pruning of
// sync tombstones. Every run logs its outcome to the app log (dashboard → Logs).
// See docs/jobs.md.
package jobs

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Hook handler ids.
const (
	HookIDStart = "civicdesk.jobs.start"
	HookIDStop  = "civicdesk.jobs.stop"
)

const schedulerStoreKey = "civicdesk.jobs.scheduler"

// Register starts the scheduler on serve and stops it on terminate, waiting for running jobs.
func Register(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDStart,
		Func: func(se *core.ServeEvent) error {
			if Of(se.App) == nil { // OnServe can fire more than once in tests
				s, err := NewScheduler(se.App, Options{})
				if err != nil {
					return err
				}
				s.Start()
				se.App.Store().Set(schedulerStoreKey, s)
			}
			return se.Next()
		},
	})
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: HookIDStop,
		Func: func(e *core.TerminateEvent) error {
			if s := Of(e.App); s != nil {
				e.App.Store().Remove(schedulerStoreKey)
				s.Stop()
			}
			return e.Next()
		},
	})
}

// Of returns app's running scheduler, or nil when the app is not serving.
func Of(app core.App) *Scheduler {
	s, _ := app.Store().Get(schedulerStoreKey).(*Scheduler)
	return s
}
