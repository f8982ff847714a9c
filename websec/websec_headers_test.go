package websec_test

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civicdesk/city"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// do sends one request through w's router with extra headers.
func do(t *testing.T, w *testkit.World, method, url, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	req := httptest.NewRequest(method, url, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	w.Handler(t).ServeHTTP(rec, req)
	return rec
}

// photoRequest files a request with one PNG photo and returns it.
func photoRequest(t *testing.T, w *testkit.World) *core.Record {
	t.Helper()
	rec := w.NewRequest(t, w.CitizenA)
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	f, err := filesystem.NewFileFromBytes(buf.Bytes(), "p.png")
	if err != nil {
		t.Fatal(err)
	}
	rec.Set("photos", []any{f})
	workflow.AttachActor(rec, workflow.System)
	if err := w.App.Save(rec); err != nil {
		t.Fatalf("attach photo: %v", err)
	}
	return rec
}

// TestHeadersEveryRouteGroup: every route group (the three apps, the API, a
// protected file, the JWKS, the verify route, errors) carries the headers of
// its row of the table, and the app CSP forbids anything inline.
func TestHeadersEveryRouteGroup(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	req := photoRequest(t, w)
	fileTok, err := w.CitizenA.NewFileToken()
	if err != nil {
		t.Fatal(err)
	}
	photo := req.GetStringSlice("photos")[0]
	fileURL := "/api/files/requests/" + req.Id + "/" + photo + "?token=" + fileTok

	type want struct{ csp, perm, referrer, ctype string }
	app := func(perm string) want {
		return want{csp: "script-src 'self';", perm: perm, referrer: "same-origin", ctype: "text/html"}
	}
	api := want{csp: "default-src 'none'", perm: "camera=()", referrer: "no-referrer", ctype: "application/json"}
	scenarios := []struct {
		name, method, url, body string
		status                  int
		want                    want
	}{
		{"citizen app", "GET", "/", "", 200, app("geolocation=(self)")},
		{"citizen app deep link", "GET", "/new/pothole", "", 200, app("geolocation=(self)")},
		{"citizen app script", "GET", "/app/main.js", "", 200, want{csp: "script-src 'self'", perm: "camera=()", referrer: "same-origin", ctype: "text/javascript"}},
		{"manifest", "GET", "/manifest.webmanifest", "", 200, want{csp: "manifest-src 'self'", perm: "geolocation=(self)", referrer: "same-origin", ctype: "application/manifest+json"}},
		{"verifier", "GET", "/verify/", "", 200, app("camera=(self)")},
		{"staff console", "GET", "/staff/", "", 200, app("camera=(self)")},
		{"health", "GET", "/api/health", "", 200, api},
		{"catalog", "GET", "/api/mobile/catalog", "", 200, api},
		{"records", "GET", "/api/collections/services/records?perPage=1", "", 200, api},
		{"api 404", "GET", "/api/nothing-here", "", 404, api},
		{"jwks", "GET", "/.well-known/receipt-keys", "", 200, want{csp: "default-src 'none'", perm: "camera=()", referrer: "no-referrer", ctype: "application/"}},
		{"verify", "POST", "/api/receipts/verify", `{"code":"CR1:XYZ"}`, 200, api},
		{"protected file", "GET", fileURL, "", 200, want{csp: "default-src 'none'", perm: "camera=()", referrer: "no-referrer", ctype: "image/png"}},
	}
	for _, s := range scenarios {
		rec := do(t, w, s.method, s.url, s.body, nil)
		h := rec.Header()
		if rec.Code != s.status {
			t.Errorf("%s: status %d, want %d (%s)", s.name, rec.Code, s.status, rec.Body.String())
			continue
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), s.want.csp) {
			t.Errorf("%s: CSP %q lacks %q", s.name, h.Get("Content-Security-Policy"), s.want.csp)
		}
		if csp := h.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP allows inline, eval or wildcards: %q", s.name, csp)
		}
		if !strings.Contains(h.Get("Permissions-Policy"), s.want.perm) {
			t.Errorf("%s: Permissions-Policy %q lacks %q", s.name, h.Get("Permissions-Policy"), s.want.perm)
		}
		if h.Get("Referrer-Policy") != s.want.referrer {
			t.Errorf("%s: Referrer-Policy %q, want %q", s.name, h.Get("Referrer-Policy"), s.want.referrer)
		}
		if !strings.HasPrefix(h.Get("Content-Type"), s.want.ctype) {
			t.Errorf("%s: Content-Type %q, want %q", s.name, h.Get("Content-Type"), s.want.ctype)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q, want %q", s.name, k, h.Get(k), v)
			}
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS on a plain-http city: %q", s.name, h.Get("Strict-Transport-Security"))
		}
		if s.want.ctype == "text/html" {
			for _, d := range []string{"style-src 'self'", "img-src 'self' blob: data:", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'"} {
				if !strings.Contains(h.Get("Content-Security-Policy"), d) {
					t.Errorf("%s: CSP lacks %q", s.name, d)
				}
			}
		}
	}

	// answers to a signed-in caller are not cached, unless the route says so
	if cc := do(t, w, "GET", "/api/collections/requests/records?skipTotal=1", "", map[string]string{"Authorization": testkit.Token(t, w.CitizenA)}).Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("signed-in records list: Cache-Control %q, want no-store", cc)
	}
	if cc := do(t, w, "GET", "/api/mobile/catalog", "", map[string]string{"Authorization": testkit.Token(t, w.CitizenA)}).Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("catalog keeps its own Cache-Control: %q", cc)
	}

	// a protected file: never in a shared cache, shown inline only because it is an image
	rec := do(t, w, "GET", fileURL, "", nil)
	if cc := rec.Header().Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("protected file: Cache-Control %q, want private, no-store", cc)
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "inline; filename=") {
		t.Errorf("protected file: Content-Disposition %q", cd)
	}
	if cd := do(t, w, "GET", fileURL+"&download=1", "", nil).Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("download=1: Content-Disposition %q, want attachment", cd)
	}
	if r := do(t, w, "GET", "/api/files/requests/"+req.Id+"/"+photo, "", nil); r.Code != http.StatusNotFound {
		t.Errorf("protected file without a token: %d, want 404", r.Code)
	}
}

// TestHSTSWhenPublicURLIsHTTPS: HSTS goes out on every route group only when
// the city's public URL is https.
func TestHSTSWhenPublicURLIsHTTPS(t *testing.T) {
	t.Parallel()
	cfg := city.Default()
	cfg.PublicURL = "https://segnalazioni.comune.example"
	w := testkit.NewApp(t, testkit.WithCity(cfg))
	for _, url := range []string{"/", "/verify/", "/api/health", "/.well-known/receipt-keys"} {
		if got := do(t, w, "GET", url, "", nil).Header().Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=63072000") {
			t.Errorf("GET %s: Strict-Transport-Security %q", url, got)
		}
	}
}
