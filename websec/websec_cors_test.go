package websec_test

import (
	"net/http"
	"testing"

	"civicdesk/city"
	"civicdesk/testkit"
	"civicdesk/websec"
)

// TestCORSPreflights: the city's origins may call the API, a foreign origin
// may not (no Access-Control-Allow-Origin on its preflight, 403 on the call
// itself), and the JWKS and verify routes answer any origin.
func TestCORSPreflights(t *testing.T) {
	t.Parallel()
	cfg := city.Default()
	cfg.PublicURL = "https://segnalazioni.comune.example"
	cfg.CORSOrigins = []string{"https://www.comune.example", "https://*.widgets.comune.example"}
	w := testkit.NewApp(t, testkit.WithCity(cfg))
	const foreign = "https://evil.example"
	scenarios := []struct {
		name, method, url, origin, wantACAO string
		status                              int
	}{
		{"city preflight", "OPTIONS", "/api/mobile/sync/push", "https://segnalazioni.comune.example", "https://segnalazioni.comune.example", 204},
		{"listed origin preflight", "OPTIONS", "/api/collections/requests/records", "https://www.comune.example", "https://www.comune.example", 204},
		{"wildcard origin preflight", "OPTIONS", "/api/mobile/catalog", "https://map.widgets.comune.example", "https://map.widgets.comune.example", 204},
		{"foreign preflight", "OPTIONS", "/api/mobile/sync/push", foreign, "", 204},
		{"foreign preflight auth", "OPTIONS", "/api/collections/citizens/auth-with-password", foreign, "", 204},
		{"look-alike preflight", "OPTIONS", "/api/mobile/sync/push", "https://segnalazioni.comune.example.evil.example", "", 204},
		{"foreign call refused", "GET", "/api/mobile/catalog", foreign, "", 403},
		{"foreign sign-in refused", "POST", "/api/collections/citizens/auth-with-password", foreign, "", 403},
		{"city call", "GET", "/api/mobile/catalog", "https://segnalazioni.comune.example", "https://segnalazioni.comune.example", 200},
		{"same host call", "GET", "/api/mobile/catalog", "http://example.com", "", 200}, // httptest's Host
		{"jwks preflight any origin", "OPTIONS", "/.well-known/receipt-keys", foreign, "*", 204},
		{"jwks any origin", "GET", "/.well-known/receipt-keys", foreign, "*", 200},
		{"verify preflight any origin", "OPTIONS", "/api/receipts/verify", foreign, "*", 204},
		{"verify any origin", "POST", "/api/receipts/verify", foreign, "*", 200},
	}
	for _, s := range scenarios {
		hdr := map[string]string{"Origin": s.origin}
		body := ""
		if s.method == "OPTIONS" {
			hdr["Access-Control-Request-Method"] = "POST"
			hdr["Access-Control-Request-Headers"] = "authorization,content-type"
		}
		if s.method == "POST" {
			body = `{"code":"CR1:X","identity":"a@b.example","password":"x"}`
		}
		rec := do(t, w, s.method, s.url, body, hdr)
		if rec.Code != s.status {
			t.Errorf("%s: status %d, want %d (%s)", s.name, rec.Code, s.status, rec.Body.String())
		}
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != s.wantACAO {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", s.name, got, s.wantACAO)
		}
		if s.wantACAO != "" && s.method == "OPTIONS" && rec.Header().Get("Access-Control-Allow-Methods") == "" {
			t.Errorf("%s: no Access-Control-Allow-Methods", s.name)
		}
	}
	// no Origin (a native client, curl): not a browser, nothing to refuse
	if rec := do(t, w, "GET", "/api/mobile/catalog", "", nil); rec.Code != http.StatusOK {
		t.Errorf("no Origin: %d", rec.Code)
	}
}

// TestCityOrigins: the public URL's origin first, then the configured list, without duplicates.
func TestCityOrigins(t *testing.T) {
	t.Parallel()
	cfg := city.Default()
	cfg.PublicURL = "https://city.example/civicdesk"
	cfg.CORSOrigins = []string{"https://www.city.example/", "https://city.example"}
	got := websec.CityOrigins(cfg, "https://intranet.city.example")
	want := []string{"https://city.example", "https://www.city.example", "https://intranet.city.example"}
	if len(got) != len(want) {
		t.Fatalf("CityOrigins = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("CityOrigins = %v, want %v", got, want)
		}
	}
}
