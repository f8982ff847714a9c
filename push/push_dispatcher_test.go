package push_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

func TestDispatcherDeliversEncryptedSignedPayload(t *testing.T) {
	cases := []struct {
		name        string
		status      string
		lang        string
		wantUrgency string
		wantTitle   string
	}{
		{"in progress, italian", workflow.StatusInProgress, "it", "normal", "Segnalazione "},
		{"waiting for the citizen is urgent, hungarian", workflow.StatusWaitingCitizen, "hu", "high", "Bejelentés: "},
		{"rejected, estonian", workflow.StatusRejected, "et", "normal", "Pöördumine "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePush(t)
			w := newWorld(t, f)
			req := w.NewRequest(t, w.CitizenA)
			dev, endpoint := f.newDevice()
			sub := subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), tc.lang)
			moved := w.MoveTo(t, req, tc.status)

			d := startDispatcher(t, w.App, push.Options{Workers: 2})
			waitFor(t, 10*time.Second, "one delivery", func() bool { return len(f.deliveries()) == 1 })
			got := f.deliveries()[0]

			if got.Path != dev.path {
				t.Errorf("delivered to %s, want %s", got.Path, dev.path)
			}
			p := got.Payload
			number := moved.GetString("number")
			if number == "" || p.Request != number || p.Status != tc.status {
				t.Errorf("payload request/status = %q/%q, want %q/%q", p.Request, p.Status, number, tc.status)
			}
			if !strings.HasPrefix(p.Title, tc.wantTitle) || !strings.Contains(p.Title, number) || p.Body == "" {
				t.Errorf("payload title/body = %q / %q", p.Title, p.Body)
			}
			if p.Tag != "req-"+req.Id || got.Topic != "req-"+req.Id {
				t.Errorf("tag %q topic %q, want req-%s", p.Tag, got.Topic, req.Id)
			}
			if !strings.HasSuffix(p.URL, "/#/requests/"+req.Id) {
				t.Errorf("url %q", p.URL)
			}
			if got.Urgency != tc.wantUrgency {
				t.Errorf("Urgency %q, want %q", got.Urgency, tc.wantUrgency)
			}
			if want := int(push.DefaultTTL / time.Second); got.TTL > want || got.TTL < want-120 {
				t.Errorf("TTL %d, want about %d", got.TTL, want)
			}
			if got.BodyLen != push.RecordSize {
				t.Errorf("body of %d bytes, want the record size %d", got.BodyLen, push.RecordSize)
			}
			// no personal data: nothing of the citizen or the request's free text
			raw := p.Title + p.Body + p.URL
			for _, personal := range []string{w.CitizenA.Email(), w.CitizenA.GetString("name"), moved.GetString("address"), moved.GetString("description")} {
				if personal != "" && strings.Contains(raw, personal) {
					t.Errorf("payload contains personal data %q", personal)
				}
			}
			waitFor(t, 5*time.Second, "sent recorded", func() bool { return countState(t, w.App, push.StateSent) == 1 })
			fresh, err := w.App.FindRecordById(push.CollectionSubscriptions, sub.Id)
			if err != nil {
				t.Fatal(err)
			}
			if fresh.GetDateTime("last_success").IsZero() {
				t.Error("last_success not recorded")
			}
			if s := d.Stats(); s.Sent != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestDispatcherGenericPayload(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f, func(c *city.Config) { c.PushGeneric = true })
	req := w.NewRequest(t, w.CitizenA)
	dev, endpoint := f.newDevice()
	subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "sv")
	w.MoveTo(t, req, workflow.StatusResolved)
	startDispatcher(t, w.App, push.Options{Workers: 2})
	waitFor(t, 10*time.Second, "a delivery", func() bool { return len(f.deliveries()) >= 1 })
	p := f.deliveries()[0].Payload
	if p.Request != "" || p.Status != "" || p.Body != "Ditt ärende har uppdaterats." {
		t.Errorf("generic payload leaks details: %+v", p)
	}
}

