package push

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// KindStaff is an outbox row for a staff member's device (console notifications).
const KindStaff = "staff"

// EnqueueStaff writes one outbox row per push subscription of staff member
// staffID, with payload rendered by the caller in that device's language
// (render gets the subscription's lang). Like Enqueue, call it with the
// transaction of the change that causes it. Staff who never opted in have no
// subscriptions, and nothing is written.
func EnqueueStaff(txApp core.App, staffID, requestID string, render func(lang string) Payload, now time.Time, ttl time.Duration) (int, error) {
	if staffID == "" || requestID == "" {
		return 0, nil
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	subs, err := txApp.FindAllRecords(CollectionSubscriptions, dbx.HashExp{"staff": staffID})
	if err != nil || len(subs) == 0 {
		return 0, err
	}
	outbox, err := txApp.FindCachedCollectionByNameOrId(CollectionOutbox)
	if err != nil {
		return 0, fmt.Errorf("push outbox collection: %w", err)
	}
	ts := dbTime(now)
	for _, sub := range subs {
		rec := core.NewRecord(outbox)
		rec.Load(map[string]any{
			"subscription": sub.Id, "request": requestID, "kind": KindStaff,
			"payload": string(render(sub.GetString("lang")).Encode()),
			"topic":   Topic("s" + requestID), "urgency": "normal", "ttl": int(ttl / time.Second),
			"state": StatePending, "next_at": ts, "expires_at": dbTime(now.Add(ttl)),
		})
		if err := txApp.Save(rec); err != nil {
			return 0, fmt.Errorf("queue staff push: %w", err)
		}
	}
	return len(subs), nil
}
