package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Dispatcher defaults.
const (
	DefaultWorkers     = 32
	DefaultBackoffBase = 5 * time.Second
	DefaultBackoffMax  = 10 * time.Minute
	// leaseDuration bounds how long a claimed row may stay "sending": far longer
	// than requestTimeout, so only rows of a dead process ever outlive it.
	leaseDuration = 5 * time.Minute
	idlePoll      = 5 * time.Second
	maxFlush      = 256
)

// Options configures a Dispatcher. Zero values take the defaults.
type Options struct {
	// Workers is the number of concurrent POSTs; as many more claimed rows may
	// wait in the queue (claimed, not yet POSTed).
	Workers int
	// Now is the clock (tests inject one).
	Now func() time.Time
	// Sender sends one push; nil builds one from the app's keys and city config.
	Sender *Sender
	// BackoffBase and BackoffMax shape the retry delay: base·2^attempt with
	// jitter, capped, and never earlier than the push service's Retry-After.
	BackoffBase, BackoffMax time.Duration
	// Jitter returns a number in [0, 1) (tests make it deterministic).
	Jitter func() float64
}

// Stats counts a dispatcher's outcomes since Start.
type Stats struct {
	Sent, Retried, Failed, Gone, Expired int64
	// Transactions counts the outbox transactions (one fsync each); Claims and
	// Flushes those that claimed rows and wrote results (often the same one).
	Transactions, Claims, Flushes int64
}

// Dispatcher drains the outbox with a bounded pool of workers.
//
// A row's life: pending → claimed ("sending", committed) → POST → result
// committed: sent, pending again with a later next_at (429/5xx), failed,
// expired, or deleted with its subscription (404/410). One goroutine owns the
// database side: each of its transactions writes the results that arrived
// while the previous one ran and claims rows to refill the queue (a group
// commit: one fsync for both). Workers only take claimed rows from the queue,
// encrypt and POST, so a slow fsync never idles them. A row is claimed before
// its POST, so no two workers send it; a row recorded as sent is never sent again.
type Dispatcher struct {
	app    core.App
	opts   Options
	sender *Sender

	poke    chan struct{}
	queue   chan job // claimed rows for the workers (at most Workers waiting)
	results chan result
	stop    chan struct{}
	done    chan struct{}

	sendCtx    context.Context
	cancelSend context.CancelFunc

	startOnce, stopOnce sync.Once
	started             atomic.Bool

	// paused holds, per push service host, the time before which it asked
	// (429 with Retry-After) not to be contacted: one 429 pauses that host's
	// other messages too, instead of each one hitting it and being told again.
	paused sync.Map // host -> time.Time

	sent, retried, failed, gone, expired atomic.Int64
	transactions, claims, flushes        atomic.Int64
}

type job struct {
	ID           string `db:"id"`
	Subscription string `db:"subscription"`
	Payload      string `db:"payload"`
	Topic        string `db:"topic"`
	Urgency      string `db:"urgency"`
	Attempts     int    `db:"attempts"`
	ExpiresAt    string `db:"expires_at"`

	endpoint string
	keys     webpush.Keys
}

type outcome int

const (
	outcomeSent outcome = iota
	outcomeRetry
	outcomeFailed
	outcomeGone
	outcomeExpired
)

type result struct {
	job       job
	outcome   outcome
	attempted bool // a POST was made (an expired row may have none)
	status    int
	detail    string
	nextAt    time.Time
	at        time.Time
}

