package monitoring

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Check outcomes. A failing check makes /api/ready answer 503 (take the server
// out of service); a warning answers 200 with status "degraded" (alert, but
// keep serving: a stale backup is no reason to turn citizens away).
// ?strict=1 treats warnings as failures, for monitoring probes.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Readiness thresholds and their environment overrides.
const (
	DefaultDiskFloorMB     = 1024             // CIVICDESK_DISK_FLOOR_MB
	DefaultOutboxMaxAge    = 15 * time.Minute // CIVICDESK_OUTBOX_MAX_AGE (Go duration)
	DefaultBackupMaxAge    = 26 * time.Hour   // CIVICDESK_BACKUP_MAX_AGE: a daily backup plus slack
	readyDBTimeout         = 2 * time.Second
	readyStatusReady       = "ready"
	readyStatusDegraded    = "degraded"
	readyStatusNotReady    = "not_ready"
	envDiskFloorMB         = "CIVICDESK_DISK_FLOOR_MB"
	envOutboxMaxAge        = "CIVICDESK_OUTBOX_MAX_AGE"
	envBackupMaxAge        = "CIVICDESK_BACKUP_MAX_AGE"
	backupAgeUnknownReason = "no backup yet"
)

// Check is one line of the readiness answer.
type Check struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// Readiness is the body of GET /api/ready.
type Readiness struct {
	Status string  `json:"status"`
	Checks []Check `json:"checks"`
}

func handleReady(e *core.RequestEvent, m *Metrics) error {
	r := Ready(e.App, m)
	strict := e.Request.URL.Query().Get("strict") == "1"
	code := http.StatusOK
	if r.Status == readyStatusNotReady || (strict && r.Status != readyStatusReady) {
		code = http.StatusServiceUnavailable
	}
	e.Response.Header().Set("Cache-Control", "no-store")
	return e.JSON(code, r)
}

// Ready runs every readiness check.
func Ready(app core.App, m *Metrics) *Readiness {
	checks := []Check{
		checkWritable(app),
		checkMigrations(app),
		checkDisk(app),
		checkBusy(app),
	}
	if m != nil {
		s := m.state.get()
		checks = append(checks, checkOutbox(s), checkBackup(app, s))
	}
	r := &Readiness{Status: readyStatusReady, Checks: checks}
	for _, c := range checks {
		switch {
		case c.Status == CheckFail:
			r.Status = readyStatusNotReady
		case c.Status == CheckWarn && r.Status == readyStatusReady:
			r.Status = readyStatusDegraded
		}
	}
	return r
}

// checkWritable takes the write lock and gives it back: it fails while a
// writer holds the database longer than the timeout (e.g. a checkpoint stall).
func checkWritable(app core.App) Check {
	c := Check{Name: "database", Status: CheckOK, Message: "writable"}
	db, ok := app.NonconcurrentDB().(*dbx.DB)
	if !ok {
		return Check{Name: "database", Status: CheckFail, Message: "unexpected database handle"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyDBTimeout)
	defer cancel()
	conn, err := db.DB().Conn(ctx)
	if err == nil {
		defer conn.Close()
		if _, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err == nil {
			_, err = conn.ExecContext(ctx, "ROLLBACK")
		}
	}
	if err != nil {
		return Check{Name: "database", Status: CheckFail, Message: "cannot take the write lock within " + readyDBTimeout.String() + ": " + err.Error()}
	}
	var one int
	if err := app.ConcurrentDB().NewQuery("SELECT 1").WithContext(ctx).Row(&one); err != nil {
		return Check{Name: "database", Status: CheckFail, Message: "cannot read: " + err.Error()}
	}
	return c
}

// checkMigrations: every migration this binary knows has been applied.
func checkMigrations(app core.App) Check {
	var applied []string
	if err := app.ConcurrentDB().NewQuery("SELECT [[file]] FROM [[_migrations]]").Column(&applied); err != nil {
		return Check{Name: "migrations", Status: CheckFail, Message: "cannot read the migrations table: " + err.Error()}
	}
	have := map[string]bool{}
	for _, f := range applied {
		have[f] = true
	}
	var missing []string
	for _, list := range []core.MigrationsList{core.SystemMigrations, core.AppMigrations} {
		for _, m := range list.Items() {
			if !have[m.File] {
				missing = append(missing, m.File)
			}
		}
	}
	if len(missing) > 0 {
		return Check{Name: "migrations", Status: CheckFail, Message: fmt.Sprintf("%d not applied, first %s: restart `civicdesk serve` to apply them", len(missing), missing[0])}
	}
	return Check{Name: "migrations", Status: CheckOK, Message: fmt.Sprintf("%d applied", len(applied))}
}

// freeBytes is the space left to unprivileged users on the data dir's file system.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func diskFloor() uint64 {
	mb := uint64(DefaultDiskFloorMB)
	if v, err := strconv.ParseUint(os.Getenv(envDiskFloorMB), 10, 64); err == nil {
		mb = v
	}
	return mb << 20
}

func checkDisk(app core.App) Check {
	free, err := freeBytes(app.DataDir())
	if err != nil {
		return Check{Name: "disk", Status: CheckFail, Message: "cannot read free space: " + err.Error()}
	}
	floor := diskFloor()
	msg := fmt.Sprintf("%d MiB free (floor %d MiB)", free>>20, floor>>20)
	if free < floor {
		return Check{Name: "disk", Status: CheckFail, Message: msg + ": free space or move backups off the server"}
	}
	return Check{Name: "disk", Status: CheckOK, Message: msg}
}

func checkBusy(app core.App) Check {
	if app.Store().Has(core.StoreKeyActiveBackup) {
		return Check{Name: "backup_running", Status: CheckWarn, Message: "a backup or restore is running: writes may stall for a few seconds"}
	}
	return Check{Name: "backup_running", Status: CheckOK, Message: "none"}
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

func checkOutbox(s *appState) Check {
	if s.Err != nil {
		return Check{Name: "push_outbox", Status: CheckFail, Message: "cannot read the outbox: " + s.Err.Error()}
	}
	limit := envDuration(envOutboxMaxAge, DefaultOutboxMaxAge)
	msg := fmt.Sprintf("%d waiting, oldest %s (limit %s)", s.OutboxDepth, s.OutboxOldestAge.Round(time.Second), limit)
	if s.OutboxOldestAge > limit {
		return Check{Name: "push_outbox", Status: CheckWarn, Message: msg + ": push delivery is stuck (see the log)"}
	}
	return Check{Name: "push_outbox", Status: CheckOK, Message: msg}
}

func checkBackup(app core.App, s *appState) Check {
	limit := envDuration(envBackupMaxAge, DefaultBackupMaxAge)
	if s.LastBackup.IsZero() {
		msg := backupAgeUnknownReason
		if app.Settings().Backups.Cron == "" {
			msg += " and automatic backups are off (dashboard: Settings → Backups)"
		}
		return Check{Name: "backup", Status: CheckWarn, Message: msg}
	}
	age := s.at.Sub(s.LastBackup)
	msg := fmt.Sprintf("newest backup %s old (limit %s)", age.Round(time.Second), limit)
	if age > limit {
		return Check{Name: "backup", Status: CheckWarn, Message: msg + ": check the backup schedule and the log"}
	}
	return Check{Name: "backup", Status: CheckOK, Message: msg}
}
