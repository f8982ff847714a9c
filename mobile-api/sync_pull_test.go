package mobileapi_test

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"civicdesk/changelog"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// serverView returns what the citizen should see: "collection/id" -> status
// for requests, "" for events and receipts.
func serverView(t testing.TB, app core.App, citizen string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var reqs []struct {
		ID     string `db:"id"`
		Status string `db:"status"`
	}
	if err := app.DB().NewQuery("SELECT id, status FROM requests WHERE citizen = {:c}").Bind(dbx.Params{"c": citizen}).All(&reqs); err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		out["requests/"+r.ID] = r.Status
	}
	var ids []string
	if err := app.DB().NewQuery("SELECT e.id FROM request_events e JOIN requests r ON r.id = e.request WHERE r.citizen = {:c} AND e.public = TRUE").Bind(dbx.Params{"c": citizen}).Column(&ids); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		out["request_events/"+id] = ""
	}
	ids = nil
	if err := app.DB().NewQuery("SELECT x.id FROM receipts x JOIN requests r ON r.id = x.request WHERE r.citizen = {:c}").Bind(dbx.Params{"c": citizen}).Column(&ids); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		out["receipts/"+id] = ""
	}
	return out
}

// replicaView is the same summary of a replica.
func replicaView(r *replica) map[string]string {
	out := map[string]string{}
	for k, v := range r.data {
		s, _ := v["status"].(string)
		if v["number"] == nil {
			s = ""
		}
		out[k] = s
	}
	return out
}

func sameView(t testing.TB, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("replica has %d records, server view %d", len(got), len(want))
	}
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			diffs = append(diffs, fmt.Sprintf("%s: replica %q (present %v), server %q", k, g, ok, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, k+": only in replica")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%d differences, first: %v", len(diffs), diffs[:min(5, len(diffs))])
	}
}

// G5: 1,000 creates landing at once (equal timestamps, random ids) while a
// client pages with limit=7, and staff changing requests during the paging:
// the client ends up with exactly the server's state.
func TestPullCursorCompleteness(t *testing.T) {
	w := testkit.NewApp(t)
	w.App.Settings().RateLimits.Enabled = false
	base := serve(t, w)
	pager := newClient(t, base, w.CitizenA)

	var writers sync.WaitGroup
	created := make(chan string, 1000)
	for g := 0; g < 10; g++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			writer := newClient(t, base, w.CitizenA)
			var ms []mutation
			for i := int64(1); i <= 100; i++ {
				ms = append(ms, create(i, randomID(15)))
			}
			if code, res := writer.push(ms...); code != http.StatusOK || res.LastMutationID != 100 {
				t.Errorf("writer push: %d %+v", code, res.Message)
			}
			for _, m := range ms {
				created <- m.Args["requestId"].(string)
			}
		}()
	}
	staffDone := make(chan struct{})
	go func() { // staff work through requests while the pager pages
		defer close(staffDone)
		for n := 0; n < 1000; n++ {
			var id string
			select {
			case id = <-created:
			case <-time.After(20 * time.Second):
				t.Error("writers stalled")
				return
			}
			rec, err := w.App.FindRecordById("requests", id)
			if err != nil {
				t.Errorf("staff load: %v", err)
				return
			}
			rec.Set("status", []string{workflow.StatusInProgress, workflow.StatusResolved, workflow.StatusRejected}[n%3])
			workflow.AttachActor(rec, workflow.ActorFromAuth(w.Supervisor))
			if err := w.App.Save(rec); err != nil {
				t.Errorf("staff update: %v", err)
				return
			}
		}
	}()

	var r replica
	pages := 0
loop:
	for {
		select {
		case <-staffDone:
			break loop
		default:
		}
		code, p := pager.pull(r.cursor, 7)
		if code != http.StatusOK {
			t.Fatalf("pull: %d", code)
		}
		if len(p.Changes) > 7 {
			t.Fatalf("page of %d > limit", len(p.Changes))
		}
		applyPage(&r, p)
		pages++
	}
	writers.Wait()
	pager.sync(&r, 7)
	if pages < 20 {
		t.Logf("only %d pages during the writes", pages)
	}
	var n int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM requests").Row(&n)
	if n != 1000 {
		t.Fatalf("%d requests", n)
	}
	sameView(t, replicaView(&r), serverView(t, w.App, w.CitizenA.Id))
}

