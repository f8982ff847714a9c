package mobileapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

func TestRealtimePoke(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	subscribe := func(client subscriptions.Client, token string, topics ...string) int {
		body, _ := json.Marshal(map[string]any{"clientId": client.Id(), "subscriptions": topics})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/realtime", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	newSSE := func() subscriptions.Client {
		c := subscriptions.NewDefaultClient()
		w.App.SubscriptionsBroker().Register(c)
		t.Cleanup(func() {
			// take the pokes still in flight first: PocketBase's Send races with
			// the channel close of Unregister (it recovers, the race detector does not)
			for quiet := false; !quiet; {
				select {
				case <-c.Channel():
				case <-time.After(300 * time.Millisecond):
					quiet = true
				}
			}
			w.App.SubscriptionsBroker().Unregister(c.Id())
		})
		return c
	}
	tokenA := testkit.Token(t, w.CitizenA)

	scenarios := []struct {
		name   string
		token  string
		topics []string
		want   int
	}{
		{"another citizen's topic", tokenA, []string{"sync/" + w.CitizenB.Id}, http.StatusForbidden},
		{"another citizen's topic with options", tokenA, []string{"sync/" + w.CitizenB.Id + "?options={}"}, http.StatusForbidden},
		{"anonymous", "", []string{"sync/" + w.CitizenA.Id}, http.StatusForbidden},
		{"staff", testkit.Token(t, w.Supervisor), []string{"sync/" + w.CitizenA.Id}, http.StatusForbidden},
		{"own topic", tokenA, []string{"sync/" + w.CitizenA.Id}, http.StatusNoContent},
	}
	for _, s := range scenarios {
		if got := subscribe(newSSE(), s.token, s.topics...); got != s.want {
			t.Errorf("%s: want %d, got %d", s.name, s.want, got)
		}
	}

	mine, theirs := newSSE(), newSSE()
	if code := subscribe(mine, tokenA, "sync/"+w.CitizenA.Id); code != http.StatusNoContent {
		t.Fatalf("subscribe: %d", code)
	}
	if code := subscribe(theirs, testkit.Token(t, w.CitizenB), "sync/"+w.CitizenB.Id); code != http.StatusNoContent {
		t.Fatalf("subscribe B: %d", code)
	}
	wait := func(c subscriptions.Client, what string) {
		t.Helper()
		select {
		case msg := <-c.Channel():
			if msg.Name != "sync/"+w.CitizenA.Id {
				t.Fatalf("%s: poke on %q", what, msg.Name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no poke", what)
		}
	}

	// a sync write pokes after commit
	c := newClient(t, base, w.CitizenA)
	rid := randomID(15)
	if code, _ := c.push(create(1, rid)); code != http.StatusOK {
		t.Fatal(code)
	}
	wait(mine, "push")
	// so does a staff change through any path
	rec, _ := w.App.FindRecordById("requests", rid)
	rec.Set("status", workflow.StatusInProgress)
	workflow.AttachActor(rec, workflow.ActorFromAuth(w.ClerkRoads))
	if err := w.App.Save(rec); err != nil {
		t.Fatal(err)
	}
	wait(mine, "staff update")
	// and the other citizen heard nothing
	select {
	case msg := <-theirs.Channel():
		t.Fatalf("citizen B got %q", msg.Name)
	case <-time.After(200 * time.Millisecond):
	}
}