// NewDispatcher returns a stopped dispatcher for app.
func NewDispatcher(app core.App, opts Options) (*Dispatcher, error) {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	sender := opts.Sender
	if sender == nil {
		var err error
		if sender, err = NewSender(app, opts.Workers); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{
		app: app, opts: opts, sender: sender,
		poke:    make(chan struct{}, 1),
		queue:   make(chan job, opts.Workers),
		results: make(chan result, 4*opts.Workers),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		sendCtx: ctx, cancelSend: cancel,
	}, nil
}

// Start requeues rows a previous process left "sending" and starts the pool.
//
// Such rows were claimed but their result never committed: the process died
// between the claim and the result, so whether the push service got them is
// unknown. They are sent again (at least once); their Topic makes the push
// service replace an undelivered copy and their tag makes the device replace
// a shown one, so a citizen sees one notification.
func (d *Dispatcher) Start() error {
	var err error
	d.startOnce.Do(func() {
		now := d.opts.Now()
		_, err = d.app.DB().NewQuery("UPDATE {{push_outbox}} SET [[state]] = {:pending}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[state]] = {:sending}").
			Bind(dbx.Params{"pending": StatePending, "sending": StateSending, "now": dbTime(now)}).Execute()
		if err != nil {
			err = fmt.Errorf("requeue orphaned pushes: %w", err)
			return
		}
		for i := 0; i < d.opts.Workers; i++ {
			go d.worker()
		}
		d.started.Store(true)
		go d.loop()
	})
	return err
}

// worker encrypts and POSTs claimed rows until the queue closes.
func (d *Dispatcher) worker() {
	for j := range d.queue {
		d.results <- d.deliver(j)
	}
}

// Stop stops claiming, waits for the POSTs in flight and writes their results.
// When ctx ends first, the POSTs in flight are cancelled; their rows are
// written back as pending (a cancelled POST may still have been delivered:
// such a row can arrive twice, which Topic and tag collapse).
func (d *Dispatcher) Stop(ctx context.Context) error {
	if !d.started.Load() {
		return nil
	}
	d.stopOnce.Do(func() { close(d.stop) })
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		d.cancelSend()
		<-d.done
		return ctx.Err()
	}
}

// Poke tells the dispatcher that new rows may be due (non-blocking).
func (d *Dispatcher) Poke() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// Stats returns the outcome counters.
func (d *Dispatcher) Stats() Stats {
	return Stats{
		Sent: d.sent.Load(), Retried: d.retried.Load(), Failed: d.failed.Load(), Gone: d.gone.Load(), Expired: d.expired.Load(),
		Transactions: d.transactions.Load(), Claims: d.claims.Load(), Flushes: d.flushes.Load(),
	}
}

func (d *Dispatcher) loop() {
	defer close(d.done)
	defer close(d.queue) // the workers exit once they finish their row
	workers := d.opts.Workers
	// claim in batches: each transaction is one fsync
	minBatch := max(1, workers/2)
	outstanding := 0 // claimed rows whose result has not come back (queued or in flight)
	var batch []result
	stopping := false
	due := true // something may be due: try a claim
	var nextDue time.Time
	stop := d.stop             // set to nil once stopping: a nil channel never fires
	var blockedUntil time.Time // after a failed transaction
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()

	take := func(r result) {
		outstanding--
		batch = append(batch, r)
	}
	for {
		// take every result that is ready: they commit together
	more:
		for len(batch) < maxFlush {
			select {
			case r := <-d.results:
				take(r)
			default:
				break more
			}
		}
		// on stop, rows still queued go back to pending: they were never POSTed
		var unclaim []job
		if stopping {
		drain:
			for {
				select {
				case j := <-d.queue:
					unclaim = append(unclaim, j)
				default:
					break drain
				}
			}
		}
		ready := !time.Now().Before(blockedUntil)
		room := cap(d.queue) - len(d.queue)
		claimNow := ready && !stopping && due && room >= minBatch
		if ready && (claimNow || len(batch) > 0 || len(unclaim) > 0) {
			n := 0
			if claimNow {
				n = room
			}
			jobs, next, err := d.commit(batch, unclaim, n)
			if err != nil {
				failures++
				d.app.Logger().Error("push: outbox transaction", "error", err.Error(), "results", len(batch))
				for _, j := range unclaim {
					d.queue <- j // still claimed: send them rather than lose track (room is there)
				}
				if stopping && failures >= 5 {
					// give up: the rows stay "sending" and the next Start requeues them
					return
				}
				// the results stay in memory and are written with the next transaction
				blockedUntil = time.Now().Add(time.Duration(failures) * 200 * time.Millisecond)
			} else {
				failures = 0
				outstanding -= len(unclaim)
				if claimNow {
					outstanding += len(jobs)
					for _, j := range jobs {
						d.queue <- j // never blocks: only this goroutine fills the queue, within its room
					}
					// fewer rows than room: nothing else is due until next (or a poke)
					due = len(jobs) == n
					nextDue = next
				}
				d.settled(batch)
				for _, r := range batch {
					// a retry written just now falls due at its nextAt
					if r.outcome == outcomeRetry && (nextDue.IsZero() || r.nextAt.Before(nextDue)) {
						nextDue = r.nextAt
					}
				}
				batch = nil
			}
		}
		if stopping && outstanding == 0 && len(batch) == 0 {
			return
		}

		wait := idlePoll
		if !due && !nextDue.IsZero() {
			wait = min(wait, max(nextDue.Sub(d.opts.Now()), time.Millisecond))
		}
		if !ready {
			wait = max(time.Until(blockedUntil), time.Millisecond)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case r := <-d.results:
			take(r)
		case <-d.poke:
			due = true
		case <-timer.C:
			if nextDue.IsZero() || !d.opts.Now().Before(nextDue) {
				due = true // the next row fell due, or an idle poll
			}
		case <-stop:
			stopping = true
			stop = nil
		}
	}
}

