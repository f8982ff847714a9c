package push_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"civicdesk/push"
)

func TestLoadOrCreateKeys(t *testing.T) {
	dir := t.TempDir()
	k1, err := push.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := base64.RawURLEncoding.DecodeString(k1.PublicKey)
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		t.Fatalf("public key %q is not an uncompressed P-256 point", k1.PublicKey)
	}
	path := filepath.Join(dir, push.KeyFileName)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}

	// kept across restarts
	k2, err := push.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k2 != k1 {
		t.Error("a second start made a new key pair")
	}

	// a file opened up by an operator is tightened again
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := push.LoadOrCreateKeys(dir); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %o not tightened to 600", info.Mode().Perm())
	}

	// a damaged file is an error, never silently replaced (subscriptions are bound to the key)
	if err := os.WriteFile(path, []byte(`{"publicKey":"x","privateKey":"y"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := push.LoadOrCreateKeys(dir); err == nil {
		t.Error("a damaged key file was accepted")
	}
}

func TestKeysSurviveAppRestart(t *testing.T) {
	w := newWorld(t, nil)
	first, err := push.PublicKey(w.App)
	if err != nil {
		t.Fatal(err)
	}
	again, err := push.LoadOrCreateKeys(w.App.DataDir())
	if err != nil {
		t.Fatal(err)
	}
	if again.PublicKey != first {
		t.Error("the data dir's key differs from the served one")
	}
}
