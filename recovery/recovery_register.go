// Package recovery detects that the database was restored to an earlier state
// however it happened (the dashboard or API, a zip unpacked by hand, a
// Litestream restore, a fresh host), and makes it safe for the phones: a
// detected restore rotates the sync epoch, so every phone's next pull is a
// reset and the phone re-pushes what the server lost; the request number
// counters move past every number ever issued, so no number goes to two
// requests. docs/operations.md ("Restore") is the operator's side.
//
// The evidence is a witness file in the data dir that backups and restores
// leave out: it holds the epoch, the highest change sequence number and the
// highest request numbers this data dir ever had. A database behind its
// witness, from another epoch, or without a witness has been restored.
//
// The witness is rewritten (temp file, fsync, rename) after every created
// request, before its response, and every 5 s: concurrent requests share one
// write (writeGroup), and a request whose number the witness already holds
// (the rest of a sync batch) writes nothing.
package recovery

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"civicdesk/hooks"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Hook ids, so tests and plugins can find or Unbind them.
const (
	HookIDDetect        = "civicdeskRecoveryDetect"
	HookIDBackupCreate  = "civicdeskRecoveryBackupCreate"
	HookIDBackupRestore = "civicdeskRecoveryBackupRestore"
	HookIDNumbers       = "civicdeskRecoveryNumbers"
	HookIDTerminate     = "civicdeskRecoveryTerminate"
)

// Excluded are the data dir entries that no backup carries and no restore
// replaces: the witness (it must outlive restores) and Litestream's state
// (it belongs to the running replication, never to a snapshot).
var Excluded = []string{WitnessFile, witnessTemp, ".data.db-litestream", ".auxiliary.db-litestream"}

// witnessInterval is how often the witness catches up with the change sequence.
const witnessInterval = 5 * time.Second

// storeKey holds the app's *tracker in app.Store().
const storeKey = "civicdesk.recovery"

// Register binds restore detection (at serve start), the witness updates and
// the backup exclusions.
func Register(app core.App) {
	t := &tracker{app: app}
	app.Store().Set(storeKey, t)

	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id:       HookIDDetect,
		Priority: -90, // after the change sequence exists (changelog, -100), before routes serve
		Func: func(se *core.ServeEvent) error {
			if _, err := t.detect(); err != nil {
				return fmt.Errorf("civicdesk: restore detection: %w", err)
			}
			t.startTicker()
			return se.Next()
		},
	})
	app.OnBackupCreate().Bind(&hook.Handler[*core.BackupEvent]{
		Id: HookIDBackupCreate,
		Func: func(e *core.BackupEvent) error {
			e.Exclude = append(e.Exclude, Excluded...)
			return e.Next()
		},
	})
	app.OnBackupRestore().Bind(&hook.Handler[*core.BackupEvent]{
		Id: HookIDBackupRestore,
		Func: func(e *core.BackupEvent) error {
			// the freshest evidence right before the data dir is swapped
			if err := t.update(); err != nil {
				e.App.Logger().Error("civicdesk: witness before restore", "error", err)
			}
			e.Exclude = append(e.Exclude, Excluded...)
			return e.Next()
		},
	})
	app.OnRecordAfterCreateSuccess("requests").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookIDNumbers,
		Func: func(e *core.RecordEvent) error {
			// a number counts once it committed; record it before the phone can see it
			// acknowledged (concurrent requests share one write: writeGroup)
			if t.covers(e.Record.GetString("number")) {
				return e.Next() // an earlier write already read it (e.g. a sync batch's first request)
			}
			if err := t.group.do(t.update); err != nil {
				e.App.Logger().Error("civicdesk: restore witness", "error", err)
			}
			return e.Next()
		},
	})
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: HookIDTerminate,
		Func: func(e *core.TerminateEvent) error {
			t.stopTicker()
			if err := t.update(); err != nil {
				e.App.Logger().Error("civicdesk: restore witness at shutdown", "error", err)
			}
			return e.Next()
		},
	})
}

// tracker keeps the witness of one app.
type tracker struct {
	app  core.App
	mu   sync.Mutex
	w    *Witness // nil until detect ran
	stop chan struct{}

	group writeGroup // the per-request writes, shared by concurrent requests
}

// covers reports whether the witness already holds number (a request's):
// a witness write that began after the request committed saw it, and the
// witness is never lowered, so there is nothing to write for it.
func (t *tracker) covers(number string) bool {
	year, n, ok := hooks.ParseNumber(number)
	if !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.w != nil && t.w.Numbers[numberKey(year)] >= n
}

func (t *tracker) startTicker() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		return
	}
	stop := make(chan struct{})
	t.stop = stop
	go func() {
		tick := time.NewTicker(witnessInterval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := t.update(); err != nil {
					t.app.Logger().Error("civicdesk: restore witness", "error", err)
				}
			}
		}
	}()
}

func (t *tracker) stopTicker() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		close(t.stop)
		t.stop = nil
	}
}

// logDetection writes what was detected to the app log and to stderr (the
// app log reaches journald only in dev mode).
func logDetection(app core.App, d *Detection) {
	attrs := []any{
		slog.String("reason", d.Reason), slog.String("previousEpoch", d.PreviousEpoch), slog.String("epoch", d.Epoch),
		slog.Int64("witnessMaxSeq", d.WitnessMaxSeq), slog.Int64("databaseMaxSeq", d.DatabaseMaxSeq),
		slog.Any("numbersRaised", d.NumbersRaised),
	}
	app.Logger().Warn("civicdesk: restore detected", attrs...)
	slog.New(slog.NewTextHandler(stderr, nil)).Warn("civicdesk: restore detected; the sync epoch rotated, phones will re-sync and re-push", attrs...)
}