// commit writes results, returns unclaimed rows to pending and claims up to n
// due rows, in one transaction.
func (d *Dispatcher) commit(results []result, unclaim []job, n int) ([]job, time.Time, error) {
	var jobs []job
	var next time.Time
	err := d.app.RunInTransaction(func(tx core.App) error {
		if len(results) > 0 {
			if err := applyResults(tx, results); err != nil {
				return err
			}
		}
		for _, j := range unclaim {
			if _, err := tx.DB().NewQuery("UPDATE {{push_outbox}} SET [[state]] = {:pending}, [[lease_until]] = '' WHERE [[id]] = {:id} AND [[state]] = {:sending}").
				Bind(dbx.Params{"pending": StatePending, "sending": StateSending, "id": j.ID}).Execute(); err != nil {
				return fmt.Errorf("unclaim %s: %w", j.ID, err)
			}
		}
		if n > 0 {
			var err error
			if jobs, next, err = d.claim(tx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	d.transactions.Add(1)
	if len(results) > 0 {
		d.flushes.Add(1)
	}
	if n > 0 {
		d.claims.Add(1)
	}
	return jobs, next, nil
}

// claim marks up to n due rows "sending" (inside tx) and returns them with
// their subscriptions, and when fewer were due, when the next pending row falls due.
func (d *Dispatcher) claim(tx core.App, n int) ([]job, time.Time, error) {
	now := d.opts.Now()
	ts := dbTime(now)
	var jobs []job
	// expired rows are claimed like the others and settled by deliver without a
	// POST: filtering them here would scan every pending row on each claim
	if err := tx.DB().NewQuery(`UPDATE {{push_outbox}} SET [[state]] = {:sending}, [[lease_until]] = {:lease}, [[updated]] = {:now}
		WHERE [[id]] IN (SELECT [[id]] FROM {{push_outbox}} WHERE [[state]] = {:pending} AND [[next_at]] <= {:now} ORDER BY [[next_at]] LIMIT {:n})
		RETURNING [[id]], [[subscription]], [[payload]], [[topic]], [[urgency]], [[attempts]], [[expires_at]]`).
		Bind(dbx.Params{"sending": StateSending, "pending": StatePending, "lease": dbTime(now.Add(leaseDuration)), "now": ts, "n": n}).
		All(&jobs); err != nil {
		return nil, time.Time{}, fmt.Errorf("claim: %w", err)
	}
	var next time.Time
	if len(jobs) < n {
		var s string
		if err := tx.DB().NewQuery("SELECT COALESCE(MIN([[next_at]]), '') FROM {{push_outbox}} WHERE [[state]] = {:pending}").
			Bind(dbx.Params{"pending": StatePending}).Row(&s); err != nil {
			return nil, time.Time{}, fmt.Errorf("next due: %w", err)
		}
		next, _ = time.Parse(types.DefaultDateLayout, s)
	}
	if len(jobs) == 0 {
		return nil, next, nil
	}
	ids := make([]any, 0, len(jobs))
	for _, j := range jobs {
		ids = append(ids, j.Subscription)
	}
	var subs []struct {
		ID       string `db:"id"`
		Endpoint string `db:"endpoint"`
		Keys     string `db:"keys"`
	}
	if err := tx.DB().Select("id", "endpoint", "keys").From(CollectionSubscriptions).Where(dbx.In("id", ids...)).All(&subs); err != nil {
		return nil, time.Time{}, fmt.Errorf("load subscriptions: %w", err)
	}
	byID := make(map[string]int, len(subs))
	for i, s := range subs {
		byID[s.ID] = i
	}
	for i := range jobs {
		if k, ok := byID[jobs[i].Subscription]; ok {
			jobs[i].endpoint = subs[k].Endpoint
			_ = json.Unmarshal([]byte(subs[k].Keys), &jobs[i].keys)
		}
	}
	return jobs, next, nil
}

// deliver sends one claimed row and decides its fate (never touching the database).
func (d *Dispatcher) deliver(j job) result {
	now := d.opts.Now()
	r := result{job: j, at: now}
	expires, err := time.Parse(types.DefaultDateLayout, j.ExpiresAt)
	if err != nil || !expires.After(now) {
		r.outcome = outcomeExpired
		return r
	}
	if j.endpoint == "" {
		r.outcome, r.detail = outcomeFailed, "subscription has no endpoint"
		return r
	}
	ttl := int(expires.Sub(now) / time.Second) // what is left of the TTL, never more
	if ttl < 1 {
		ttl = 1
	}
	host := Host(j.endpoint)
	if v, ok := d.paused.Load(host); ok {
		if until := v.(time.Time); now.Before(until) {
			// not contacted: no attempt counted, due again when the pause ends
			r.nextAt = until.Add(time.Duration(d.opts.Jitter() * float64(time.Second)))
			r.outcome = outcomeRetry
			if !r.nextAt.Before(expires) {
				r.outcome = outcomeExpired
			}
			return r
		}
	}
	r.attempted = true
	del := d.sender.Send(d.sendCtx, webpush.Subscription{Endpoint: j.endpoint, Keys: j.keys}, []byte(j.Payload), j.Topic, j.Urgency, ttl, now)
	r.status, r.detail = del.Status, del.Detail
	switch {
	case del.Err != nil && errors.Is(del.Err, ErrEndpointRefused):
		r.outcome = outcomeFailed
	case del.Err != nil && errors.Is(del.Err, ErrRedirect):
		r.outcome = outcomeFailed
	case del.Err != nil && del.Status == 0 && isPermanentSendError(del.Err):
		r.outcome = outcomeFailed
	case del.Status >= 200 && del.Status < 300:
		r.outcome = outcomeSent
	case del.Status == 404 || del.Status == 410:
		r.outcome = outcomeGone
	case del.Status == 429 || del.Status >= 500 || (del.Err != nil && del.Status == 0):
		delay := d.backoff(j.Attempts)
		if del.RetryAfter > delay {
			delay = del.RetryAfter
		}
		if del.Status == http.StatusTooManyRequests && del.RetryAfter > 0 {
			d.paused.Store(host, now.Add(del.RetryAfter))
		}
		r.nextAt = d.opts.Now().Add(delay)
		if !r.nextAt.Before(expires) {
			r.outcome = outcomeExpired // a retry would arrive after the TTL: drop it
		} else {
			r.outcome = outcomeRetry
		}
	default: // 400, 401, 403, 413 and other refusals: retrying would not help
		r.outcome = outcomeFailed
	}
	return r
}

// isPermanentSendError reports errors that happen before any network I/O (bad subscription keys).
func isPermanentSendError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Unmarshal Error") || strings.Contains(msg, "illegal base64") || errors.Is(err, webpush.ErrMaxPadExceeded)
}

// backoff returns base·2^attempt, capped, with "equal jitter" (half fixed, half random).
func (d *Dispatcher) backoff(attempt int) time.Duration {
	exp := d.opts.BackoffBase
	for i := 0; i < attempt && exp < d.opts.BackoffMax; i++ {
		exp *= 2
	}
	exp = min(exp, d.opts.BackoffMax)
	return exp/2 + time.Duration(d.opts.Jitter()*float64(exp/2))
}

// settled counts and logs results once they are committed.
func (d *Dispatcher) settled(batch []result) {
	for _, r := range batch {
		d.count(r)
	}
}

func (d *Dispatcher) count(r result) {
	log := d.app.Logger()
	host := Host(r.job.endpoint)
	switch r.outcome {
	case outcomeSent:
		d.sent.Add(1)
	case outcomeRetry:
		d.retried.Add(1)
		log.Debug("push: delivery will be retried", "outbox", r.job.ID, "host", host, "status", r.status, "nextAt", r.nextAt.UTC().Format(time.RFC3339))
	case outcomeGone:
		d.gone.Add(1)
		log.Info("push: subscription gone, deleted", "subscription", r.job.Subscription, "host", host, "status", r.status)
	case outcomeExpired:
		d.expired.Add(1)
		log.Info("push: message expired before delivery", "outbox", r.job.ID, "host", host, "status", r.status)
	case outcomeFailed:
		d.failed.Add(1)
		log.Warn("push: delivery failed", "outbox", r.job.ID, "host", host, "status", r.status, "detail", r.detail)
	}
}

// applyResults writes one group of results (inside tx).
func applyResults(tx core.App, batch []result) error {
	// the common case, sent, is one statement per answer status for the whole batch
	sentIDs := map[int][]any{}     // status -> outbox ids
	var sentAt string              // the batch's last answer time
	delivered := map[string]bool{} // subscriptions with a success
	fails := map[string]int{}      // subscription -> permanent failures
	gone := map[string]bool{}      // subscriptions to delete
	for _, r := range batch {
		at := dbTime(r.at)
		p := dbx.Params{"id": r.job.ID, "sending": StateSending, "now": at, "status": r.status, "err": truncate(r.detail, 480)}
		var q string
		switch r.outcome {
		case outcomeSent:
			sentIDs[r.status] = append(sentIDs[r.status], r.job.ID)
			sentAt = max(sentAt, at)
			delivered[r.job.Subscription] = true
			continue
		case outcomeRetry:
			q = "UPDATE {{push_outbox}} SET [[state]] = 'pending', [[next_at]] = {:next}, [[attempts]] = [[attempts]] + {:tried}, [[last_status]] = {:status}, [[last_error]] = {:err}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[id]] = {:id} AND [[state]] = {:sending}"
			p["next"] = dbTime(r.nextAt)
			p["tried"] = 1
			if !r.attempted { // deferred by a paused host: keep the last answer
				q = "UPDATE {{push_outbox}} SET [[state]] = 'pending', [[next_at]] = {:next}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[id]] = {:id} AND [[state]] = {:sending}"
			}
		case outcomeExpired:
			q = "UPDATE {{push_outbox}} SET [[state]] = 'expired', [[attempts]] = [[attempts]] + {:tried}, [[last_status]] = {:status}, [[last_error]] = {:err}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[id]] = {:id} AND [[state]] = {:sending}"
			p["tried"] = 0
			if r.attempted {
				p["tried"] = 1
			}
		case outcomeFailed:
			q = "UPDATE {{push_outbox}} SET [[state]] = 'failed', [[attempts]] = [[attempts]] + 1, [[last_status]] = {:status}, [[last_error]] = {:err}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[id]] = {:id} AND [[state]] = {:sending}"
			fails[r.job.Subscription]++
		case outcomeGone:
			gone[r.job.Subscription] = true
			continue
		}
		if _, err := tx.DB().NewQuery(q).Bind(p).Execute(); err != nil {
			return fmt.Errorf("update outbox row %s: %w", r.job.ID, err)
		}
	}
	for status, ids := range sentIDs {
		if _, err := tx.DB().Update(CollectionOutbox, dbx.Params{
			"state": StateSent, "sent_at": sentAt, "attempts": dbx.NewExp("[[attempts]] + 1"), "last_status": status,
			"last_error": "", "lease_until": "", "updated": sentAt,
		}, dbx.And(dbx.In("id", ids...), dbx.HashExp{"state": StateSending})).Execute(); err != nil {
			return fmt.Errorf("record sent pushes: %w", err)
		}
	}
	if len(delivered) > 0 {
		subs := make([]any, 0, len(delivered))
		for sub := range delivered {
			if !gone[sub] {
				subs = append(subs, sub)
			}
		}
		if _, err := tx.DB().Update(CollectionSubscriptions, dbx.Params{"last_success": sentAt, "failures": 0}, dbx.In("id", subs...)).Execute(); err != nil {
			return fmt.Errorf("record subscription successes: %w", err)
		}
	}
	for sub, n := range fails {
		if gone[sub] {
			continue
		}
		if _, err := tx.DB().NewQuery("UPDATE {{push_subscriptions}} SET [[failures]] = [[failures]] + {:n} WHERE [[id]] = {:id}").
			Bind(dbx.Params{"n": n, "id": sub}).Execute(); err != nil {
			return fmt.Errorf("update subscription %s: %w", sub, err)
		}
	}
	for sub := range gone {
		rec, err := tx.FindRecordById(CollectionSubscriptions, sub)
		if err != nil {
			continue // already deleted (the citizen unsubscribed meanwhile)
		}
		// a record delete: its outbox rows go with it (cascade) and hooks see it
		if err := tx.Delete(rec); err != nil {
			return fmt.Errorf("delete gone subscription %s: %w", sub, err)
		}
	}
	return nil
}