func TestDispatcherDeletesGoneSubscription(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFakePush(t)
			w := newWorld(t, f)
			req := w.NewRequest(t, w.CitizenA)
			gone, goneURL := f.newDevice()
			alive, aliveURL := f.newDevice()
			goneSub := subscribe(t, w.App, w.CitizenA, goneURL, gone.keys(), "en")
			aliveSub := subscribe(t, w.App, w.CitizenA, aliveURL, alive.keys(), "en")
			f.respond = func(path string, n int) (int, http.Header) {
				if path == gone.path {
					return status, nil
				}
				return http.StatusCreated, nil
			}
			w.MoveTo(t, req, workflow.StatusInProgress)
			startDispatcher(t, w.App, push.Options{Workers: 2})

			waitFor(t, 10*time.Second, "the gone subscription deleted", func() bool {
				_, err := w.App.FindRecordById(push.CollectionSubscriptions, goneSub.Id)
				return err != nil
			})
			waitFor(t, 10*time.Second, "the other device served", func() bool { return countState(t, w.App, push.StateSent) == 1 })
			if _, err := w.App.FindRecordById(push.CollectionSubscriptions, aliveSub.Id); err != nil {
				t.Errorf("the live subscription was deleted: %v", err)
			}
			for _, r := range outbox(t, w.App) {
				if r.Subscription == goneSub.Id {
					t.Errorf("outbox row %s of the deleted subscription remains (%s)", r.ID, r.State)
				}
			}
			if n := f.hitCount(gone.path); n != 1 {
				t.Errorf("gone endpoint hit %d times, want 1", n)
			}
		})
	}
}

func TestDispatcherRetries(t *testing.T) {
	cases := []struct {
		name       string
		first      int
		retryAfter string
		minGap     time.Duration
	}{
		{"429 with Retry-After seconds", http.StatusTooManyRequests, "2", 2 * time.Second},
		{"503 with Retry-After date", http.StatusServiceUnavailable, "date", 1 * time.Second},
		{"500 without Retry-After backs off", http.StatusInternalServerError, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePush(t)
			w := newWorld(t, f)
			req := w.NewRequest(t, w.CitizenA)
			dev, endpoint := f.newDevice()
			subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
			f.respond = func(path string, n int) (int, http.Header) {
				if n > 1 {
					return http.StatusCreated, nil
				}
				h := http.Header{}
				switch tc.retryAfter {
				case "":
				case "date":
					h.Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
				default:
					h.Set("Retry-After", tc.retryAfter)
				}
				return tc.first, h
			}
			w.MoveTo(t, req, workflow.StatusInProgress)
			d := startDispatcher(t, w.App, push.Options{Workers: 2})
			waitFor(t, 15*time.Second, "the retried delivery", func() bool { return len(f.deliveries()) == 1 })
			times := f.hitTimes(dev.path)
			if len(times) != 2 {
				t.Fatalf("%d attempts, want 2", len(times))
			}
			if gap := times[1].Sub(times[0]); gap < tc.minGap {
				t.Errorf("retried after %v, before Retry-After %v", gap, tc.minGap)
			}
			waitFor(t, 5*time.Second, "sent recorded", func() bool { return countState(t, w.App, push.StateSent) == 1 })
			rows := outbox(t, w.App)
			if rows[0].Attempts != 2 {
				t.Errorf("attempts %d, want 2", rows[0].Attempts)
			}
			if s := d.Stats(); s.Retried != 1 || s.Sent != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestDispatcherNeverSendsPastTTL(t *testing.T) {
	base := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(offset.Load())) }

	t.Run("retry would land after the TTL", func(t *testing.T) {
		f := newFakePush(t)
		w := newWorld(t, f)
		req := w.NewRequest(t, w.CitizenA)
		dev, endpoint := f.newDevice()
		subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
		f.respond = func(string, int) (int, http.Header) {
			return http.StatusTooManyRequests, http.Header{"Retry-After": []string{"120"}}
		}
		enqueue(t, w.App, w.CitizenA.Id, req, clock(), time.Minute)
		startDispatcher(t, w.App, push.Options{Workers: 1, Now: clock})
		waitFor(t, 10*time.Second, "the row expired", func() bool { return countState(t, w.App, push.StateExpired) == 1 })
		if n := f.hitCount(dev.path); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})

	t.Run("row already past its TTL is never sent", func(t *testing.T) {
		f := newFakePush(t)
		w := newWorld(t, f)
		req := w.NewRequest(t, w.CitizenA)
		dev, endpoint := f.newDevice()
		subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
		enqueue(t, w.App, w.CitizenA.Id, req, clock(), time.Hour)
		offset.Store(int64(2 * time.Hour)) // the server was down for two hours
		startDispatcher(t, w.App, push.Options{Workers: 1, Now: clock})
		waitFor(t, 10*time.Second, "the row expired", func() bool { return countState(t, w.App, push.StateExpired) == 1 })
		if n := f.hitCount(dev.path); n != 0 {
			t.Errorf("expired message was sent %d times", n)
		}
	})

	t.Run("TTL header is what is left", func(t *testing.T) {
		offset.Store(0)
		f := newFakePush(t)
		w := newWorld(t, f)
		req := w.NewRequest(t, w.CitizenA)
		dev, endpoint := f.newDevice()
		subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
		enqueue(t, w.App, w.CitizenA.Id, req, clock(), time.Hour)
		offset.Store(int64(40 * time.Minute))
		startDispatcher(t, w.App, push.Options{Workers: 1, Now: clock})
		waitFor(t, 10*time.Second, "the delivery", func() bool { return len(f.deliveries()) == 1 })
		// the remaining 20 minutes, rounded down (never past the expiry)
		if ttl := f.deliveries()[0].TTL; ttl > 20*60 || ttl < 20*60-1 {
			t.Errorf("TTL %d, want the remaining %d", ttl, 20*60)
		}
	})
}

func TestDispatcherPermanentFailures(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusForbidden, http.StatusTemporaryRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFakePush(t)
			elsewhere := newFakePush(t) // a redirect target that must never be reached
			w := newWorld(t, f)
			req := w.NewRequest(t, w.CitizenA)
			dev, endpoint := f.newDevice()
			sub := subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
			f.respond = func(string, int) (int, http.Header) {
				return status, http.Header{"Location": []string{elsewhere.srv.URL + "/steal"}}
			}
			w.MoveTo(t, req, workflow.StatusInProgress)
			startDispatcher(t, w.App, push.Options{Workers: 1})
			waitFor(t, 10*time.Second, "the row failed", func() bool { return countState(t, w.App, push.StateFailed) == 1 })
			if n := f.hitCount(dev.path); n != 1 {
				t.Errorf("%d attempts, want 1 (no retry)", n)
			}
			if n := elsewhere.hitCount("/steal"); n != 0 {
				t.Errorf("redirect followed %d times", n)
			}
			fresh, err := w.App.FindRecordById(push.CollectionSubscriptions, sub.Id)
			if err != nil {
				t.Fatalf("subscription deleted on %d: %v", status, err)
			}
			if fresh.GetInt("failures") != 1 {
				t.Errorf("failures %d, want 1", fresh.GetInt("failures"))
			}
			if rows := outbox(t, w.App); rows[0].LastStatus != status {
				t.Errorf("last_status %d, want %d", rows[0].LastStatus, status)
			}
		})
	}
}

