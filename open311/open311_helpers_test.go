package open311_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
)

// resp is a recorded answer.
type resp struct {
	Status int
	Body   string
	Header http.Header
}

// send sends one request through the world's router; a non-empty form is the
// form-urlencoded body.
func send(t testing.TB, w *testkit.World, method, target, form string) resp {
	t.Helper()
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req := httptest.NewRequest(method, target, body)
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	rec := httptest.NewRecorder()
	w.Handler(t).ServeHTTP(rec, req)
	return resp{Status: rec.Code, Body: rec.Body.String(), Header: rec.Header()}
}

// jsonList decodes a JSON list answer.
func (r resp) jsonList(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatalf("decode %d %q: %v", r.Status, r.Body, err)
	}
	return out
}

// errorsOf decodes an errors answer in either format.
func (r resp) errorsOf(t testing.TB) []string {
	t.Helper()
	var out []string
	if strings.HasPrefix(r.Body, "<?xml") {
		var x struct {
			Errors []struct {
				Code        int    `xml:"code"`
				Description string `xml:"description"`
			} `xml:"error"`
		}
		if err := xml.Unmarshal([]byte(r.Body), &x); err != nil {
			t.Fatalf("decode xml errors %q: %v", r.Body, err)
		}
		for _, e := range x.Errors {
			out = append(out, e.Description)
		}
		return out
	}
	for _, e := range r.jsonList(t) {
		out = append(out, e["description"].(string))
	}
	return out
}

// form builds a form body from pairs.
func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// newKey creates an api_clients record and returns its key.
func newKey(t testing.TB, w *testkit.World, name, scope string, active bool, perMinute int) string {
	t.Helper()
	col, err := w.App.FindCollectionByNameOrId("api_clients")
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"name": name, "scope": scope, "active": active, "rate_limit": perMinute})
	rec.Set("key", strings.Repeat(name[:1], 8)+"-"+name+"-key-0123456789abcdef")
	if err := w.App.Save(rec); err != nil {
		t.Fatal(err)
	}
	return rec.GetString("key")
}

// potholeForm is a valid POST for the demo's pothole service.
func potholeForm(key string, extra ...string) string {
	return form(append([]string{"api_key", key, "service_code", "pothole", "lat", "44.4071", "long", "8.9339",
		"attribute[size]", "large", "description", "Deep hole by the bus stop"}, extra...)...)
}
