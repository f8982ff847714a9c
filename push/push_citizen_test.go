package push_test

import (
	"testing"

	"civicdesk/push"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// The city's question is pushed with what to do; the citizen's reply (which
// moves the request back to in_progress) is not pushed back to them.
func TestQuestionPushedReplyNot(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	req := w.NewRequest(t, w.CitizenA)
	dev, endpoint := f.newDevice()
	subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
	w.MoveTo(t, req, workflow.StatusWaitingCitizen)

	rows := outbox(t, w.App)
	if len(rows) != 1 {
		t.Fatalf("%d rows after the question, want 1", len(rows))
	}
	p := payloadOf(t, rows[0])
	if p.Status != workflow.StatusWaitingCitizen || p.Body != "The city has a question for you: open the request to reply." {
		t.Fatalf("question payload %+v", p)
	}

	col, err := w.App.FindCollectionByNameOrId("request_events")
	if err != nil {
		t.Fatal(err)
	}
	ev := core.NewRecord(col)
	ev.Set("request", req.Id)
	ev.Set("type", "comment")
	ev.Set("message", "It is 40 cm wide.")
	workflow.AttachActor(ev, workflow.Actor{Kind: workflow.ActorCitizen, ID: w.CitizenA.Id})
	if err := w.App.Save(ev); err != nil {
		t.Fatal(err)
	}
	fresh, err := w.App.FindRecordById("requests", req.Id)
	if err != nil || fresh.GetString("status") != workflow.StatusInProgress {
		t.Fatalf("after the reply: %v %v", fresh, err)
	}
	for _, r := range outbox(t, w.App) {
		if r.State == push.StatePending && payloadOf(t, r).Status == workflow.StatusInProgress {
			t.Fatalf("the citizen's own reply was pushed to them: %+v", payloadOf(t, r))
		}
	}
	// a clerk's next change is pushed again
	w.MoveTo(t, fresh, workflow.StatusResolved)
	found := false
	for _, r := range outbox(t, w.App) {
		found = found || (r.State == push.StatePending && payloadOf(t, r).Status == workflow.StatusResolved)
	}
	if !found {
		t.Fatal("the clerk's resolution was not queued")
	}
}
