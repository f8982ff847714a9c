package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
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
	// Workers bounds the concurrent POSTs.
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
}

// Dispatcher drains the outbox with a bounded pool of workers.
//
// A row's life: pending → (claimed in a committed transaction) sending → POST →
// result committed: sent, pending again with a later next_at (429/5xx), failed,
// expired, or deleted with its subscription (404/410). Results are written by
// one goroutine in group commits. A row is claimed before its POST, so two
// workers never send it; a row recorded as sent is never sent again.
type Dispatcher struct {
	app    core.App
	opts   Options
	sender *Sender

	poke    chan struct{}
	freed   chan struct{}
	results chan result
	stop    chan struct{}

	sendCtx    context.Context
	cancelSend context.CancelFunc

	inflight   sync.WaitGroup
	loopDone   chan struct{}
	writerDone chan struct{}

	startOnce, stopOnce sync.Once

	sent, retried, failed, gone, expired atomic.Int64
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
	job     job
	outcome outcome
	status  int
	detail  string
	nextAt  time.Time
	at      time.Time
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
		freed:   make(chan struct{}, 1),
		results: make(chan result, opts.Workers),
		stop:    make(chan struct{}),
		sendCtx: ctx, cancelSend: cancel,
		loopDone:   make(chan struct{}),
		writerDone: make(chan struct{}),
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
		go d.writer()
		go d.loop()
	})
	return err
}

// Stop stops claiming, waits for the POSTs in flight and writes their results.
// When ctx ends first, the POSTs are cancelled (their rows stay "sending" and
// are requeued by the next Start).
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() { close(d.stop) })
	select {
	case <-d.loopDone:
	case <-ctx.Done():
		d.cancelSend()
	}
	select {
	case <-d.writerDone:
		return nil
	case <-ctx.Done():
		d.cancelSend()
		<-d.writerDone
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
	return Stats{Sent: d.sent.Load(), Retried: d.retried.Load(), Failed: d.failed.Load(), Gone: d.gone.Load(), Expired: d.expired.Load()}
}

