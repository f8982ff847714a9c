package pbpublic_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	pbpublic "civicdesk/pb_public"
	"civicdesk/testkit"
)

// TestEmbeddedApps: the binary serves the apps from the embedded files, keeps
// the service workers and pages revalidated, and never serves its Go sources.
func TestEmbeddedApps(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	scenarios := []struct {
		url, contains, cache string
		status               int
	}{
		{"/", "<html", "no-cache", http.StatusOK},
		{"/service-worker.js", "", "no-cache", http.StatusOK},
		{"/manifest.webmanifest", `"start_url"`, "no-cache", http.StatusOK},
		{"/verify/", "<html", "no-cache", http.StatusOK},
		{"/verify/service-worker.js", "", "no-cache", http.StatusOK},
		{"/verify/vendor/jsQR.js", "jsQR", "", http.StatusOK},
		{"/embed.go", "", "", http.StatusNotFound},
	}
	for _, s := range scenarios {
		res := w.Do(t, http.MethodGet, s.url, "", "")
		if res.Status != s.status || !strings.Contains(res.Body, s.contains) {
			t.Errorf("GET %s: %d (%d bytes)", s.url, res.Status, len(res.Body))
		}
		if s.cache != "" && res.Header.Get("Cache-Control") != s.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", s.url, res.Header.Get("Cache-Control"), s.cache)
		}
	}
}

// TestVendoredLibrariesPresent fails a build made without `make build`
// (scripts/vendor-web.sh), which would ship a verifier that cannot scan.
func TestVendoredLibrariesPresent(t *testing.T) {
	t.Parallel()
	if _, err := fs.Stat(pbpublic.FS(), "verify/vendor/jsQR.js"); err != nil {
		t.Fatalf("verify/vendor/jsQR.js is not embedded (run make build): %v", err)
	}
}

// TestStaticFilesAreCompressed: text assets go out gzip-compressed when the
// browser asks for it (the PWA's page-weight budget counts bytes on the wire).
func TestStaticFilesAreCompressed(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	for _, url := range []string{"/", "/styles.css", "/verify/verify.js"} {
		req := httptest.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		w.Handler(t).ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("GET %s: %d, Content-Encoding %q", url, rec.Code, rec.Header().Get("Content-Encoding"))
		}
	}
}