func applyPage(r *replica, p pullResp) {
	if r.data == nil || p.Reset {
		r.data = map[string]map[string]any{}
	}
	applyChanges(r, p.Changes)
	cur := p.Cursor
	r.cursor, r.lmid = &cur, p.LastMutationID
}

// G3: a pull's lastMutationID and its changes come from one snapshot: after
// a complete pull the replica holds exactly the effects of mutations 1..lastMutationID.
func TestPullSnapshotConsistency(t *testing.T) {
	w := testkit.NewApp(t)
	w.App.Settings().RateLimits.Enabled = false
	base := serve(t, w)
	c := newClient(t, base, w.CitizenA)
	const total = 120
	ids := make([]string, total+1)
	for i := range ids {
		ids[i] = randomID(15)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pusher := *c
		for i := int64(1); i <= total; i += 3 {
			if code, _ := pusher.push(create(i, ids[i]), create(i+1, ids[i+1]), create(i+2, ids[i+2])); code != http.StatusOK {
				t.Errorf("push %d: %d", i, code)
				return
			}
		}
	}()
	checks := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		code, p := c.pull(nil, 1000) // a reset pull: the whole state in one snapshot
		if code != http.StatusOK || p.HasMore {
			t.Fatalf("pull: %d hasMore %v", code, p.HasMore)
		}
		have := map[string]bool{}
		for _, ch := range p.Changes {
			if ch.Collection == "requests" {
				have[ch.ID] = true
			}
		}
		if len(have) != int(p.LastMutationID) {
			t.Fatalf("lastMutationID %d but %d requests", p.LastMutationID, len(have))
		}
		for i := int64(1); i <= p.LastMutationID; i++ {
			if !have[ids[i]] {
				t.Fatalf("lastMutationID %d but mutation %d's request is missing", p.LastMutationID, i)
			}
		}
		checks++
	}
	if checks < 3 {
		t.Logf("only %d pulls overlapped the pushes", checks)
	}
}

// G11: the client's clock is informational: ±1 day changes nothing but reported_at.
func TestPushClientClockSkew(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	a, b := newClient(t, base, w.CitizenA), newClient(t, base, w.CitizenA)
	var r replica
	a.sync(&r, 100)
	start := r.cursor

	future, past := randomID(15), randomID(15)
	mf := create(1, future)
	mf.ClientTime = time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339Nano)
	mp := create(1, past)
	mp.ClientTime = time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339Nano)
	if code, _ := a.push(mf); code != http.StatusOK {
		t.Fatal(code)
	}
	if code, _ := b.push(mp); code != http.StatusOK {
		t.Fatal(code)
	}
	_, p := a.pull(start, 100)
	var order []string
	for _, ch := range p.Changes {
		if ch.Collection == "requests" {
			order = append(order, ch.ID)
		}
	}
	// server order (commit order), whatever the devices' clocks said
	if len(order) != 2 || order[0] != future || order[1] != past {
		t.Fatalf("order %v, want [%s %s]", order, future, past)
	}
	for _, id := range []string{future, past} {
		rec, _ := w.App.FindRecordById("requests", id)
		if d := time.Since(rec.GetDateTime("created").Time()); d < 0 || d > time.Minute {
			t.Fatalf("created is not server time: %v", rec.GetDateTime("created"))
		}
		if rec.GetString("number") == "" || rec.GetString("status") != workflow.StatusReceived {
			t.Fatalf("request %s not accepted normally", id)
		}
		if d := time.Until(rec.GetDateTime("due_at").Time()) - 72*time.Hour; d > time.Minute || d < -time.Minute {
			t.Fatalf("due_at not from server time: %v", rec.GetDateTime("due_at"))
		}
	}
	rf, _ := w.App.FindRecordById("requests", future)
	if time.Until(rf.GetDateTime("reported_at").Time()) < 23*time.Hour {
		t.Fatalf("reported_at not kept: %v", rf.GetDateTime("reported_at"))
	}
}

