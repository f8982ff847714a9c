// Package doctor is `civicdesk doctor`: one command a city's IT person runs to
// check a deployment. Each check prints what it found and, when something is
// wrong, what to do in plain words; the exit status is non-zero when any
// check failed. docs/operations.md "Doctor" lists the checks.
package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/receipts"
	"civicdesk/recovery"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Outcomes of a check.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "FAIL"
)

// Thresholds.
const (
	BackupMaxAge    = 26 * time.Hour  // a daily backup plus slack
	LitestreamFresh = time.Hour       // Litestream's state dir changes at least this often while it runs
	ClockSkewMax    = 2 * time.Minute // newest database time ahead of the clock
	DiskFloor       = uint64(1) << 30 // 1 GiB at least, and twice the data dir
)

// Check is one finding.
type Check struct {
	Name    string
	Status  string
	Message string
	Fix     string // what to do, when Status is not OK
}

// Options adjust a run.
type Options struct {
	// MailTo, when set, sends a test mail there through the configured SMTP server.
	MailTo string
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// Processes lists running command lines (tests); /proc when nil.
	Processes func() []string
	// FreeBytes is the free space of a directory's file system (tests); statfs when nil.
	FreeBytes func(dir string) (uint64, error)
}

// Run runs every check against app's data dir and settings.
func Run(app core.App, opts Options) []Check {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Processes == nil {
		opts.Processes = procCmdlines
	}
	if opts.FreeBytes == nil {
		opts.FreeBytes = freeBytes
	}
	return []Check{
		checkPublicURL(app),
		checkSMTP(app, opts),
		checkDataDir(app),
		checkKeys(app),
		checkBackups(app, opts),
		checkOffsite(app, opts),
		checkTrustedProxy(app),
		checkDisk(app, opts),
		checkClock(app, opts),
		checkWitness(app),
	}
}

func ok(name, msg string) Check { return Check{Name: name, Status: OK, Message: msg} }

func checkPublicURL(app core.App) Check {
	const name = "public URL"
	raw := city.Of(app).PublicURL
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Check{name, Fail, fmt.Sprintf("CIVICDESK_PUBLIC_URL %q is not a URL", raw), "set CIVICDESK_PUBLIC_URL to the address citizens use, e.g. https://segnalazioni.comune.example"}
	}
	if u.Scheme != "https" {
		return Check{name, Fail, raw + " is not https: phones install the app, receive push and keep working offline only over https",
			"set CIVICDESK_PUBLIC_URL=https://<your host> and put TLS in front (deploy/Caddyfile, or civicdesk serve --https)"}
	}
	return ok(name, raw)
}

func checkSMTP(app core.App, opts Options) Check {
	const name = "mail (SMTP)"
	s := app.Settings()
	if !s.SMTP.Enabled || s.SMTP.Host == "" {
		return Check{name, Fail, "no SMTP server: staff sign-in codes and password resets cannot be mailed (they only reach the server log)",
			"dashboard /_/ → Settings → Mail settings: turn on SMTP with your mail server, then run `civicdesk doctor --mail-to you@city.example`"}
	}
	if opts.MailTo == "" {
		return ok(name, fmt.Sprintf("%s:%d (send a test mail with --mail-to ADDRESS)", s.SMTP.Host, s.SMTP.Port))
	}
	to, err := mail.ParseAddress(opts.MailTo)
	if err != nil {
		return Check{name, Fail, fmt.Sprintf("--mail-to %q is not an address", opts.MailTo), "give an e-mail address"}
	}
	err = app.NewMailClient().Send(&mailer.Message{
		From:    mail.Address{Name: s.Meta.SenderName, Address: s.Meta.SenderAddress},
		To:      []mail.Address{*to},
		Subject: "civicdesk doctor: test mail",
		Text:    "This is a test mail from `civicdesk doctor`. Mail works.",
	})
	if err != nil {
		return Check{name, Fail, fmt.Sprintf("the test mail to %s failed: %v", to.Address, err), "check host, port, user, password and TLS in Settings → Mail settings; ask your mail provider whether this server may send"}
	}
	return ok(name, fmt.Sprintf("test mail sent to %s through %s:%d: check that it arrived", to.Address, s.SMTP.Host, s.SMTP.Port))
}

