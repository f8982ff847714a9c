package mobileapi_test

import (
	"net/http"
	"testing"

	"civicdesk/testkit"
)

func TestPushCreateCommentCancel(t *testing.T) {
	w := testkit.NewApp(t)
	c := newClient(t, serve(t, w), w.CitizenA)
	rid, eid := randomID(15), randomID(15)
	code, res := c.push(create(1, rid), comment(2, eid, rid, "it is deep"), cancel(3, rid))
	if code != http.StatusOK {
		t.Fatalf("push: %d %+v", code, res)
	}
	if res.LastMutationID != 3 || len(res.Results) != 3 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res.Results {
		if r.Status != "applied" {
			t.Fatalf("mutation %d: %s %+v", r.ID, r.Status, r.Error)
		}
	}
	req, err := w.App.FindRecordById("requests", rid)
	if err != nil {
		t.Fatal(err)
	}
	if req.GetString("status") != "cancelled" || req.GetString("number") == "" || req.GetString("citizen") != w.CitizenA.Id {
		t.Fatalf("request %v", req.PublicExport())
	}
	ev, err := w.App.FindRecordById("request_events", eid)
	if err != nil || ev.GetString("type") != "comment" || !ev.GetBool("public") {
		t.Fatalf("event %v %v", ev, err)
	}
	rcpts, _ := w.App.FindAllRecords("receipts")
	t.Logf("receipts: %d", len(rcpts))

	var r replica
	c.sync(&r, 200)
	if r.lmid != 3 {
		t.Fatalf("lmid %d", r.lmid)
	}
	got := r.data["requests/"+rid]
	if got == nil || got["status"] != "cancelled" || got["number"] != req.GetString("number") {
		t.Fatalf("replica request %v", got)
	}
	if r.data["request_events/"+eid] == nil {
		t.Fatalf("replica lacks the comment: %v", r.data)
	}
}
