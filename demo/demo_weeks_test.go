package demo_test

import (
	"testing"

	"civicdesk/demo"
	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/tests"
)

// TestDemoWeeks: the history has every status, department and language, some
// overdue, photos and internal notes, templates in five languages; a second
// run (the `civicdesk demo` command is run on every `make run`) adds nothing.
func TestDemoWeeks(t *testing.T) {
	t.Parallel()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	testkit.RegisterAll(app)
	app.Store().Remove("civicdesk.demo.skipWeeks") // the test kit leaves the history out; this test wants it

	if _, err := demo.Seed(app); err != nil {
		t.Fatal(err)
	}
	tables := []string{"requests", "request_events", "receipts", "response_templates", "citizens", "staff", "changes"}
	counts := map[string]int{}
	for _, tbl := range tables {
		var n int
		if err := app.DB().NewQuery("SELECT COUNT(*) FROM " + tbl).Row(&n); err != nil {
			t.Fatal(err)
		}
		counts[tbl] = n
	}
	if _, err := demo.Seed(app); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		var n int
		_ = app.DB().NewQuery("SELECT COUNT(*) FROM " + tbl).Row(&n)
		if n != counts[tbl] && tbl != "changes" {
			t.Errorf("%s: %d after the first run, %d after the second", tbl, counts[tbl], n)
		}
	}
	if counts["requests"] < 150 {
		t.Fatalf("%d demo requests", counts["requests"])
	}
	check := func(what, sql string, min int) {
		t.Helper()
		var n int
		if err := app.DB().NewQuery(sql).Row(&n); err != nil {
			t.Fatal(err)
		}
		if n < min {
			t.Errorf("%s: %d, want at least %d", what, n, min)
		}
	}
	check("statuses", "SELECT COUNT(DISTINCT status) FROM requests", 5)
	check("departments", "SELECT COUNT(DISTINCT department) FROM requests", 5)
	check("citizen languages", "SELECT COUNT(DISTINCT c.lang) FROM requests r JOIN citizens c ON c.id = r.citizen", 5)
	check("overdue", "SELECT COUNT(*) FROM requests WHERE overdue = TRUE AND status IN ('received','in_progress','waiting_citizen') AND due_at < strftime('%Y-%m-%d %H:%M:%fZ','now')", 3)
	check("photos", "SELECT COUNT(*) FROM requests WHERE photos != '' AND photos != '[]'", 5)
	check("internal notes", "SELECT COUNT(*) FROM request_events WHERE public = FALSE AND type = 'comment'", 5)
	check("public notes", "SELECT COUNT(*) FROM request_events WHERE public = TRUE AND message != '' AND author_type = 'staff'", 20)
	check("history weeks", "SELECT COUNT(DISTINCT strftime('%W', created)) FROM requests", 4)
	check("resolved", "SELECT COUNT(*) FROM requests WHERE status = 'resolved' AND resolved_at != '' AND resolved_at > created", 30)
	check("template languages", "SELECT COUNT(DISTINCT lang) FROM response_templates", 5)
	check("staff languages", "SELECT COUNT(DISTINCT lang) FROM staff WHERE lang != ''", 5)
	check("assigned", "SELECT COUNT(*) FROM requests WHERE assignee != ''", 50)
}
