package changelog_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"civicdesk/changelog"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// rowsFor returns the change rows of one record, in seq order.
func rowsFor(t *testing.T, app core.App, id string) []changelog.Change {
	t.Helper()
	var out []changelog.Change
	err := app.DB().NewQuery("SELECT seq, collection, record_id, op, citizen, at FROM changes WHERE record_id = {:id} ORDER BY seq").
		Bind(dbx.Params{"id": id}).All(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func maxSeq(t *testing.T, app core.App) int64 {
	t.Helper()
	n, err := changelog.MaxSeq(app.DB())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChangeRowsOnEveryPath: the records API as citizen, clerk and superuser, a
// hook-written event, a receipt, a raw SQL update and a delete all leave change
// rows naming the citizen, in the same write.
func TestChangeRowsOnEveryPath(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk := testkit.Token(t, w.ClerkRoads)
	su := testkit.Token(t, w.Superuser)
	citizen := testkit.Token(t, w.CitizenA)

	// citizen creates through the records API
	res := w.Do(t, http.MethodPost, "/api/collections/requests/records", citizen,
		fmt.Sprintf(`{"citizen":%q,"service":%q,"answers":{"size":"small"},"location":{"lat":44.4,"lon":8.9}}`, w.CitizenA.Id, w.Services["pothole"]))
	if res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var created struct{ ID string }
	res.JSON(t, &created)
	rows := rowsFor(t, w.App, created.ID)
	if len(rows) != 1 || rows[0].Op != changelog.OpPut || rows[0].Citizen != w.CitizenA.Id || rows[0].Collection != "requests" {
		t.Fatalf("after create: %+v", rows)
	}
	ev, err := w.App.FindFirstRecordByFilter("request_events", "request = {:r} && type = 'created'", dbx.Params{"r": created.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r := rowsFor(t, w.App, ev.Id); len(r) != 1 || r[0].Citizen != w.CitizenA.Id || r[0].Collection != "request_events" {
		t.Fatalf("hook-written event: %+v", r)
	}
	if r := rowsFor(t, w.App, ev.Id); r[0].Seq <= rows[0].Seq {
		t.Fatalf("event seq %d not after request seq %d", r[0].Seq, rows[0].Seq)
	}

	// clerk and superuser update through the records API
	for i, tok := range []string{clerk, su} {
		res := w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+created.ID, tok, fmt.Sprintf(`{"priority":%q}`, []string{"high", "urgent"}[i]))
		if res.Status != http.StatusOK {
			t.Fatalf("update %d: %d %s", i, res.Status, res.Body)
		}
		if got := len(rowsFor(t, w.App, created.ID)); got != 2+i {
			t.Fatalf("after update %d: %d rows", i, got)
		}
	}

	// raw SQL (any path that bypasses PocketBase) is covered by the triggers too
	if _, err := w.App.DB().NewQuery("UPDATE requests SET address = 'Piazza De Ferrari' WHERE id = {:id}").Bind(dbx.Params{"id": created.ID}).Execute(); err != nil {
		t.Fatal(err)
	}
	if got := len(rowsFor(t, w.App, created.ID)); got != 4 {
		t.Fatalf("after raw SQL: %d rows", got)
	}

	// superuser delete: tombstones for the request and its children
	res = w.Do(t, http.MethodDelete, "/api/collections/requests/records/"+created.ID, su, "")
	if res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	rows = rowsFor(t, w.App, created.ID)
	if last := rows[len(rows)-1]; last.Op != changelog.OpDel || last.Citizen != w.CitizenA.Id {
		t.Fatalf("delete tombstone: %+v", last)
	}
	if r := rowsFor(t, w.App, ev.Id); r[len(r)-1].Op != changelog.OpDel || r[len(r)-1].Citizen != w.CitizenA.Id {
		t.Fatalf("cascaded event tombstone must name the citizen: %+v", r)
	}
}

// TestNoChangeRowsForRejectedWrites: a refused create or update leaves the
// sequence untouched (the triggers run inside the write that rolled back).
func TestNoChangeRowsForRejectedWrites(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	before := maxSeq(t, w.App)
	scenarios := []struct {
		name, method, url, token, body string
	}{
		{"bad answers", http.MethodPost, "/api/collections/requests/records", testkit.Token(t, w.CitizenA),
			fmt.Sprintf(`{"citizen":%q,"service":%q,"answers":{"size":"gigantic"},"location":{"lat":44.4,"lon":8.9}}`, w.CitizenA.Id, w.Services["pothole"])},
		{"forbidden transition", http.MethodPatch, "/api/collections/requests/records/" + req.Id, testkit.Token(t, w.ClerkRoads), `{"status":"cancelled"}`},
		{"other department", http.MethodPatch, "/api/collections/requests/records/" + req.Id, testkit.Token(t, w.ClerkRegistry), `{"status":"in_progress"}`},
		{"locked field", http.MethodPatch, "/api/collections/requests/records/" + req.Id, testkit.Token(t, w.ClerkRoads), `{"status":"in_progress","number":"2026-999999"}`},
		{"event edit", http.MethodPatch, "/api/collections/request_events/records/" + firstEvent(t, w, req), testkit.Token(t, w.Superuser), `{"message":"rewritten"}`},
	}
	for _, s := range scenarios {
		res := w.Do(t, s.method, s.url, s.token, s.body)
		if res.Status < 400 || res.Status >= 500 {
			t.Fatalf("%s: %d %s", s.name, res.Status, res.Body)
		}
		if got := maxSeq(t, w.App); got != before {
			t.Fatalf("%s: seq moved %d -> %d", s.name, before, got)
		}
	}
}

func firstEvent(t *testing.T, w *testkit.World, req *core.Record) string {
	t.Helper()
	ev, err := w.App.FindFirstRecordByFilter("request_events", "request = {:r}", dbx.Params{"r": req.Id})
	if err != nil {
		t.Fatal(err)
	}
	return ev.Id
}

// TestSequenceFollowsCommitOrder: concurrent writers get strictly increasing
// seqs, and a reader that saw seq n never later finds a new row below n.
func TestSequenceFollowsCommitOrder(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readerErr error
	wg.Add(1)
	go func() { // a puller: no row may ever appear at or below a seq it has already seen
		defer wg.Done()
		var seen int64
		known := map[int64]bool{}
		for {
			select {
			case <-stop:
				return
			default:
			}
			rows, err := changelog.Since(w.App.DB(), 0, 100000)
			if err != nil {
				readerErr = err
				return
			}
			for _, r := range rows {
				if r.Seq <= seen && !known[r.Seq] {
					readerErr = fmt.Errorf("seq %d appeared after the reader had seen up to %d", r.Seq, seen)
					return
				}
				known[r.Seq] = true
			}
			if len(rows) > 0 {
				seen = rows[len(rows)-1].Seq
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var writers sync.WaitGroup
	for g := 0; g < 4; g++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 25; i++ {
				w.NewRequest(t, w.CitizenA)
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if readerErr != nil {
		t.Fatal(readerErr)
	}
	rows, err := changelog.Since(w.App.DB(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Seq <= rows[i-1].Seq {
			t.Fatalf("seq not increasing at %d: %d then %d", i, rows[i-1].Seq, rows[i].Seq)
		}
	}
	if len(rows) < 200 { // 100 requests + 100 created events (+ receipts)
		t.Fatalf("only %d change rows for 100 requests", len(rows))
	}
}

// TestPruneKeepsAFloor: pruning removes old rows, and Floor tells pullers with an
// older cursor that they need a reset; AUTOINCREMENT never reuses a pruned seq.
func TestPruneKeepsAFloor(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	w.NewRequest(t, w.CitizenA)
	top := maxSeq(t, w.App)
	removed, err := changelog.Prune(w.App, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if removed == 0 {
		t.Fatal("nothing pruned")
	}
	floor, err := changelog.Floor(w.App.DB())
	if err != nil || floor != top {
		t.Fatalf("floor = %d (%v), want %d", floor, err, top)
	}
	w.NewRequest(t, w.CitizenA)
	rows, _ := changelog.Since(w.App.DB(), 0, 100)
	if len(rows) == 0 || rows[0].Seq <= top {
		t.Fatalf("after prune, new rows %+v must start above %d", rows, top)
	}
}