// private reports whether a mode gives nothing to group and others.
func private(m fs.FileMode) bool { return m.Perm()&0o077 == 0 }

func checkDataDir(app core.App) Check {
	const name = "data dir"
	dir := app.DataDir()
	fi, err := os.Stat(dir)
	if err != nil {
		return Check{name, Fail, err.Error(), "check --dir"}
	}
	if !private(fi.Mode()) {
		return Check{name, Fail, fmt.Sprintf("%s has mode %v: other users of this server can read citizens' data", dir, fi.Mode().Perm()),
			fmt.Sprintf("chmod 700 %s (the unit in deploy/ sets UMask=0077)", dir)}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return Check{name, Warn, fmt.Sprintf("%s belongs to uid %d, doctor runs as uid %d", dir, st.Uid, os.Getuid()),
			"run doctor as the service user: runuser -u civicdesk -- civicdesk doctor --dir " + dir}
	}
	return ok(name, dir+" (owner only)")
}

func checkKeys(app core.App) Check {
	const name = "key files"
	var found []string
	for _, f := range []string{receipts.KeyFileName, push.KeyFileName} {
		p := filepath.Join(app.DataDir(), f)
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return Check{name, Fail, f + " is missing: receipts cannot be signed or push sent", "start `civicdesk serve` once: it creates the keys; if you restored by hand, copy the key file from the backup"}
		}
		if err != nil {
			return Check{name, Fail, err.Error(), "check the data dir's permissions"}
		}
		if !private(fi.Mode()) {
			return Check{name, Fail, fmt.Sprintf("%s has mode %v: anyone on the server could sign receipts", f, fi.Mode().Perm()), "chmod 600 " + p}
		}
		found = append(found, f)
	}
	return ok(name, strings.Join(found, ", ")+" present, owner only")
}

func newestBackup(app core.App) (time.Time, error) {
	fsys, err := app.NewBackupsFilesystem()
	if err != nil {
		return time.Time{}, err
	}
	defer fsys.Close()
	files, err := fsys.List("")
	if err != nil {
		return time.Time{}, err
	}
	var newest time.Time
	for _, f := range files {
		if f.ModTime.After(newest) {
			newest = f.ModTime
		}
	}
	return newest, nil
}

func checkBackups(app core.App, opts Options) Check {
	const name = "backups"
	newest, err := newestBackup(app)
	if err != nil {
		return Check{name, Fail, "cannot list backups: " + err.Error(), "check Settings → Backups (S3 credentials, bucket)"}
	}
	cron := app.Settings().Backups.Cron
	if newest.IsZero() {
		fix := "dashboard → Settings → Backups → Backup now; keep the daily schedule on"
		if cron == "" {
			fix = "dashboard → Settings → Backups: turn on automatic backups (e.g. 0 3 * * *), then Backup now"
		}
		return Check{name, Fail, "no backup at all", fix}
	}
	age := opts.Now().Sub(newest)
	if age > BackupMaxAge {
		return Check{name, Fail, fmt.Sprintf("the newest backup is %s old", age.Round(time.Minute)), "check the backup schedule (Settings → Backups) and the log (dashboard → Logs, \"Autobackup failure\")"}
	}
	return ok(name, fmt.Sprintf("newest %s old (schedule %q)", age.Round(time.Minute), cron))
}

// procCmdlines lists the command lines of visible processes.
func procCmdlines() []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range dirs {
		raw, err := os.ReadFile(p)
		if err == nil && len(raw) > 0 {
			out = append(out, strings.ReplaceAll(string(raw), "\x00", " "))
		}
	}
	return out
}

