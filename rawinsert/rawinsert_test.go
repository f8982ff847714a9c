package rawinsert_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"civicdesk/rawinsert"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/types"
)

// storedRow reads a row as SQLite holds it, every column as text.
func storedRow(t *testing.T, app core.App, table, id string) dbx.NullStringMap {
	t.Helper()
	row := dbx.NullStringMap{}
	if err := app.DB().NewQuery("SELECT * FROM {{" + table + "}} WHERE [[id]] = {:id}").Bind(dbx.Params{"id": id}).One(row); err != nil {
		t.Fatalf("read %s %s: %v", table, id, err)
	}
	return row
}

var storedDate = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$`)

// TestRawRowEqualsSavedRow writes the same server-generated values once with
// app.Save and once with Insert, for every collection the workflow writes
// raw, and compares the stored rows column by column: only the id and the
// autodate stamps may differ, and those in format only.
func TestRawRowEqualsSavedRow(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	subs, _ := w.App.FindCollectionByNameOrId("push_subscriptions")
	sub := core.NewRecord(subs)
	sub.Id = "subscription001" // written without hooks (no allow-listed push service here)
	sub.Load(map[string]any{"citizen": w.CitizenA.Id, "endpoint": "https://push.example/x", "keys": map[string]string{"p256dh": "k", "auth": "a"}, "lang": "it"})
	if err := w.App.UnsafeWithoutHooks().Save(sub); err != nil {
		t.Fatal(err)
	}

	scenarios := []struct {
		collection string
		values     map[string]any
		unique     string // a field under a UNIQUE index: the raw row gets its own value, "2" appended
	}{
		{"request_events", map[string]any{"request": req.Id, "type": "status", "from_status": "received", "to_status": "in_progress",
			"message": "Già in lavorazione — «ok»", "public": true, "author": w.CitizenA.Id, "author_type": "citizen"}, ""},
		{"request_events", map[string]any{"request": req.Id, "type": "assignment", "message": "", "public": false, "author": "", "author_type": "system"}, ""},
		{"receipts", map[string]any{"request": req.Id, "code": "CR1:ABC", "kind": "resolved", "issued_at": types.NowDateTime(), "kid": "k1", "cti": "00ff"}, "cti"},
		{"push_outbox", map[string]any{"subscription": sub.Id, "request": req.Id, "kind": "status", "payload": `{"title":"x"}`, "topic": "t1",
			"urgency": "normal", "ttl": 259200, "state": "pending", "next_at": "2026-12-01 10:00:00.000Z", "expires_at": "2026-12-04 10:00:00.000Z"}, ""},
	}
	for _, s := range scenarios {
		t.Run(s.collection, func(t *testing.T) {
			col, err := w.App.FindCollectionByNameOrId(s.collection)
			if err != nil {
				t.Fatal(err)
			}
			saved := core.NewRecord(col)
			saved.Load(s.values)
			workflow.AttachActor(saved, workflow.System)
			if err := w.App.Save(saved); err != nil {
				t.Fatalf("save: %v", err)
			}
			rawValues := map[string]any{}
			for k, v := range s.values {
				rawValues[k] = v
			}
			if s.unique != "" {
				rawValues[s.unique] = s.values[s.unique].(string) + "2"
			}
			var raw *core.Record
			if err := w.App.RunInTransaction(func(tx core.App) error {
				raw, err = rawinsert.Insert(tx, s.collection, rawValues)
				return err
			}); err != nil {
				t.Fatalf("raw insert: %v", err)
			}
			a, b := storedRow(t, w.App, s.collection, saved.Id), storedRow(t, w.App, s.collection, raw.Id)
			if len(a) != len(b) {
				t.Fatalf("saved row has %d columns, raw row %d", len(a), len(b))
			}
			for _, f := range col.Fields {
				name := f.GetName()
				sa, sb := a[name], b[name]
				switch {
				case name == "id":
					if len(sb.String) != 15 || strings.Trim(sb.String, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
						t.Errorf("raw id %q is not a PocketBase id", sb.String)
					}
				case f.Type() == core.FieldTypeAutodate:
					if !storedDate.MatchString(sa.String) || !storedDate.MatchString(sb.String) {
						t.Errorf("%s: saved %q, raw %q: not PocketBase dates", name, sa.String, sb.String)
					}
				case name == s.unique:
					if sb.String != sa.String+"2" {
						t.Errorf("%s: saved %q, raw %q", name, sa.String, sb.String)
					}
				case sa != sb:
					t.Errorf("%s: saved %#v, raw %#v", name, sa, sb)
				}
			}
			// and PocketBase reads the raw row back as the record Insert returned
			back, err := w.App.FindRecordById(s.collection, raw.Id)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range col.Fields {
				if got, want := back.GetString(f.GetName()), raw.GetString(f.GetName()); got != want {
					t.Errorf("%s: read back %q, Insert returned %q", f.GetName(), got, want)
				}
			}
		})
	}
}

// TestInsertValidatesFields: a value the collection would refuse on Save is
// refused here too, naming the field, and nothing is written.
func TestInsertValidatesFields(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	scenarios := []struct {
		name, field string
		values      map[string]any
	}{
		{"unknown select value", "type", map[string]any{"request": req.Id, "type": "bogus", "author_type": "system"}},
		{"message too long", "message", map[string]any{"request": req.Id, "type": "status", "message": strings.Repeat("x", 20000), "author_type": "system"}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			var before int
			_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM request_events").Row(&before)
			err := w.App.RunInTransaction(func(tx core.App) error {
				_, err := rawinsert.Insert(tx, "request_events", s.values)
				return err
			})
			var verrs validation.Errors
			if !errors.As(err, &verrs) || verrs[s.field] == nil {
				t.Fatalf("error %v, want a validation error on %s", err, s.field)
			}
			var after int
			_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM request_events").Row(&after)
			if after != before {
				t.Errorf("%d rows written", after-before)
			}
		})
	}
}

// TestInsertFiresAfterCommitOnly: after-commit listeners (realtime, the sync
// poke) hear of a raw row once it committed, with an app that can still
// read, and never of a rolled-back one.
func TestInsertFiresAfterCommitOnly(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	var heard []string
	var readErr error
	w.App.OnRecordAfterCreateSuccess("request_events").Bind(&hook.Handler[*core.RecordEvent]{
		Func: func(e *core.RecordEvent) error {
			heard = append(heard, e.Record.GetString("message"))
			_, readErr = e.App.FindRecordById("request_events", e.Record.Id) // the root app, not the finished transaction
			return e.Next()
		},
	})
	insert := func(msg string, fail bool) {
		_ = w.App.RunInTransaction(func(tx core.App) error {
			if _, err := rawinsert.Insert(tx, "request_events", map[string]any{"request": req.Id, "type": "status", "message": msg, "author_type": "system"}); err != nil {
				t.Fatal(err)
			}
			if len(heard) != 0 {
				t.Error("heard of the row before the commit")
			}
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
	}
	insert("rolled back", true)
	insert("committed", false)
	if len(heard) != 1 || heard[0] != "committed" {
		t.Fatalf("heard %q, want only the committed row", heard)
	}
	if readErr != nil {
		t.Errorf("the listener could not read the committed row: %v", readErr)
	}
	var n int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM request_events WHERE message = 'rolled back'").Row(&n)
	if n != 0 {
		t.Error("the rolled-back row is stored")
	}
	// the change sequence (SQLite triggers) covers raw rows like saved ones
	var seqs int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM changes c JOIN request_events e ON e.id = c.record_id WHERE e.message = 'committed'").Row(&seqs)
	if seqs != 1 {
		t.Errorf("%d change rows for the raw event, want 1", seqs)
	}
}

// TestInsertRunsOnTheTransaction: inside a transaction a raw row goes to the
// *sql.Tx with its constant SQL (the statement cache's path), and the row is
// the one a Save writes (TestRawRowEqualsSavedRow checks the fields).
func TestInsertRunsOnTheTransaction(t *testing.T) {
	w := testkit.NewApp(t)
	parent := w.NewRequest(t, w.CitizenA)
	if rawinsert.RunsOnTx(w.App) {
		t.Fatal("outside a transaction there is no *sql.Tx to run on")
	}
	var id string
	if err := w.App.RunInTransaction(func(tx core.App) error {
		if !rawinsert.RunsOnTx(tx) {
			t.Fatal("a transaction's builder does not expose its executor: Insert fell back to dbx")
		}
		rec, err := rawinsert.Insert(tx, "request_events", map[string]any{"request": parent.Id, "type": "comment", "public": true, "message": "on the tx"})
		if err != nil {
			return err
		}
		id = rec.Id
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := w.App.FindRecordById("request_events", id)
	if err != nil || got.GetString("message") != "on the tx" || got.GetString("request") != parent.Id {
		t.Fatalf("row after commit: %v %v", got, err)
	}
}