// G7/G8: records leaving the citizen's view come as `del`; a cursor older than
// the kept tombstones, unknown or garbage resets with the full state.
func TestPullTombstonesAndReset(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	keep, gone, eid := randomID(15), randomID(15), randomID(15)
	if code, _ := c.push(create(1, keep), create(2, gone), comment(3, eid, keep, "hello")); code != http.StatusOK {
		t.Fatal(code)
	}
	var r replica
	c.sync(&r, 3)
	if r.data["request_events/"+eid] == nil || r.data["requests/"+gone] == nil {
		t.Fatalf("replica before: %v", replicaView(&r))
	}

	// staff hide the comment, a superuser deletes a request
	ev, _ := w.App.FindRecordById("request_events", eid)
	ev.Set("public", false)
	workflow.AttachActor(ev, workflow.ActorFromAuth(w.Supervisor))
	if err := w.App.Save(ev); err != nil {
		t.Fatal(err)
	}
	req, _ := w.App.FindRecordById("requests", gone)
	workflow.AttachActor(req, workflow.System)
	if err := w.App.Delete(req); err != nil {
		t.Fatal(err)
	}
	_, p := c.pull(r.cursor, 100)
	dels := map[string]bool{}
	for _, ch := range p.Changes {
		if ch.Op == "del" {
			dels[ch.Collection+"/"+ch.ID] = true
		}
	}
	if !dels["request_events/"+eid] || !dels["requests/"+gone] || p.Reset {
		t.Fatalf("want dels for the hidden event and deleted request, got %+v", p)
	}
	applyPage(&r, p)
	sameView(t, replicaView(&r), serverView(t, w.App, w.CitizenA.Id))

	for name, cursor := range map[string]string{"unknown": "999999999", "garbage": "abc", "bad reset": "r1.9.x"} {
		cur := cursor
		_, p := c.pull(&cur, 100)
		if !p.Reset {
			t.Fatalf("%s cursor: no reset", name)
		}
	}

	// prune every tombstone: an old cursor now needs a reset, with the full state in pages
	old := "1"
	if _, err := changelog.Prune(w.App, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, p = c.pull(&old, 2)
	if !p.Reset || !p.HasMore || len(p.Changes) != 2 {
		t.Fatalf("pruned cursor: %+v", p)
	}
	var fresh replica
	applyPage(&fresh, p)
	c.sync(&fresh, 2)
	sameView(t, replicaView(&fresh), serverView(t, w.App, w.CitizenA.Id))
	// the reset's final cursor is a normal one that keeps working
	rid := randomID(15)
	if code, _ := c.push(create(4, rid)); code != http.StatusOK {
		t.Fatal(code)
	}
	c.sync(&fresh, 2)
	if fresh.data["requests/"+rid] == nil || fresh.lmid != 4 {
		t.Fatalf("after reset, the next change is missing (lmid %d)", fresh.lmid)
	}
}

// TestPullAfterRestore: a database restored from an earlier backup issues the
// same sequence numbers again to other changes. A cursor from before the
// restore must then get a reset, never silently skip the new changes.
func TestPullAfterRestore(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	if code, _ := c.push(create(1, randomID(15))); code != http.StatusOK {
		t.Fatal(code)
	}
	var backup int64 // the "backup" is taken here
	if err := w.App.DB().NewQuery("SELECT MAX(seq) FROM changes").Row(&backup); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.push(create(2, randomID(15)), create(3, randomID(15))); code != http.StatusOK {
		t.Fatal(code)
	}
	var r replica
	c.sync(&r, 100) // the phone saw everything up to here

	// "restore": the rows after the backup are gone, and the sequence restarts from it
	for _, q := range []string{
		"DELETE FROM requests WHERE id IN (SELECT record_id FROM changes WHERE seq > {:b} AND collection = 'requests')",
		"DELETE FROM changes WHERE seq > {:b}",
		"UPDATE sqlite_sequence SET seq = {:b} WHERE name = 'changes'",
	} {
		if _, err := w.App.DB().NewQuery(q).Bind(map[string]any{"b": backup}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	// staff file new requests for this citizen after the restore, past the phone's cursor
	for i := 0; i < 3; i++ {
		w.NewRequest(t, w.CitizenA)
	}
	_, p := c.pull(r.cursor, 100)
	if !p.Reset {
		t.Fatalf("a cursor from before the restore must reset, got %d changes without reset", len(p.Changes))
	}
	r.data = map[string]map[string]any{}
	applyPage(&r, p)
	sameView(t, replicaView(&r), serverView(t, w.App, w.CitizenA.Id))
}
