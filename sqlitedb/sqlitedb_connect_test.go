package sqlitedb_test

import (
	"path/filepath"
	"testing"

	"civicdesk/sqlitedb"
)

func TestConnectIsDurable(t *testing.T) {
	t.Parallel()
	db, err := sqlitedb.Connect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checks := map[string]string{"synchronous": "2", "journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"}
	for pragma, want := range checks {
		var got string
		if err := db.NewQuery("PRAGMA " + pragma).Row(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}
