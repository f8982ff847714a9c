package migrations_test

import (
	"testing"

	"civicdesk/testkit"
)

// TestDefaultUsersCollectionRemoved: the dashboard shows the city's collections only.
func TestDefaultUsersCollectionRemoved(t *testing.T) {
	w := testkit.NewApp(t)
	if c, err := w.App.FindCollectionByNameOrId("users"); err == nil {
		t.Fatalf("the default users collection is still there (%s)", c.Id)
	}
	for _, name := range []string{"citizens", "staff", "requests"} {
		if _, err := w.App.FindCollectionByNameOrId(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
