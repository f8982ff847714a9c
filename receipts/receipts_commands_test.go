package receipts_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civicdesk/receipts"
	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
)

func runCommand(t *testing.T, app core.App, args ...string) (string, error) {
	t.Helper()
	cmd := receipts.Command(app)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestCommands(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	rec := receiptsOf(t, w.App, req.Id)[0]
	set, _ := receipts.Of(w.App).Keys()
	firstKid := set.Active().KidString()

	out, err := runCommand(t, w.App, "rotate-key")
	if err != nil || !strings.Contains(out, "New active key") {
		t.Fatalf("rotate-key: %q, %v", out, err)
	}
	set, _ = receipts.Of(w.App).Keys()
	if set.Active().KidString() == firstKid || set.Lookup(set.Keys()[0].Kid).Status != receipts.KeyRetired {
		t.Fatal("rotate-key did not rotate")
	}
	if a, _ := receipts.Of(w.App).Verify(rec.GetString("code")); !a.Valid {
		t.Fatalf("old receipt after rotate-key: %+v", a)
	}

	if _, err := runCommand(t, w.App, "revoke", rec.Id); err == nil {
		t.Fatal("revoke without --reason succeeded")
	}
	out, err = runCommand(t, w.App, "revoke", rec.GetString("cti"), "--reason", "duplicate")
	if err != nil || !strings.Contains(out, rec.Id) {
		t.Fatalf("revoke by cti: %q, %v", out, err)
	}
	if a, _ := receipts.Of(w.App).Verify(rec.GetString("code")); a.Valid || a.Reason != receipts.ReasonRevoked {
		t.Fatalf("after revoke: %+v", a)
	}
	if _, err := runCommand(t, w.App, "revoke", "nosuchreceipt", "--reason", "x"); err == nil {
		t.Fatal("revoked an unknown receipt")
	}

	out, err = runCommand(t, w.App, "revoke-key", "--", firstKid) // a kid may start with '-'
	if err != nil || !strings.Contains(out, "Revoked key "+firstKid) {
		t.Fatalf("revoke-key: %q, %v", out, err)
	}
	if _, err := runCommand(t, w.App, "revoke-key", "not-a-kid"); err == nil {
		t.Fatal("revoke-key accepted a bad kid")
	}
	// after --, a kid that starts with '-' reaches the command, not the flag parser
	if _, err := runCommand(t, w.App, "revoke-key", "--", "-mGhMw6cXQs"); err == nil || strings.Contains(err.Error(), "flag") {
		t.Fatalf("revoke-key -- -mGhMw6cXQs: %v, want an unknown-kid error", err)
	}
}

// TestKeysInBackup checks that PocketBase's backup (a zip of the data dir)
// carries the key file, so a restored server keeps verifying its receipts.
func TestKeysInBackup(t *testing.T) {
	w := testkit.NewApp(t)
	ks, err := receipts.Of(w.App).KeyStore()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(ks.Path())
	if err := w.App.CreateBackup(context.Background(), "keys.zip"); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(w.App.DataDir(), core.LocalBackupsDirName, "keys.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != receipts.KeyFileName {
			continue
		}
		rc, _ := f.Open()
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, want) {
			t.Fatal("backup holds a different key file")
		}
		return
	}
	t.Fatalf("%s missing from the backup", receipts.KeyFileName)
}
