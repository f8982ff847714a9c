package recovery_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	_ "modernc.org/sqlite"
)

// litestreamBinary finds Litestream: $CIVICDESK_LITESTREAM, bin/litestream
// (scripts/install-test-deps.sh builds it there), or the PATH.
func litestreamBinary(t *testing.T) string {
	if p := os.Getenv("CIVICDESK_LITESTREAM"); p != "" {
		return p
	}
	if p := filepath.Join(testkit.RepoRoot(), "bin", "litestream"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("litestream"); err == nil {
		return p
	}
	t.Skip("litestream is not installed: run scripts/install-test-deps.sh")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestLitestreamDrill: Litestream (the real binary, v0.5) replicates a running
// civicdesk to a file replica; the primary dies (SIGKILL); data.db is
// restored from the replica into a fresh data dir (photos and keys copied
// from the file backup of storage/); the phones converge with nothing lost.
// Backups taken meanwhile carry none of Litestream's state.
func TestLitestreamDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binaries")
	}
	ls := litestreamBinary(t)
	d := newDrill(t)
	for _, p := range d.phones {
		p.file(1)
	}
	d.syncAll()

	replica := filepath.Join(t.TempDir(), "replica")
	cfg := filepath.Join(t.TempDir(), "litestream.yml")
	conf := fmt.Sprintf("dbs:\n  - path: %s\n    replica:\n      type: file\n      path: %s\n", filepath.Join(d.s.DataDir, "data.db"), replica)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := exec.Command(ls, "replicate", "-config", cfg)
	var repLog strings.Builder
	rep.Stdout, rep.Stderr = &repLog, &repLog
	if err := rep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rep.Process.Kill(); _ = rep.Wait() })

	// more requests while Litestream runs, and a backup: it must not carry Litestream's state
	for _, p := range d.phones {
		p.file(1)
		p.file(0)
	}
	d.syncAll()
	acked := d.ackedAll()
	waitFor(t, func() bool { return fileExists(filepath.Join(d.s.DataDir, ".data.db-litestream")) }, "Litestream's state dir")
	call(t, "POST", d.s.URL+"/api/backups", d.su, map[string]any{"name": "during_litestream.zip"}, nil)
	assertZipLeavesOut(t, filepath.Join(d.s.DataDir, "backups", "during_litestream.zip"))

	// the replica catches up: a restore of it holds every acknowledged request
	probe := filepath.Join(t.TempDir(), "probe")
	waitFor(t, func() bool {
		out := filepath.Join(probe, fmt.Sprint(time.Now().UnixNano()), "data.db")
		_ = os.MkdirAll(filepath.Dir(out), 0o700)
		if err := exec.Command(ls, "restore", "-config", cfg, "-o", out, filepath.Join(d.s.DataDir, "data.db")).Run(); err != nil {
			return false
		}
		return countRequests(t, out, acked) == len(acked)
	}, "the replica to hold every acknowledged request")

	// the primary dies; a fresh data dir gets data.db from the replica, storage and keys from the file backup
	d.s.Kill()
	_ = rep.Process.Kill()
	_ = rep.Wait()
	fresh := t.TempDir()
	if out, err := exec.Command(ls, "restore", "-config", cfg, "-o", filepath.Join(fresh, "data.db"), filepath.Join(d.s.DataDir, "data.db")).CombinedOutput(); err != nil {
		t.Fatalf("litestream restore: %v\n%s", err, out)
	}
	for _, f := range []string{"storage", "receipt_keys.json", "vapid_keys.json"} {
		if out, err := exec.Command("cp", "-a", filepath.Join(d.s.DataDir, f), fresh).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v %s", f, err, out)
		}
	}
	s2 := testkit.StartServerIn(t, fresh)
	d.s = s2
	d.su = superuserToken(t, s2)
	for _, p := range d.phones {
		p.base = s2.URL
	}
	d.syncAll()
	d.syncAll()
	d.checkAcked(acked, "Litestream restore")
	if !strings.Contains(s2.Logs(), "restore detected") {
		t.Fatalf("the server did not notice it runs on a restored database:\n%s", s2.Logs())
	}
}

func countRequests(t *testing.T, dbPath string, want map[string]string) int {
	db, err := dbx.Open("sqlite", dbPath)
	if err != nil {
		return 0
	}
	defer db.Close()
	n := 0
	for id := range want {
		var c int
		if err := db.NewQuery("SELECT COUNT(*) FROM requests WHERE id = {:id}").Bind(dbx.Params{"id": id}).Row(&c); err == nil && c == 1 {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
