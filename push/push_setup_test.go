package push_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

const testSubject = "ops@city.example"

// newWorld returns a seeded app whose allow-list includes the fake push service.
func newWorld(t testing.TB, f *fakePush, adjust ...func(*city.Config)) *testkit.World {
	t.Helper()
	cfg := city.Default()
	cfg.PushSubject = testSubject
	if f != nil {
		cfg.PushAllowHosts = []string{f.host()}
	}
	for _, a := range adjust {
		a(&cfg)
	}
	w := testkit.NewApp(t, testkit.WithCity(cfg))
	if f != nil {
		pub, err := push.PublicKey(w.App)
		if err != nil {
			t.Fatal(err)
		}
		f.vapid = pub
		f.subject = "mailto:" + testSubject
	}
	return w
}

// subscribe saves a push subscription through the data layer.
func subscribe(t testing.TB, app core.App, citizen *core.Record, endpoint string, keys push.SubscriptionKeys, lang string) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(push.CollectionSubscriptions)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("citizen", citizen.Id)
	rec.Set("endpoint", endpoint)
	rec.Set("keys", keys)
	rec.Set("lang", lang)
	if err := app.Save(rec); err != nil {
		t.Fatalf("subscribe %s: %v", endpoint, err)
	}
	return rec
}

// startDispatcher starts a dispatcher on app, stopped (gracefully) on cleanup.
func startDispatcher(t testing.TB, app core.App, opts push.Options) *push.Dispatcher {
	t.Helper()
	if opts.BackoffBase == 0 {
		opts.BackoffBase = 20 * time.Millisecond
	}
	d, err := push.NewDispatcher(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = d.Stop(ctx)
	})
	return d
}

// waitFor polls cond until it holds; it fails the test after timeout (a hang guard, not a timing assertion).
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type outboxRow struct {
	ID           string `db:"id"`
	Subscription string `db:"subscription"`
	Request      string `db:"request"`
	Kind         string `db:"kind"`
	State        string `db:"state"`
	Attempts     int    `db:"attempts"`
	LastStatus   int    `db:"last_status"`
	Payload      string `db:"payload"`
	NextAt       string `db:"next_at"`
	ExpiresAt    string `db:"expires_at"`
}

func outbox(t testing.TB, app core.App) []outboxRow {
	t.Helper()
	var rows []outboxRow
	if err := app.DB().Select("id", "subscription", "request", "kind", "state", "attempts", "last_status", "payload", "next_at", "expires_at").
		From(push.CollectionOutbox).OrderBy("created", "id").All(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func countState(t testing.TB, app core.App, state string) int {
	t.Helper()
	var n int
	if err := app.DB().Select("count(*)").From(push.CollectionOutbox).Where(dbx.HashExp{"state": state}).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func payloadOf(t testing.TB, row outboxRow) push.Payload {
	t.Helper()
	var p push.Payload
	if err := json.Unmarshal([]byte(row.Payload), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// enqueue queues one status message for request req of citizen in its own transaction.
func enqueue(t testing.TB, app core.App, citizen string, req *core.Record, now time.Time, ttl time.Duration) {
	t.Helper()
	err := app.RunInTransaction(func(tx core.App) error {
		_, err := push.Enqueue(tx, citizen, push.Message{Kind: push.KindStatus, RequestID: req.Id, Number: req.GetString("number"), Status: req.GetString("status")}, now, ttl)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// decodeAny decodes base64url or standard base64, padded or not (what browsers send).
func decodeAny(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}
