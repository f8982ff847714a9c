package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Response is a recorded HTTP response.
type Response struct {
	Status int
	Body   string
	Header http.Header
}

// JSON decodes the body into v (fails the test on error).
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Handler builds the app's router once (OnServe triggered once, as serve does)
// and returns it. tests.ApiScenario re-triggers OnServe per scenario, which
// panics on a reused app (PocketBase registers its UI routes twice), so large
// matrices over one seeded World use this handler instead.
func (w *World) Handler(t testing.TB) http.Handler {
	t.Helper()
	if w.handler != nil {
		return w.handler
	}
	router, err := apis.NewRouter(w.App)
	if err != nil {
		t.Fatal(err)
	}
	se := &core.ServeEvent{App: w.App, Router: router}
	err = w.App.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		w.handler = mux
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w.handler
}

// Do sends one request through Handler with an optional auth token and JSON body.
func (w *World) Do(t testing.TB, method, url, token, body string) Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, url, r)
	req.Header.Set("content-type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	rec := httptest.NewRecorder()
	w.Handler(t).ServeHTTP(rec, req)
	return Response{Status: rec.Code, Body: rec.Body.String(), Header: rec.Header()}
}

// DoWithHeaders is Do with extra request headers (If-Match, Accept-Language).
func (w *World) DoWithHeaders(t testing.TB, method, url, token, body string, headers map[string]string) Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, url, r)
	req.Header.Set("content-type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	w.Handler(t).ServeHTTP(rec, req)
	return Response{Status: rec.Code, Body: rec.Body.String(), Header: rec.Header()}
}
