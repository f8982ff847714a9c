package push

import (
	"fmt"
	"time"

	"civicdesk/city"
	"civicdesk/rawinsert"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Collection names.
const (
	CollectionOutbox        = "push_outbox"
	CollectionSubscriptions = "push_subscriptions"
)

// Outbox row states (push_outbox.state).
const (
	StatePending    = "pending"    // waiting for next_at
	StateSending    = "sending"    // claimed by a worker: the POST may be in flight
	StateSent       = "sent"       // the push service answered 2xx
	StateFailed     = "failed"     // refused for good (400, 413, 401/403, redirect, bad subscription)
	StateExpired    = "expired"    // its TTL ran out before a push service accepted it
	StateSuperseded = "superseded" // a newer message of the same request replaced it before it left
)

// DefaultTTL is how long a push service keeps a message for an offline device.
const DefaultTTL = 72 * time.Hour

// dbTime formats t as PocketBase stores dates, so string comparison is time order.
func dbTime(t time.Time) string {
	return t.UTC().Format(types.DefaultDateLayout)
}

// Enqueue writes one outbox row per push subscription of citizenID for message m,
// through txApp: call it with the transaction of the change that causes the
// message, so the change and its notifications commit (or roll back) together.
// Pending rows of the same request and device are superseded (their Topic would
// replace them at the push service anyway). It returns the number of rows written.
func Enqueue(txApp core.App, citizenID string, m Message, now time.Time, ttl time.Duration) (int, error) {
	if citizenID == "" || m.RequestID == "" {
		return 0, nil // Open311 requests have no citizen: nobody to notify
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	// narrow reads: a push is queued on nearly every write of a request
	var subs []struct {
		ID   string `db:"id"`
		Lang string `db:"lang"`
	}
	if err := txApp.DB().NewQuery("SELECT [[id]], COALESCE([[lang]], '') AS [[lang]] FROM {{" + CollectionSubscriptions + "}} WHERE [[citizen]] = {:c} ORDER BY [[rowid]]").
		Bind(dbx.Params{"c": citizenID}).All(&subs); err != nil {
		return 0, fmt.Errorf("find push subscriptions: %w", err)
	}
	if len(subs) == 0 {
		return 0, nil
	}
	cfg := city.Of(txApp)
	citizenLang := ""
	ts := dbTime(now)
	for _, sub := range subs {
		lang := sub.Lang
		if lang == "" {
			if citizenLang == "" {
				citizenLang = cfg.DefaultLang
				var l string
				if err := txApp.DB().NewQuery("SELECT COALESCE([[lang]], '') FROM {{citizens}} WHERE [[id]] = {:id}").Bind(dbx.Params{"id": citizenID}).Row(&l); err == nil && l != "" {
					citizenLang = l
				}
			}
			lang = citizenLang
		}
		if _, err := txApp.DB().NewQuery("UPDATE {{push_outbox}} SET [[state]] = {:superseded}, [[updated]] = {:now} WHERE [[subscription]] = {:sub} AND [[request]] = {:req} AND [[state]] = {:pending}").
			Bind(dbx.Params{"superseded": StateSuperseded, "now": ts, "sub": sub.ID, "req": m.RequestID, "pending": StatePending}).Execute(); err != nil {
			return 0, fmt.Errorf("supersede pending pushes: %w", err)
		}
		// a server-generated row: a prepared INSERT, no Save (package rawinsert);
		// nobody subscribes to the outbox, the dispatcher is woken after commit
		if _, err := rawinsert.Insert(txApp, CollectionOutbox, map[string]any{
			"subscription": sub.ID,
			"request":      m.RequestID,
			"kind":         m.Kind,
			"payload":      string(Render(cfg, m, lang).Encode()),
			"topic":        Topic(m.RequestID),
			"urgency":      m.Urgency(),
			"ttl":          int(ttl / time.Second),
			"state":        StatePending,
			"next_at":      ts,
			"expires_at":   dbTime(now.Add(ttl)),
		}); err != nil {
			return 0, fmt.Errorf("queue push: %w", err)
		}
	}
	return len(subs), nil
}
