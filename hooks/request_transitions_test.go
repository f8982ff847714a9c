package hooks_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// expectedStaff is the transition table as the contract and docs/workflow.md
// state it, written out independently of the code under test.
var expectedStaff = map[string][]string{
	"received":        {"in_progress", "waiting_citizen", "resolved", "rejected"},
	"in_progress":     {"waiting_citizen", "resolved", "rejected"},
	"waiting_citizen": {"in_progress", "resolved", "rejected"},
	"resolved":        {"in_progress"},
}

var statuses = []string{"received", "in_progress", "waiting_citizen", "resolved", "rejected", "cancelled"}

// TestStatusTransitionsByActor tries every (from, to) pair for every actor
// through the records API: allowed moves write the status, resolved_at, one
// public status event and change rows; refused ones write nothing at all.
func TestStatusTransitionsByActor(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)

	type actor struct {
		name    string
		rec     *core.Record
		allowed func(from, to string) bool
		hidden  bool // the request is not visible to this actor: 404
	}
	staffAllowed := func(from, to string) bool { return slices.Contains(expectedStaff[from], to) }
	actors := []actor{
		{name: "citizen_owner", rec: w.CitizenA, allowed: func(from, to string) bool { return from == "received" && to == "cancelled" }},
		{name: "citizen_other", rec: w.CitizenB, hidden: true},
		{name: "clerk_of_department", rec: w.ClerkRoads, allowed: staffAllowed},
		{name: "clerk_other_department", rec: w.ClerkRegistry, hidden: true},
		{name: "supervisor", rec: w.Supervisor, allowed: staffAllowed},
		{name: "superuser", rec: w.Superuser, allowed: func(from, to string) bool {
			return staffAllowed(from, to) || (from == "received" && to == "cancelled")
		}},
	}

	for _, a := range actors {
		token := testkit.Token(t, a.rec)
		for _, from := range statuses {
			for _, to := range statuses {
				if from == to {
					continue
				}
				t.Run(fmt.Sprintf("%s_%s_to_%s", a.name, from, to), func(t *testing.T) {
					req := w.MoveTo(t, w.NewRequest(t, w.CitizenA), from)
					eventsBefore := countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id}", req.Id)
					changesBefore := countRows(t, w, "SELECT COUNT(*) FROM changes WHERE record_id = {:id}", req.Id)

					res := w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+req.Id, token,
						fmt.Sprintf(`{"status":%q,"status_note":"note %s"}`, to, to))

					fresh, err := w.App.FindRecordById("requests", req.Id)
					if err != nil {
						t.Fatal(err)
					}
					events := countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id}", req.Id)
					changes := countRows(t, w, "SELECT COUNT(*) FROM changes WHERE record_id = {:id}", req.Id)

					switch {
					case a.hidden:
						if res.Status != http.StatusNotFound {
							t.Fatalf("status %d, want 404: %s", res.Status, res.Body)
						}
					case !a.allowed(from, to):
						if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, `"status":{"code":"validation_invalid_transition"`) {
							t.Fatalf("status %d, want 400 naming status: %s", res.Status, res.Body)
						}
					default:
						if res.Status != http.StatusOK {
							t.Fatalf("status %d, want 200: %s", res.Status, res.Body)
						}
						if fresh.GetString("status") != to {
							t.Fatalf("status = %s, want %s", fresh.GetString("status"), to)
						}
						ev, err := w.App.FindFirstRecordByFilter("request_events", "request = {:id} && type = 'status' && to_status = {:to}", dbx.Params{"id": req.Id, "to": to})
						if err != nil {
							t.Fatalf("no status event: %v", err)
						}
						if ev.GetString("from_status") != from || ev.GetString("message") != "note "+to || !ev.GetBool("public") || ev.GetString("author") != a.rec.Id {
							t.Fatalf("status event = %v", ev.PublicExport())
						}
						if (to == "resolved") != (fresh.GetString("resolved_at") != "") {
							t.Fatalf("resolved_at = %q with status %s", fresh.GetString("resolved_at"), to)
						}
						if events <= eventsBefore || changes <= changesBefore {
							t.Fatalf("events %d->%d, changes %d->%d: want both to grow", eventsBefore, events, changesBefore, changes)
						}
						return
					}
					if fresh.GetString("status") != from || events != eventsBefore || changes != changesBefore {
						t.Fatalf("refused change wrote something: status %s, events %d->%d, changes %d->%d",
							fresh.GetString("status"), eventsBefore, events, changesBefore, changes)
					}
				})
			}
		}
	}
}

func countRows(tb testing.TB, w *testkit.World, query, id string) int {
	tb.Helper()
	var n int
	if err := w.App.DB().NewQuery(query).Bind(dbx.Params{"id": id}).Row(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestSaveSameRecordTwice: the record a create returns can be changed and saved
// again in the same transaction (sync does), without phantom "changed" fields.
func TestSaveSameRecordTwice(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	err := w.App.RunInTransaction(func(tx core.App) error {
		col, _ := tx.FindCollectionByNameOrId("requests")
		rec := core.NewRecord(col)
		rec.Load(map[string]any{
			"citizen": w.CitizenA.Id, "service": w.Services["waste_pickup"],
			"answers":  map[string]any{"items": []any{"mattress", "furniture"}, "preferred_date": "2026-12-01", "notes": "Cortile interno"},
			"location": map[string]any{"lat": 44.41, "lon": 8.93},
		})
		actor := workflow.Actor{Kind: workflow.ActorCitizen, ID: w.CitizenA.Id}
		workflow.AttachActor(rec, actor)
		if err := tx.Save(rec); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		rec.Set("status", "cancelled")
		workflow.AttachActor(rec, actor)
		if err := tx.Save(rec); err != nil {
			return fmt.Errorf("second save: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
