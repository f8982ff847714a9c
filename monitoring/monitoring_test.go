package monitoring_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civicdesk/monitoring"
	"civicdesk/testkit"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const token = "test-metrics-token-0123456789"

func scrape(t *testing.T, w *testkit.World, auth string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, monitoring.PathMetrics, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	w.Handler(t).ServeHTTP(rec, req)
	return rec
}

// TestMetricsScrape: after sync traffic, a scrape with the token parses with
// Prometheus's own text parser and holds every advertised series, with the
// outcomes of the traffic counted; without the token it is refused.
func TestMetricsScrape(t *testing.T) {
	t.Setenv(monitoring.TokenEnv, token)
	w := testkit.NewApp(t)
	citizen := testkit.Token(t, w.CitizenA)

	push := `{"clientID":"metrics-phone","mutations":[` +
		`{"id":1,"name":"request.create","args":{"requestId":"metricsreq00001","service":"pothole","answers":{"size":"large"},"description":"m","location":{"lat":44.4,"lon":8.9}}},` +
		`{"id":2,"name":"request.cancel","args":{"requestId":"metricsreq00001"}},` +
		`{"id":3,"name":"request.cancel","args":{"requestId":"nosuchrequest00"}}]}`
	if r := w.Do(t, http.MethodPost, "/api/mobile/sync/push", citizen, push); r.Status != http.StatusOK {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	_ = w.Do(t, http.MethodPost, "/api/mobile/sync/push", citizen, push) // all three again: duplicates
	if r := w.Do(t, http.MethodPost, "/api/mobile/sync/pull", citizen, `{"clientID":"metrics-phone","cursor":null}`); r.Status != http.StatusOK {
		t.Fatalf("pull: %d %s", r.Status, r.Body)
	}
	r := w.Do(t, http.MethodGet, "/api/collections/requests/records/nosuchrequest00", citizen, "")
	if r.Status != http.StatusNotFound || r.Header.Get(monitoring.RequestIDHeader) == "" {
		t.Fatalf("records API: %d, request id %q", r.Status, r.Header.Get(monitoring.RequestIDHeader))
	}

	for _, auth := range []string{"", "Bearer wrong", token} {
		if rec := scrape(t, w, auth); rec.Code != http.StatusUnauthorized {
			t.Fatalf("scrape with %q: %d, want 401", auth, rec.Code)
		}
	}
	rec := scrape(t, w, "Bearer "+token)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("not Prometheus text: %v", err)
	}
	for _, name := range append(monitoring.Series, "go_goroutines", "process_resident_memory_bytes") {
		if f := fams[name]; f == nil || len(f.GetMetric()) == 0 {
			t.Errorf("series %s missing", name)
		}
	}
	value := func(name string, labels map[string]string) float64 {
		f := fams[name]
		if f == nil {
			return -1
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
		return -1
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"civicdesk_sync_pushes_total", map[string]string{"result": "ok"}, 2},
		{"civicdesk_sync_mutations_total", map[string]string{"result": "applied"}, 2},
		{"civicdesk_sync_mutations_total", map[string]string{"result": "rejected"}, 1},
		{"civicdesk_sync_mutations_total", map[string]string{"result": "duplicate"}, 3},
		{"civicdesk_sync_pulls_total", map[string]string{"result": "reset"}, 1},
		{"civicdesk_http_requests_total", map[string]string{"group": "records", "code": "4xx"}, 1},
		{"civicdesk_http_request_duration_seconds", map[string]string{"group": "sync_push"}, 2},
		{"civicdesk_requests", map[string]string{"status": "cancelled"}, 1},
	} {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestMetricsOff(t *testing.T) {
	t.Setenv(monitoring.TokenEnv, "")
	w := testkit.NewApp(t)
	if rec := scrape(t, w, "Bearer anything"); rec.Code != http.StatusNotFound {
		t.Fatalf("metrics without a token configured: %d, want 404", rec.Code)
	}
}

// TestReady: a fresh app is ready except for the warnings (no backup yet);
// a disk floor above the free space fails it with 503.
func TestReady(t *testing.T) {
	w := testkit.NewApp(t)
	get := func(path string) (int, monitoring.Readiness) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		rec := httptest.NewRecorder()
		w.Handler(t).ServeHTTP(rec, req)
		var r monitoring.Readiness
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v %s", path, err, rec.Body)
		}
		return rec.Code, r
	}
	status := func(r monitoring.Readiness, name string) string {
		for _, c := range r.Checks {
			if c.Name == name {
				return c.Status
			}
		}
		return "absent"
	}
	t.Setenv("CIVICDESK_DISK_FLOOR_MB", "1")
	code, r := get(monitoring.PathReady)
	if code != http.StatusOK {
		t.Fatalf("ready: %d %+v", code, r)
	}
	for _, name := range []string{"database", "migrations", "disk", "push_outbox"} {
		if st := status(r, name); st != monitoring.CheckOK {
			t.Errorf("check %s: %s (%+v)", name, st, r.Checks)
		}
	}
	if st := status(r, "backup"); st != monitoring.CheckWarn || r.Status != "degraded" {
		t.Errorf("no backup yet: backup %s, status %s", st, r.Status)
	}
	if code, _ := get(monitoring.PathReady + "?strict=1"); code != http.StatusServiceUnavailable {
		t.Errorf("strict with a warning: %d, want 503", code)
	}
	t.Setenv("CIVICDESK_DISK_FLOOR_MB", "999999999")
	code, r = get(monitoring.PathReady)
	if code != http.StatusServiceUnavailable || status(r, "disk") != monitoring.CheckFail {
		t.Fatalf("disk below the floor: %d %+v", code, r.Checks)
	}
}
