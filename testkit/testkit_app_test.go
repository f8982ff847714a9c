package testkit_test

import (
	"testing"

	"civicdesk/sqlitedb"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
)

// TestNewAppUsesTheBinarysDriver: every test through testkit runs the driver
// (and its statement cache) that main.go runs.
func TestNewAppUsesTheBinarysDriver(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	for name, b := range map[string]dbx.Builder{
		"concurrent": w.App.ConcurrentDB(), "nonconcurrent": w.App.NonconcurrentDB(),
		"aux concurrent": w.App.AuxConcurrentDB(), "aux nonconcurrent": w.App.AuxNonconcurrentDB(),
	} {
		db, ok := b.(*dbx.DB)
		if !ok {
			t.Errorf("%s db is a %T", name, b)
		} else if db.DriverName() != sqlitedb.DriverName {
			t.Errorf("%s db: driver %q, want %q", name, db.DriverName(), sqlitedb.DriverName)
		}
	}
}