// burst queues messages for every (device, request) pair, one transaction per request.
func burst(t *testing.T, w *testkit.World, f *fakePush, devices, requests int) (map[string]bool, []*core.Record) {
	t.Helper()
	var reqs []*core.Record
	for i := 0; i < requests; i++ {
		reqs = append(reqs, w.NewRequest(t, w.CitizenA))
	}
	paths := map[string]bool{}
	for i := 0; i < devices; i++ {
		dev, endpoint := f.newDevice()
		subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
		paths[dev.path] = true
	}
	for _, r := range reqs {
		w.MoveTo(t, r, workflow.StatusInProgress)
	}
	return paths, reqs
}

// deliveredOnce checks every (device, request) pair was delivered, and returns the duplicates.
func deliveredOnce(t *testing.T, f *fakePush, paths map[string]bool, reqs []*core.Record) int {
	t.Helper()
	seen := map[string]int{}
	for _, d := range f.deliveries() {
		seen[d.Path+" "+d.Payload.Tag]++
	}
	dups := 0
	for p := range paths {
		for _, r := range reqs {
			n := seen[p+" req-"+r.Id]
			if n == 0 {
				t.Errorf("%s never got request %s", p, r.Id)
			}
			if n > 1 {
				dups += n - 1
			}
		}
	}
	return dups
}

