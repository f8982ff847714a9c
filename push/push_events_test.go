package push_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"civicdesk/push"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

func TestStatusChangeQueuesOneRowPerDevice(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	req := w.NewRequest(t, w.CitizenA)
	devIT, urlIT := f.newDevice()
	devEN, urlEN := f.newDevice()
	devB, urlB := f.newDevice()
	subIT := subscribe(t, w.App, w.CitizenA, urlIT, devIT.keys(), "it")
	subEN := subscribe(t, w.App, w.CitizenA, urlEN, devEN.keys(), "en-GB")
	subscribe(t, w.App, w.CitizenB, urlB, devB.keys(), "")

	w.MoveTo(t, req, workflow.StatusInProgress)

	rows := outbox(t, w.App)
	if len(rows) != 2 {
		t.Fatalf("%d outbox rows, want one per device of the request's citizen", len(rows))
	}
	want := map[string]string{subIT.Id: "Segnalazione ", subEN.Id: "Request "}
	for _, r := range rows {
		if r.State != push.StatePending || r.Kind != push.KindStatus || r.Request != req.Id {
			t.Errorf("row %+v", r)
		}
		p := payloadOf(t, r)
		prefix, ok := want[r.Subscription]
		if !ok {
			t.Errorf("row for an unexpected subscription %s", r.Subscription)
			continue
		}
		if len(p.Title) < len(prefix) || p.Title[:len(prefix)] != prefix {
			t.Errorf("title %q not in the device's language (want prefix %q)", p.Title, prefix)
		}
		if p.Status != workflow.StatusInProgress {
			t.Errorf("status %q", p.Status)
		}
	}
}

func TestEventsQueueOnlyWithTheirTransaction(t *testing.T) {
	cases := []struct {
		name     string
		act      func(t *testing.T, w *testkit.World, req *core.Record)
		wantRows int
		wantKind string
	}{
		{
			name: "rolled back status change queues nothing",
			act: func(t *testing.T, w *testkit.World, req *core.Record) {
				err := w.App.RunInTransaction(func(tx core.App) error {
					rec, err := tx.FindRecordById("requests", req.Id)
					if err != nil {
						return err
					}
					rec.Set("status", workflow.StatusInProgress)
					workflow.AttachActor(rec, workflow.System)
					if err := tx.Save(rec); err != nil {
						return err
					}
					return errors.New("roll back")
				})
				if err == nil {
					t.Fatal("transaction did not fail")
				}
			},
			wantRows: 0,
		},
		{
			name: "internal status event queues nothing",
			act: func(t *testing.T, w *testkit.World, req *core.Record) {
				col, _ := w.App.FindCollectionByNameOrId("request_events")
				entry := core.NewRecord(col)
				entry.Set("public", false)
				err := w.App.RunInTransaction(func(tx core.App) error {
					return workflow.Of(w.App).OnStatusChanged.Trigger(&workflow.Event{App: tx, Request: req, Entry: entry, From: "received", To: "in_progress"})
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			wantRows: 0,
		},
		{
			name: "public note from staff",
			act: func(t *testing.T, w *testkit.World, req *core.Record) {
				rec, _ := w.App.FindRecordById("requests", req.Id)
				rec.Set("status_note", "We will fix it on Monday.")
				workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorStaff, ID: w.ClerkRoads.Id, Role: workflow.RoleClerk, Departments: w.ClerkRoads.GetStringSlice("departments")})
				if err := w.App.Save(rec); err != nil {
					t.Fatal(err)
				}
			},
			wantRows: 1,
			wantKind: push.KindNote,
		},
		{
			name: "new receipt",
			act: func(t *testing.T, w *testkit.World, req *core.Record) {
				col, _ := w.App.FindCollectionByNameOrId("receipts")
				rec := core.NewRecord(col)
				rec.Load(map[string]any{"request": req.Id, "code": "CR1:TEST", "kind": "received", "issued_at": types.NowDateTime()})
				if err := w.App.Save(rec); err != nil {
					t.Fatal(err)
				}
			},
			wantRows: 1,
			wantKind: push.KindReceipt,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePush(t)
			w := newWorld(t, f)
			req := w.NewRequest(t, w.CitizenA)
			dev, endpoint := f.newDevice()
			subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
			before := len(outbox(t, w.App))
			tc.act(t, w, req)
			rows := outbox(t, w.App)[before:]
			if len(rows) != tc.wantRows {
				t.Fatalf("%d rows, want %d", len(rows), tc.wantRows)
			}
			for _, r := range rows {
				if r.Kind != tc.wantKind {
					t.Errorf("kind %q, want %q", r.Kind, tc.wantKind)
				}
				p := payloadOf(t, r)
				if p.Body == "" || p.Request != req.GetString("number") {
					t.Errorf("payload %+v", p)
				}
				if tc.wantKind == push.KindNote && p.Body == "We will fix it on Monday." {
					t.Error("the note's text went into the payload")
				}
			}
		})
	}
}