func (d *Dispatcher) loop() {
	defer func() {
		d.inflight.Wait()
		close(d.results)
		close(d.loopDone)
	}()
	workers := d.opts.Workers
	sem := make(chan struct{}, workers)
	// claim in batches: each claim is a committed (fsynced) transaction
	minBatch := max(1, workers/4)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		wait := idlePoll
		free := workers - len(sem)
		if free >= minBatch || (free > 0 && len(sem) == 0) {
			jobs, nextDue, err := d.claim(free)
			if err != nil {
				d.app.Logger().Error("push: claim outbox rows", "error", err.Error())
				wait = time.Second
			} else {
				for _, j := range jobs {
					sem <- struct{}{}
					d.inflight.Add(1)
					go func(j job) {
						defer func() {
							<-sem
							d.inflight.Done()
							select {
							case d.freed <- struct{}{}:
							default:
							}
						}()
						d.results <- d.deliver(j)
					}(j)
				}
				if len(jobs) == free {
					continue // maybe more are due: claim again once slots free up
				}
				if !nextDue.IsZero() {
					wait = min(wait, max(nextDue.Sub(d.opts.Now()), 10*time.Millisecond))
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-d.stop:
			return
		case <-d.poke:
		case <-d.freed:
		case <-timer.C:
		}
	}
}

// claim expires overdue rows and marks up to n due rows "sending" in one
// transaction, returning them with their subscriptions, and when nothing more
// is due, the time the next pending row falls due.
func (d *Dispatcher) claim(n int) ([]job, time.Time, error) {
	now := d.opts.Now()
	ts := dbTime(now)
	var jobs []job
	err := d.app.RunInTransaction(func(tx core.App) error {
		if _, err := tx.DB().NewQuery("UPDATE {{push_outbox}} SET [[state]] = {:expired}, [[updated]] = {:now} WHERE [[state]] = {:pending} AND [[expires_at]] <= {:now}").
			Bind(dbx.Params{"expired": StateExpired, "pending": StatePending, "now": ts}).Execute(); err != nil {
			return err
		}
		if err := tx.DB().NewQuery(`UPDATE {{push_outbox}} SET [[state]] = {:sending}, [[lease_until]] = {:lease}, [[updated]] = {:now}
			WHERE [[id]] IN (SELECT [[id]] FROM {{push_outbox}} WHERE [[state]] = {:pending} AND [[next_at]] <= {:now} ORDER BY [[next_at]] LIMIT {:n})
			RETURNING [[id]], [[subscription]], [[payload]], [[topic]], [[urgency]], [[attempts]], [[expires_at]]`).
			Bind(dbx.Params{"sending": StateSending, "pending": StatePending, "lease": dbTime(now.Add(leaseDuration)), "now": ts, "n": n}).
			All(&jobs); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim: %w", err)
	}
	if len(jobs) == 0 {
		var next string
		_ = d.app.DB().NewQuery("SELECT COALESCE(MIN([[next_at]]), '') FROM {{push_outbox}} WHERE [[state]] = {:pending}").
			Bind(dbx.Params{"pending": StatePending}).Row(&next)
		if t, err := time.Parse("2006-01-02 15:04:05.000Z", next); err == nil {
			return nil, t, nil
		}
		return nil, time.Time{}, nil
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
	if err := d.app.DB().Select("id", "endpoint", "keys").From(CollectionSubscriptions).Where(dbx.In("id", ids...)).All(&subs); err != nil {
		// the rows stay claimed; Start or the sweeper requeues them
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
	return jobs, time.Time{}, nil
}

// deliver sends one claimed row and decides its fate (never touching the database).
func (d *Dispatcher) deliver(j job) result {
	now := d.opts.Now()
	r := result{job: j, at: now}
	expires, err := time.Parse("2006-01-02 15:04:05.000Z", j.ExpiresAt)
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

// writer commits results in groups: one transaction for whatever has arrived.
func (d *Dispatcher) writer() {
	defer close(d.writerDone)
	for {
		first, ok := <-d.results
		if !ok {
			return
		}
		batch := []result{first}
	drain:
		for len(batch) < maxFlush {
			select {
			case r, ok := <-d.results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		d.flush(batch)
	}
}

func (d *Dispatcher) flush(batch []result) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = d.app.RunInTransaction(func(tx core.App) error { return applyResults(tx, batch) }); err == nil {
			break
		}
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	if err != nil {
		// the rows stay "sending" and are requeued by the next Start or sweep
		d.app.Logger().Error("push: record delivery results", "rows", len(batch), "error", err.Error())
		return
	}
	retry := false
	for _, r := range batch {
		d.count(r)
		if r.outcome == outcomeRetry {
			retry = true
		}
	}
	if retry {
		d.Poke() // recompute the wake-up time
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
	ok := map[string]string{} // subscription -> last success time
	fails := map[string]int{} // subscription -> permanent failures
	gone := map[string]bool{} // subscriptions to delete
	for _, r := range batch {
		at := dbTime(r.at)
		p := dbx.Params{"id": r.job.ID, "sending": StateSending, "now": at, "status": r.status, "err": truncate(r.detail, 480)}
		var q string
		switch r.outcome {
		case outcomeSent:
			q = "UPDATE {{push_outbox}} SET [[state]] = 'sent', [[sent_at]] = {:now}, [[attempts]] = [[attempts]] + 1, [[last_status]] = {:status}, [[last_error]] = '', [[lease_until]] = '', [[updated]] = {:now} WHERE [[id]] = {:id} AND [[state]] = {:sending}"
			ok[r.job.Subscription] = at
		case outcomeRetry:
			q = "UPDATE {{push_outbox}} SET [[state]] = 'pending', [[next_at]] = {:next}, [[attempts]] = [[attempts]] + 1, [[last_status]] = {:status}, [[last_error]] = {:err}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[id]] = {:id} AND [[state]] = {:sending}"
			p["next"] = dbTime(r.nextAt)
		case outcomeExpired:
			q = "UPDATE {{push_outbox}} SET [[state]] = 'expired', [[attempts]] = [[attempts]] + {:tried}, [[last_status]] = {:status}, [[last_error]] = {:err}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[id]] = {:id} AND [[state]] = {:sending}"
			p["tried"] = min(r.status, 1)
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
	for sub, at := range ok {
		if gone[sub] {
			continue
		}
		if _, err := tx.DB().NewQuery("UPDATE {{push_subscriptions}} SET [[last_success]] = {:at}, [[failures]] = 0 WHERE [[id]] = {:id}").
			Bind(dbx.Params{"at": at, "id": sub}).Execute(); err != nil {
			return fmt.Errorf("update subscription %s: %w", sub, err)
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
