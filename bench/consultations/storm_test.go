// Package consultations_bench is the reconnect-storm load tool of issue 16:
// N citizens (default 10,000) each push one ballot at once through the sync
// push path, then the results are computed at close. It prints ballots/s and
// the tally time; it asserts only correctness (one row per citizen).
//
//	CIVICDESK_BENCH_BALLOTS=10000 go test ./bench/consultations/ -run TestBallotStorm -v
package consultations_bench

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civicdesk/consultations"
	mobileapi "civicdesk/mobile-api"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

func TestBallotStorm(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CIVICDESK_BENCH_BALLOTS"))
	if n <= 0 {
		t.Skip("set CIVICDESK_BENCH_BALLOTS (e.g. 10000) to run the storm")
	}
	w := testkit.NewApp(t)
	svc := consultations.Of(w.App)
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	svc.SetClock(func() time.Time { return *clock.Load() })

	col, _ := w.App.FindCollectionByNameOrId("consultations")
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"code": "STORM", "title": map[string]string{"en": "Storm"}, "status": "scheduled", "time_zone": "Europe/Rome",
		"opens_local": "2026-03-01T00:00", "closes_local": "2026-03-20T23:59",
		"questions": []map[string]any{
			{"id": "p", "kind": "single", "options": []map[string]any{{"id": "a", "label": map[string]string{"en": "A"}}, {"id": "b", "label": map[string]string{"en": "B"}}}, "title": map[string]string{"en": "P"}},
			{"id": "r", "kind": "ranking", "options": []map[string]any{{"id": "x", "label": map[string]string{"en": "X"}}, {"id": "y", "label": map[string]string{"en": "Y"}}, {"id": "z", "label": map[string]string{"en": "Z"}}}, "title": map[string]string{"en": "R"}},
		},
	})
	workflow.AttachActor(rec, workflow.System)
	if err := w.App.Save(rec); err != nil {
		t.Fatal(err)
	}
	// citizens by SQL: a password hash per account would dominate the setup
	ids := make([]string, n)
	err := w.App.RunInTransaction(func(tx core.App) error {
		for i := range ids {
			ids[i] = fmt.Sprintf("st%013d", i)
			if _, err := tx.DB().NewQuery("INSERT INTO citizens (id, email, tokenKey, password) VALUES ({:id}, {:e}, {:k}, 'x')").
				Bind(map[string]any{"id": ids[i], "e": ids[i] + "@storm.example", "k": ids[i] + "key"}).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ranks := [][]string{{"x", "y", "z"}, {"y", "z", "x"}, {"z", "x", "y"}}
	workers := 64
	var retries atomic.Int64
	// storm runs one push per citizen from workers goroutines; build makes citizen i's push
	storm := func(build func(i int) *mobileapi.PushRequest) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for g := 0; g < workers; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					req := build(i)
					for {
						_, err := mobileapi.Push(w.App, ids[i], req)
						if err == nil {
							break
						}
						if !strings.Contains(err.Error(), "transient") {
							t.Errorf("push: %v", err)
							return
						}
						retries.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	// baseline in the same run: each citizen's first, empty push (binds the
	// clientID, one write transaction) — the sync floor a ballot adds to
	base := storm(func(i int) *mobileapi.PushRequest {
		return &mobileapi.PushRequest{ClientID: "storm-" + ids[i], Mutations: []mobileapi.Mutation{}}
	})
	elapsed := storm(func(i int) *mobileapi.PushRequest {
		args, _ := json.Marshal(map[string]any{"consultationId": rec.Id, "baseVersion": 0, "answers": map[string]any{
			"p": map[string]any{"options": []string{[]string{"a", "b"}[i%2]}}, "r": map[string]any{"options": ranks[i%3]},
		}})
		return &mobileapi.PushRequest{ClientID: "storm-" + ids[i], Mutations: []mobileapi.Mutation{{ID: 1, Name: consultations.MutationCast, Args: args}}}
	})
	var rows int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM ballots WHERE consultation = {:c}").Bind(map[string]any{"c": rec.Id}).Row(&rows)
	if rows != n {
		t.Fatalf("%d ballot rows, want %d", rows, n)
	}
	closed := time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC)
	clock.Store(&closed)
	tallyStart := time.Now()
	res, err := svc.Publish(rec.Id, workflow.System)
	if err != nil {
		t.Fatal(err)
	}
	tally := time.Since(tallyStart)
	fmt.Printf("baseline (empty first push per citizen): %d pushes in %s = %.0f pushes/s\n", n, base.Round(time.Millisecond), float64(n)/base.Seconds())
	fmt.Printf("ballot storm: %d citizens, %d workers: %d ballots in %s = %.0f ballots/s (%d busy retries); ballot/baseline time %.1fx\n",
		n, workers, rows, elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds(), retries.Load(), elapsed.Seconds()/base.Seconds())
	fmt.Printf("results at close (tally + publish of %d ballots): %s; totalBallots=%d\n", res.TotalBallots, tally.Round(time.Millisecond), res.TotalBallots)
}