func TestNewerMessageSupersedesPending(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	req := w.NewRequest(t, w.CitizenA)
	dev, endpoint := f.newDevice()
	subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
	w.MoveTo(t, req, workflow.StatusInProgress)
	w.MoveTo(t, req, workflow.StatusResolved)

	// (resolving may also issue a receipt in the same transaction: its message supersedes the status one)
	pending := 0
	for _, r := range outbox(t, w.App) {
		switch r.State {
		case push.StatePending:
			pending++
			if st := payloadOf(t, r).Status; st != workflow.StatusResolved {
				t.Errorf("pending message about %q, want the latest status", st)
			}
		case push.StateSuperseded:
		default:
			t.Errorf("row in state %q", r.State)
		}
	}
	if pending != 1 {
		t.Fatalf("%d pending rows, want only the latest", pending)
	}
	startDispatcher(t, w.App, push.Options{Workers: 1})
	waitFor(t, 10*time.Second, "the delivery", func() bool { return countState(t, w.App, push.StateSent) == 1 })
	if got := f.deliveries(); len(got) != 1 || got[0].Payload.Status != workflow.StatusResolved {
		t.Errorf("deliveries %+v, want only the latest status", got)
	}
}

func TestRequestsWithoutCitizenQueueNothing(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	dev, endpoint := f.newDevice()
	subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
	req := w.NewRequest(t, nil) // Open311-style: no citizen
	w.MoveTo(t, req, workflow.StatusInProgress)
	if rows := outbox(t, w.App); len(rows) != 0 {
		t.Errorf("%d rows for a request without a citizen", len(rows))
	}
}

// End to end through the records API: a clerk's PATCH queues the push in its
// write, and the dispatcher delivers it.
func TestClerkStatusChangeThroughRecordsAPI(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	req := w.NewRequest(t, w.CitizenA)
	dev, endpoint := f.newDevice()
	subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "sv")
	// the dispatcher is the registered one, started by serve (w.Do triggers it)

	cases := []struct {
		name   string
		token  string
		body   string
		status int
		pushes int
	}{
		{"clerk of another department cannot", testkit.Token(t, w.ClerkRegistry), `{"status":"in_progress"}`, http.StatusNotFound, 0},
		{"clerk moves it on", testkit.Token(t, w.ClerkRoads), `{"status":"in_progress","status_note":"Crew booked for Tuesday."}`, http.StatusOK, 1},
		{"clerk adds a public note", testkit.Token(t, w.ClerkRoads), `{"status_note":"Delayed by rain."}`, http.StatusOK, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+req.Id, tc.token, tc.body)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			waitFor(t, 10*time.Second, "the pushes", func() bool { return len(f.deliveries()) == tc.pushes })
		})
	}
	got := f.deliveries()
	if got[0].Payload.Status != workflow.StatusInProgress || got[0].Payload.Body != "Ny status: pågår." {
		t.Errorf("status push %+v", got[0].Payload)
	}
	if got[1].Payload.Body != "Handläggaren har lagt till ett meddelande." {
		t.Errorf("note push %+v", got[1].Payload)
	}
}