func TestDispatcherRestartMidBurstDeliversExactlyOnce(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	const devices, requests = 10, 20
	paths, reqs := burst(t, w, f, devices, requests)
	f.respond = func(string, int) (int, http.Header) {
		time.Sleep(3 * time.Millisecond) // a push service a little slower than the server
		return http.StatusCreated, nil
	}

	first, err := push.NewDispatcher(w.App, push.Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "part of the burst", func() bool { return len(f.deliveries()) >= 30 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	before := len(f.deliveries())
	if before >= devices*requests {
		t.Fatalf("the burst finished before the restart (%d)", before)
	}
	if n := countState(t, w.App, push.StateSending); n != 0 {
		t.Errorf("%d rows left sending after a clean stop", n)
	}

	startDispatcher(t, w.App, push.Options{Workers: 4})
	waitFor(t, 30*time.Second, "the whole burst", func() bool { return countState(t, w.App, push.StateSent) == devices*requests })
	if dups := deliveredOnce(t, f, paths, reqs); dups != 0 {
		t.Errorf("%d duplicate deliveries after a restart", dups)
	}
	if got := len(f.deliveries()); got != devices*requests {
		t.Errorf("%d deliveries, want %d", got, devices*requests)
	}
}

func TestDispatcherCrashMidBurstLosesNothing(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	const devices, requests, workers = 5, 20, 4
	paths, reqs := burst(t, w, f, devices, requests)
	f.respond = func(string, int) (int, http.Header) {
		time.Sleep(5 * time.Millisecond)
		return http.StatusCreated, nil
	}
	first, err := push.NewDispatcher(w.App, push.Options{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "part of the burst", func() bool { return len(f.deliveries()) >= 20 })
	// a crash: the POSTs in flight are abandoned, their results never written
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = first.Stop(ctx)

	startDispatcher(t, w.App, push.Options{Workers: workers})
	waitFor(t, 30*time.Second, "the whole burst", func() bool { return countState(t, w.App, push.StateSent) == devices*requests })
	// only rows whose POST was in flight at the crash may arrive twice (Topic and tag collapse them)
	if dups := deliveredOnce(t, f, paths, reqs); dups > workers {
		t.Errorf("%d duplicates, more than the %d POSTs that can be in flight", dups, workers)
	}
	t.Logf("%d duplicates after the crash", deliveredOnce(t, f, paths, reqs))
}

func TestStartRequeuesRowsOfADeadProcess(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	req := w.NewRequest(t, w.CitizenA)
	dev, endpoint := f.newDevice()
	subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
	w.MoveTo(t, req, workflow.StatusInProgress)
	// the state a SIGKILL leaves behind: claimed, lease still running, no result
	if _, err := w.App.DB().NewQuery("UPDATE push_outbox SET state = 'sending', lease_until = '2999-01-01 00:00:00.000Z'").Execute(); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, w.App, push.Options{Workers: 1})
	waitFor(t, 10*time.Second, "the orphan delivered", func() bool { return countState(t, w.App, push.StateSent) == 1 })
	if n := len(f.deliveries()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

// Register runs a dispatcher while the app serves: a clerk's change is
// delivered with no test-made dispatcher, and terminate stops it.
func TestRegisteredDispatcherFollowsServe(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	if push.Of(w.App) != nil {
		t.Fatal("a dispatcher runs before serve")
	}
	w.Handler(t) // triggers OnServe, as `civicdesk serve` does
	if push.Of(w.App) == nil {
		t.Fatal("no dispatcher after serve")
	}
	req := w.NewRequest(t, w.CitizenA)
	dev, endpoint := f.newDevice()
	subscribe(t, w.App, w.CitizenA, endpoint, dev.keys(), "en")
	w.MoveTo(t, req, workflow.StatusInProgress)
	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(f.deliveries()) == 1 })
	if err := w.App.OnTerminate().Trigger(&core.TerminateEvent{App: w.App}); err != nil {
		t.Fatal(err)
	}
	if push.Of(w.App) != nil {
		t.Error("the dispatcher still runs after terminate")
	}
}

// A 429 with Retry-After pauses the whole push service host, not just one message.
func TestDispatcherPausesAHostAfter429(t *testing.T) {
	f := newFakePush(t)
	w := newWorld(t, f)
	req := w.NewRequest(t, w.CitizenA)
	first, firstURL := f.newDevice()
	second, secondURL := f.newDevice()
	subscribe(t, w.App, w.CitizenA, firstURL, first.keys(), "en")
	subscribe(t, w.App, w.CitizenA, secondURL, second.keys(), "en")
	var limited atomic.Bool
	f.respond = func(path string, n int) (int, http.Header) {
		if limited.CompareAndSwap(false, true) {
			return http.StatusTooManyRequests, http.Header{"Retry-After": []string{"2"}}
		}
		return http.StatusCreated, nil
	}
	w.MoveTo(t, req, workflow.StatusInProgress)
	startDispatcher(t, w.App, push.Options{Workers: 1})
	waitFor(t, 15*time.Second, "both deliveries", func() bool { return len(f.deliveries()) == 2 })

	var hits []time.Time
	hits = append(hits, f.hitTimes(first.path)...)
	hits = append(hits, f.hitTimes(second.path)...)
	if len(hits) != 3 {
		t.Fatalf("%d POSTs, want 3 (one 429, two deliveries)", len(hits))
	}
	earliest := hits[0]
	for _, h := range hits {
		if h.Before(earliest) {
			earliest = h
		}
	}
	// the 429 was the earliest POST; both later ones waited for the pause
	for _, h := range hits {
		if h != earliest && h.Sub(earliest) < 2*time.Second {
			t.Errorf("a POST %v after the 429, before its Retry-After", h.Sub(earliest))
		}
	}
}

func TestStopWithoutStartReturns(t *testing.T) {
	w := newWorld(t, nil)
	d, err := push.NewDispatcher(w.App, push.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop of a dispatcher never started: %v", err)
	}
}