func checkOffsite(app core.App, opts Options) Check {
	const name = "off-site copy"
	if app.Settings().Backups.S3.Enabled {
		return ok(name, "backups go to S3 bucket "+app.Settings().Backups.S3.Bucket)
	}
	for _, cmd := range opts.Processes() {
		if strings.Contains(cmd, "litestream") && strings.Contains(cmd, "replicate") {
			return ok(name, "Litestream is replicating ("+strings.TrimSpace(cmd)+")")
		}
	}
	if fi, err := os.Stat(filepath.Join(app.DataDir(), ".data.db-litestream")); err == nil && opts.Now().Sub(fi.ModTime()) < LitestreamFresh {
		return ok(name, "Litestream's state changed "+opts.Now().Sub(fi.ModTime()).Round(time.Second).String()+" ago")
	}
	return Check{name, Fail, "backups stay on this server: a lost disk loses everything",
		"run Litestream next to civicdesk (deploy/litestream.yml, deploy/litestream.service), or send backups to S3 (Settings → Backups → S3)"}
}

func checkTrustedProxy(app core.App) Check {
	const name = "trusted proxy"
	h := app.Settings().TrustedProxy.Headers
	if len(h) == 0 {
		return Check{name, Warn, "no client-IP header set: behind a reverse proxy every citizen looks like the proxy, and rate limits hit them all at once",
			"if a proxy is in front: dashboard → Settings → Application → Trusted proxy → X-Forwarded-For (deploy/Caddyfile sets it)"}
	}
	return ok(name, strings.Join(h, ", "))
}

func dirSize(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += uint64(fi.Size())
			}
		}
		return nil
	})
	return n
}

// freeBytes is the space left to unprivileged users on dir's file system.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func checkDisk(app core.App, opts Options) Check {
	const name = "disk space"
	free, err := opts.FreeBytes(app.DataDir())
	if err != nil {
		return Check{name, Fail, err.Error(), "check the data dir"}
	}
	used := dirSize(app.DataDir())
	need := max(DiskFloor, 2*used)
	msg := fmt.Sprintf("%d MiB free, data dir %d MiB (a backup needs about twice its size)", free>>20, used>>20)
	if free < need {
		return Check{name, Fail, msg, fmt.Sprintf("free at least %d MiB: delete old backups (Settings → Backups), send backups and files to S3, or grow the disk", need>>20)}
	}
	return ok(name, msg)
}

func checkClock(app core.App, opts Options) Check {
	const name = "clock"
	var newest string
	err := app.DB().NewQuery("SELECT COALESCE(MAX([[at]]), '') FROM [[changes]]").Row(&newest)
	if err != nil || newest == "" {
		return Check{name, Warn, "no writes to compare the clock with yet", "start `civicdesk serve` once"}
	}
	dt, err := types.ParseDateTime(newest)
	if err != nil {
		return Check{name, Warn, "cannot read the newest change time " + newest, ""}
	}
	ahead := dt.Time().Sub(opts.Now())
	if ahead > ClockSkewMax {
		return Check{name, Fail, fmt.Sprintf("the database's newest write is %s ahead of this clock: the clock is wrong (due dates, receipts and tokens depend on it)", ahead.Round(time.Second)),
			"turn on time sync: timedatectl set-ntp true; then check `timedatectl status`"}
	}
	return ok(name, "not behind the database's newest write ("+opts.Now().UTC().Format(time.RFC3339)+")")
}

func checkWitness(app core.App) Check {
	const name = "restore witness"
	if _, err := os.Stat(filepath.Join(app.DataDir(), recovery.WitnessFile)); err != nil {
		return Check{name, Warn, recovery.WitnessFile + " is missing: the next start treats the data dir as restored (phones re-sync once)",
			"nothing to do if you just restored or moved the data dir; never copy this file between data dirs"}
	}
	return ok(name, recovery.WitnessFile+" present")
}
