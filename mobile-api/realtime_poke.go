package mobileapi

import (
	"encoding/json"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/routine"
	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

// TopicPrefix is the realtime topic prefix of sync pokes: "sync/{citizenId}".
const TopicPrefix = "sync/"

// pokeCollections are the collections whose changes the app pulls.
var pokeCollections = []string{"requests", "request_events", "receipts", "fees"}

// pokeAfterCommit tells the citizens a committed record change concerns to pull.
// It runs in OnRecordAfter*Success, i.e. after the commit: a poke never
// announces a change a pull cannot see yet.
func pokeAfterCommit(e *core.RecordEvent) error {
	if e.App.SubscriptionsBroker().TotalClients() == 0 {
		return e.Next() // nobody listening: skip the lookups
	}
	citizens := map[string]bool{}
	switch e.Record.Collection().Name {
	case "requests":
		citizens[e.Record.GetString("citizen")] = true
		if orig := e.Record.Original(); orig != nil {
			citizens[orig.GetString("citizen")] = true // a request leaving a citizen's view
		}
	default:
		if req, err := e.App.FindRecordById("requests", e.Record.GetString("request")); err == nil {
			citizens[req.GetString("citizen")] = true
		}
	}
	for c := range citizens {
		if c != "" {
			Poke(e.App, c)
		}
	}
	return e.Next()
}

// Poke sends "pull now" to every realtime client subscribed to the citizen's
// sync topic. It carries no data: SSE has no ordering or replay, pull does.
func Poke(app core.App, citizenID string) {
	topic := TopicPrefix + citizenID
	msg := subscriptions.Message{Name: topic, Data: pokePayload}
	for _, chunk := range app.SubscriptionsBroker().ChunkedClients(300) {
		for _, client := range chunk {
			if client.HasSubscription(topic) {
				c := client
				// Send blocks on a slow client: never hold up the writer's goroutine
				routine.FireAndForget(func() { c.Send(msg) })
			}
		}
	}
}

var pokePayload, _ = json.Marshal(map[string]string{"action": "pull"})

// guardSyncTopics refuses subscriptions to another citizen's sync topic.
func guardSyncTopics(e *core.RealtimeSubscribeRequestEvent) error {
	for _, sub := range e.Subscriptions {
		topic, _, _ := strings.Cut(sub, "?")
		if !strings.HasPrefix(topic, TopicPrefix) {
			continue
		}
		if e.Auth == nil || e.Auth.Collection().Name != "citizens" || topic != TopicPrefix+e.Auth.Id {
			return e.ForbiddenError("You can subscribe only to your own sync topic.", nil)
		}
	}
	return e.Next()
}
