package monitoring

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// RequestIDHeader carries the request id, taken from a proxy when it is well
// formed, else made here; it is answered back and logged as meta.requestId.
const RequestIDHeader = "X-Request-Id"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// Route groups: a fixed, small set of label values (Prometheus labels must
// never carry ids or URLs).
var routeGroups = []struct{ prefix, group string }{
	{"/api/mobile/sync/push", "sync_push"},
	{"/api/mobile/sync/pull", "sync_pull"},
	{"/api/mobile/uploads", "uploads"},
	{"/api/mobile/", "mobile"},
	{"/api/realtime", "realtime"},
	{"/api/files/", "files"},
	{"/api/receipts/", "receipts"},
	{"/api/backups", "backups"},
	{"/api/collections/", "records"},
	{"/api/health", "probes"},
	{"/api/ready", "probes"},
	{"/api/metrics", "probes"},
	{"/open311/", "open311"},
	{"/_/", "dashboard"},
	{"/api/", "api_other"},
}

// RouteGroups are the values of the `group` label (besides "static").
func RouteGroups() []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range routeGroups {
		if !seen[g.group] {
			seen[g.group] = true
			out = append(out, g.group)
		}
	}
	return append(out, "static")
}

func routeGroup(path string) string {
	for _, g := range routeGroups {
		if strings.HasPrefix(path, g.prefix) {
			return g.group
		}
	}
	return "static" // the web apps
}

func newRequestID() string {
	return strings.ToLower(rand.Text()[:16])
}

// middleware times and counts every request, names it with a request id, and
// reads the outcome of sync pushes and pulls from their (small) answers.
func (m *Metrics) middleware(e *core.RequestEvent) error {
	start := time.Now()
	id := e.Request.Header.Get(RequestIDHeader)
	if !requestIDPattern.MatchString(id) {
		id = newRequestID()
	}
	e.Response.Header().Set(RequestIDHeader, id)
	meta, _ := e.Get(apis.RequestEventKeyLogMeta).(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["requestId"] = id
	e.Set(apis.RequestEventKeyLogMeta, meta)

	group := routeGroup(e.Request.URL.Path)
	var capture *captureWriter
	if group == "sync_push" || group == "sync_pull" {
		capture = &captureWriter{ResponseWriter: e.Response, limit: captureLimit}
		e.Response = capture
	}

	err := e.Next()

	status := e.Status()
	if err != nil {
		var apiErr *router.ApiError
		if errors.As(err, &apiErr) && status == 0 {
			status = apiErr.Status
		} else if status == 0 {
			status = http.StatusInternalServerError
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.httpRequests.WithLabelValues(group, strconv.Itoa(status/100)+"xx").Inc()
	if group != "realtime" { // a realtime stream lasts as long as the app is open
		m.httpDuration.WithLabelValues(group).Observe(time.Since(start).Seconds())
	}
	if capture != nil {
		m.observeSync(group, status, capture.buf.Bytes())
	}
	return err
}

// captureLimit bounds what is kept of a sync answer: a push answer of 100
// results is ~6 KB; a pull's outcome (reset) is in its first bytes.
const captureLimit = 32 << 10

// captureWriter keeps the first bytes of a response.
type captureWriter struct {
	http.ResponseWriter
	buf   bytes.Buffer
	limit int
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if room := w.limit - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(room, len(p))])
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets PocketBase's router find its status tracker and flusher.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher.
func (w *captureWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var (
	resultPattern = regexp.MustCompile(`"status":"(applied|duplicate|rejected)"`)
	resetPattern  = regexp.MustCompile(`"reset":true`)
)

func (m *Metrics) observeSync(group string, status int, body []byte) {
	if group == "sync_pull" {
		result := "ok"
		switch {
		case status >= 500 || status == http.StatusTooManyRequests:
			result = "error"
		case status >= 400:
			result = "refused"
		case resetPattern.Match(body):
			result = "reset"
		}
		m.syncPulls.WithLabelValues(result).Inc()
		return
	}
	result := "ok"
	switch {
	case status == http.StatusConflict:
		result = "gap"
	case status >= 500 || status == http.StatusTooManyRequests:
		result = "error"
	case status >= 400:
		result = "refused"
	}
	m.syncPushes.WithLabelValues(result).Inc()
	if status == http.StatusOK || status == http.StatusConflict {
		for _, match := range resultPattern.FindAllSubmatch(body, -1) {
			m.syncMutations.WithLabelValues(string(match[1])).Inc()
		}
	}
}
