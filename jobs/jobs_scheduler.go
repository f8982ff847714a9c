package jobs

import (
	"fmt"
	"sort"
	"time"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
	"github.com/robfig/cron/v3"
)

// Report is what one job run did: named counts, logged as attributes.
type Report map[string]int64

// Job is one scheduled task. Run gets the app and the scheduler's clock reading.
type Job struct {
	Name string
	// Spec is a robfig/cron spec, read in the city's time zone.
	Spec string
	Run  func(app core.App, now time.Time) (Report, error)
}

// Job names.
const (
	JobOutboxSweep       = "push_outbox_sweep"
	JobSLAWatch          = "sla_watch"
	JobDeadSubscriptions = "push_dead_subscriptions"
	JobRetention         = "retention"
	JobTombstones        = "sync_tombstones"
	JobSyncCleanup       = "sync_cleanup"
)

// DefaultJobs is civicdesk's schedule (city time). Daily jobs run at night,
// away from the 03:00 backup of the settings migration.
func DefaultJobs() []Job {
	return []Job{
		{Name: JobOutboxSweep, Spec: "@every 1m", Run: OutboxSweep},
		{Name: JobSLAWatch, Spec: "*/15 * * * *", Run: SLAWatch},
		{Name: JobDeadSubscriptions, Spec: "10 4 * * *", Run: DeadSubscriptions},
		{Name: JobRetention, Spec: "30 2 * * *", Run: Retention},
		{Name: JobTombstones, Spec: "20 4 * * *", Run: Tombstones},
		{Name: JobSyncCleanup, Spec: "40 4 * * *", Run: SyncCleanup},
	}
}

const extraStoreKey = "civicdesk.jobs.extra"

// AddJob schedules a room's own job on app's scheduler (rooms call it from
// Register, before serve starts the scheduler), so jobs/ needs no import of them.
func AddJob(app core.App, j Job) {
	app.Store().Set(extraStoreKey, append(Extra(app), j))
}

// Extra returns the jobs rooms added with AddJob.
func Extra(app core.App) []Job {
	jobs, _ := app.Store().Get(extraStoreKey).([]Job)
	return append([]Job(nil), jobs...)
}

// Options configures a Scheduler. Zero values take the defaults.
type Options struct {
	// Now is the clock the jobs read (tests inject one).
	Now func() time.Time
	// Jobs replaces DefaultJobs.
	Jobs []Job
}

// Scheduler runs Jobs in the city's time zone.
type Scheduler struct {
	app  core.App
	cron *cron.Cron
	now  func() time.Time
	jobs map[string]Job
	ids  map[string]cron.EntryID
	loc  *time.Location

	stats stats // runs and failures per job (Stats)
}

// NewScheduler builds a stopped scheduler for app.
func NewScheduler(app core.App, opts Options) (*Scheduler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jobs == nil {
		opts.Jobs = append(DefaultJobs(), Extra(app)...)
	}
	loc := city.Of(app).Location
	if loc == nil {
		loc = time.UTC
	}
	logger := cronLogger{app: app}
	s := &Scheduler{
		app: app,
		now: opts.Now,
		loc: loc,
		cron: cron.New(
			cron.WithLocation(loc),
			cron.WithLogger(logger),
			// Recover outermost: a panicking job is logged, the scheduler lives on
			cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)),
		),
		jobs: map[string]Job{},
		ids:  map[string]cron.EntryID{},
	}
	for _, j := range opts.Jobs {
		j := j
		id, err := s.cron.AddFunc(j.Spec, func() { _, _ = s.run(j) })
		if err != nil {
			return nil, fmt.Errorf("jobs: schedule %s (%q): %w", j.Name, j.Spec, err)
		}
		s.jobs[j.Name] = j
		s.ids[j.Name] = id
	}
	return s, nil
}

// Start starts the scheduler in the background.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops the scheduler and waits for running jobs to finish.
func (s *Scheduler) Stop() { <-s.cron.Stop().Done() }

// Location is the time zone the schedule is read in.
func (s *Scheduler) Location() *time.Location { return s.loc }

// Next returns when job name runs next (zero before Start or for an unknown job).
func (s *Scheduler) Next(name string) time.Time {
	id, ok := s.ids[name]
	if !ok {
		return time.Time{}
	}
	return s.cron.Entry(id).Next
}

// RunNow runs job name once, synchronously, with the same logging as a scheduled run.
func (s *Scheduler) RunNow(name string) (Report, error) {
	j, ok := s.jobs[name]
	if !ok {
		return nil, fmt.Errorf("jobs: unknown job %q", name)
	}
	return s.run(j)
}

// run executes j and logs its outcome (visible in the dashboard's logs).
func (s *Scheduler) run(j Job) (Report, error) {
	started := time.Now()
	rep, err := j.Run(s.app, s.now())
	s.stats.record(j.Name, err, time.Now())
	attrs := []any{"job", j.Name, "tookMs", time.Since(started).Milliseconds()}
	keys := make([]string, 0, len(rep))
	for k := range rep {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attrs = append(attrs, k, rep[k])
	}
	if err != nil {
		s.app.Logger().Error("job "+j.Name+" failed", append(attrs, "error", err.Error())...)
		return rep, err
	}
	s.app.Logger().Info("job "+j.Name+" done", attrs...)
	return rep, nil
}

// cronLogger routes robfig/cron's messages (skips, recovered panics) to the app log.
type cronLogger struct{ app core.App }

// Info implements cron.Logger; routine scheduling chatter is debug level.
func (l cronLogger) Info(msg string, kv ...any) {
	l.app.Logger().Debug("cron: "+msg, kv...)
}

// Error implements cron.Logger.
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.app.Logger().Error("cron: "+msg, append(kv, "error", fmt.Sprint(err))...)
}
