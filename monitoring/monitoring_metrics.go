package monitoring

import (
	"crypto/subtle"
	"os"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TokenEnv names the environment variable holding the metrics bearer token.
// Without it /api/metrics answers 404: metrics are off.
const TokenEnv = "CIVICDESK_METRICS_TOKEN"

// Series are the civicdesk metric names /api/metrics always exposes (besides
// Go's go_* and process_* series). docs/operations.md explains each.
var Series = []string{
	"civicdesk_http_requests_total",
	"civicdesk_http_request_duration_seconds",
	"civicdesk_sync_pushes_total",
	"civicdesk_sync_mutations_total",
	"civicdesk_sync_pulls_total",
	"civicdesk_outbox_depth",
	"civicdesk_outbox_oldest_age_seconds",
	"civicdesk_push_sends_total",
	"civicdesk_job_runs_total",
	"civicdesk_job_failures_total",
	"civicdesk_job_last_success_timestamp_seconds",
	"civicdesk_requests",
	"civicdesk_requests_overdue",
	"civicdesk_backup_last_success_timestamp_seconds",
	"civicdesk_backup_age_seconds",
	"civicdesk_db_size_bytes",
	"civicdesk_db_wal_size_bytes",
	"civicdesk_realtime_clients",
	"civicdesk_restore_last_detected_timestamp_seconds",
}

// Metrics is one app's metrics registry.
type Metrics struct {
	app      core.App
	registry *prometheus.Registry
	state    *stateCache

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	syncPushes    *prometheus.CounterVec
	syncMutations *prometheus.CounterVec
	syncPulls     *prometheus.CounterVec
}

func newMetrics(app core.App) *Metrics {
	m := &Metrics{app: app, registry: prometheus.NewRegistry(), state: newStateCache(app)}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "civicdesk_http_requests_total", Help: "HTTP requests by route group and status class.",
	}, []string{"group", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "civicdesk_http_request_duration_seconds", Help: "HTTP request duration by route group (realtime streams excluded).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"group"})
	m.syncPushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "civicdesk_sync_pushes_total", Help: "Sync pushes by result (ok, gap, refused, error).",
	}, []string{"result"})
	m.syncMutations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "civicdesk_sync_mutations_total", Help: "Pushed mutations by result (applied, duplicate, rejected).",
	}, []string{"result"})
	m.syncPulls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "civicdesk_sync_pulls_total", Help: "Sync pulls by result (ok, reset, refused, error).",
	}, []string{"result"})
	// every label value known up front, so each series exists from the first scrape
	for _, g := range RouteGroups() {
		m.httpDuration.WithLabelValues(g)
	}
	for _, r := range []string{"ok", "gap", "refused", "error"} {
		m.syncPushes.WithLabelValues(r)
	}
	for _, r := range []string{"applied", "duplicate", "rejected"} {
		m.syncMutations.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "reset", "refused", "error"} {
		m.syncPulls.WithLabelValues(r)
	}
	m.httpRequests.WithLabelValues("probes", "2xx")
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.syncPushes, m.syncMutations, m.syncPulls,
		&appCollector{m: m},
	)
	return m
}

// Registry is the registry behind /api/metrics (for tests and embedding).
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// handleMetrics answers GET /api/metrics for a caller with the bearer token.
func (m *Metrics) handleMetrics(e *core.RequestEvent) error {
	want := os.Getenv(TokenEnv)
	if want == "" {
		return e.NotFoundError("Metrics are off: set "+TokenEnv+" to turn them on.", nil)
	}
	got, ok := strings.CutPrefix(e.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		e.Response.Header().Set("WWW-Authenticate", `Bearer realm="civicdesk metrics"`)
		return e.UnauthorizedError("The metrics need the bearer token of "+TokenEnv+".", nil)
	}
	e.Response.Header().Set("Cache-Control", "no-store")
	promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(e.Response, e.Request)
	return nil
}

// appCollector reads the app's state at scrape time (cached, see stateCache).
type appCollector struct{ m *Metrics }

