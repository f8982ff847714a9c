package jobs_test

import (
	"testing"
	"time"

	"civicdesk/city"
	"civicdesk/jobs"

	"github.com/pocketbase/dbx"
)

// TestSyncCleanup: with a fixed clock, unbound uploads older than 30 days and
// push results older than the tombstone window go; newer and attached ones stay.
func TestSyncCleanup(t *testing.T) {
	w := newWorld(t, func(c *city.Config) { c.TombstoneDays = 60 })
	now := time.Date(2027, 3, 1, 4, 40, 0, 0, time.UTC)
	ts := func(daysAgo int) string { return now.AddDate(0, 0, -daysAgo).Format("2006-01-02 15:04:05.000Z") }
	exec := func(q string, p dbx.Params) {
		t.Helper()
		if _, err := w.App.DB().NewQuery(q).Bind(p).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct {
		id, status string
		age        int
	}{{"old_unbound", "processed", 31}, {"young_unbound", "processed", 29}, {"old_attached", "attached", 400}} {
		exec("INSERT INTO sync_uploads (attachment_id, citizen, size, sha256, status, created, updated) VALUES ({:id}, {:c}, 1, 'x', {:s}, {:t}, {:t})",
			dbx.Params{"id": u.id, "c": w.CitizenA.Id, "s": u.status, "t": ts(u.age)})
	}
	for i, age := range []int{61, 59} {
		exec("INSERT INTO sync_results (client_id, mutation_id, name, status, created) VALUES ('phone', {:m}, 'request.create', 'applied', {:t})",
			dbx.Params{"m": i + 1, "t": ts(age)})
	}

	rep, err := jobs.SyncCleanup(w.App, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep["uploads_removed"] != 1 || rep["results_removed"] != 1 {
		t.Fatalf("report %v, want one upload and one result removed", rep)
	}
	var uploads []string
	_ = w.App.DB().NewQuery("SELECT attachment_id FROM sync_uploads ORDER BY attachment_id").Column(&uploads)
	if len(uploads) != 2 || uploads[0] != "old_attached" || uploads[1] != "young_unbound" {
		t.Fatalf("uploads left: %v", uploads)
	}
	var results []int
	_ = w.App.DB().NewQuery("SELECT mutation_id FROM sync_results").Column(&results)
	if len(results) != 1 || results[0] != 2 {
		t.Fatalf("results left: %v", results)
	}
}