var (
	descOutboxDepth   = prometheus.NewDesc("civicdesk_outbox_depth", "Web push messages waiting or being sent.", nil, nil)
	descOutboxAge     = prometheus.NewDesc("civicdesk_outbox_oldest_age_seconds", "Age of the oldest web push message waiting (0 when none).", nil, nil)
	descPushSends     = prometheus.NewDesc("civicdesk_push_sends_total", "Web push deliveries by outcome since start (sent, retried, failed, gone, expired).", []string{"outcome"}, nil)
	descJobRuns       = prometheus.NewDesc("civicdesk_job_runs_total", "Scheduled job runs since start.", []string{"job"}, nil)
	descJobFailures   = prometheus.NewDesc("civicdesk_job_failures_total", "Scheduled job runs that failed since start.", []string{"job"}, nil)
	descJobSuccess    = prometheus.NewDesc("civicdesk_job_last_success_timestamp_seconds", "When the job last succeeded (0: not since start).", []string{"job"}, nil)
	descRequests      = prometheus.NewDesc("civicdesk_requests", "Requests by status.", []string{"status"}, nil)
	descOverdue       = prometheus.NewDesc("civicdesk_requests_overdue", "Open requests past their due date.", nil, nil)
	descBackupTime    = prometheus.NewDesc("civicdesk_backup_last_success_timestamp_seconds", "Time of the newest backup (0 when none).", nil, nil)
	descBackupAge     = prometheus.NewDesc("civicdesk_backup_age_seconds", "Age of the newest backup (-1 when none).", nil, nil)
	descDBSize        = prometheus.NewDesc("civicdesk_db_size_bytes", "Size of the SQLite database file.", []string{"db"}, nil)
	descWALSize       = prometheus.NewDesc("civicdesk_db_wal_size_bytes", "Size of the SQLite write-ahead log.", []string{"db"}, nil)
	descRealtime      = prometheus.NewDesc("civicdesk_realtime_clients", "Open realtime (SSE) connections.", nil, nil)
	descRestoreDetect = prometheus.NewDesc("civicdesk_restore_last_detected_timestamp_seconds", "When a restore was last detected (0: never).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *appCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOutboxDepth, descOutboxAge, descPushSends, descJobRuns, descJobFailures, descJobSuccess,
		descRequests, descOverdue, descBackupTime, descBackupAge, descDBSize, descWALSize, descRealtime, descRestoreDetect} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *appCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.state.get()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descOutboxDepth, float64(s.OutboxDepth))
	gauge(descOutboxAge, s.OutboxOldestAge.Seconds())
	for _, o := range s.PushSends {
		counter(descPushSends, float64(o.n), o.name)
	}
	for _, j := range s.Jobs {
		counter(descJobRuns, float64(j.Runs), j.Name)
		counter(descJobFailures, float64(j.Failures), j.Name)
		ts := 0.0
		if !j.LastSuccess.IsZero() {
			ts = float64(j.LastSuccess.Unix())
		}
		gauge(descJobSuccess, ts, j.Name)
	}
	for _, st := range s.Requests {
		gauge(descRequests, float64(st.n), st.name)
	}
	gauge(descOverdue, float64(s.Overdue))
	if s.LastBackup.IsZero() {
		gauge(descBackupTime, 0)
		gauge(descBackupAge, -1)
	} else {
		gauge(descBackupTime, float64(s.LastBackup.Unix()))
		gauge(descBackupAge, s.at.Sub(s.LastBackup).Seconds())
	}
	for _, f := range s.Files {
		gauge(descDBSize, float64(f.size), f.db)
		gauge(descWALSize, float64(f.wal), f.db)
	}
	gauge(descRealtime, float64(c.m.app.SubscriptionsBroker().TotalClients()))
	ts := 0.0
	if !s.LastRestore.IsZero() {
		ts = float64(s.LastRestore.Unix())
	}
	gauge(descRestoreDetect, ts)
}
