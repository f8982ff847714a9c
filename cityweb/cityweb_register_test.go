package cityweb_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civicdesk/city"
	"civicdesk/testkit"
)

func TestManifestNamesTheCity(t *testing.T) {
	cfg := city.Default()
	cfg.Name, cfg.ShortName = "Tallinna linn", "Tallinn"
	w := testkit.NewApp(t, testkit.WithCity(cfg))
	r := w.Do(t, http.MethodGet, "/manifest.webmanifest", "", "")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/manifest+json") {
		t.Fatalf("manifest: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	var m struct {
		Name, ShortName, StartURL, Display string
		Icons                              []struct{ Src, Sizes, Type string }
	}
	var raw map[string]any
	r.JSON(t, &raw)
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &m)
	m.ShortName, _ = raw["short_name"].(string)
	m.StartURL, _ = raw["start_url"].(string)
	if m.Name != "Tallinna linn" || m.ShortName != "Tallinn" || m.StartURL != "/" || m.Display != "standalone" {
		t.Fatalf("manifest %s", r.Body)
	}
	sizes := map[string]string{}
	for _, i := range m.Icons {
		sizes[i.Sizes] = i.Src + " " + i.Type
	}
	if sizes["192x192"] == "" || sizes["512x512"] == "" || sizes["any"] != "/city/arms image/svg+xml" {
		t.Fatalf("icons %v", sizes)
	}
}

func TestArms(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "arms.png")
	// the smallest PNG signature + IHDR is enough for content sniffing
	if err := os.WriteFile(png, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "arms.exe")
	if err := os.WriteFile(bad, []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, wantType string
		wantStatus     int
	}{
		{"", "image/svg+xml", http.StatusOK},
		{png, "image/png", http.StatusOK},
		{bad, "", http.StatusNotFound},
		{filepath.Join(dir, "missing.svg"), "", http.StatusNotFound},
	} {
		cfg := city.Default()
		cfg.ArmsFile = c.file
		w := testkit.NewApp(t, testkit.WithCity(cfg))
		r := w.Do(t, http.MethodGet, "/city/arms", "", "")
		if r.Status != c.wantStatus || (c.wantType != "" && r.Header.Get("Content-Type") != c.wantType) {
			t.Errorf("arms %q: %d %s", c.file, r.Status, r.Header.Get("Content-Type"))
		}
		if c.wantStatus == http.StatusOK && r.Header.Get("ETag") == "" {
			t.Errorf("arms %q: no ETag", c.file)
		}
	}
}

func TestMapFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "city.geojson")
	body := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kind":"street","name":"Rue Test"},"geometry":{"type":"LineString","coordinates":[[2.35,48.85],[2.36,48.86]]}}]}`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, want string
		status     int
	}{
		{"", "Via Luigi Cadorna", http.StatusOK},
		{file, "Rue Test", http.StatusOK},
		{file + ".missing", "", http.StatusNotFound},
	} {
		cfg := city.Default()
		cfg.MapFile = c.file
		w := testkit.NewApp(t, testkit.WithCity(cfg))
		r := w.Do(t, http.MethodGet, "/city/map.geojson", "", "")
		if r.Status != c.status || !strings.Contains(r.Body, c.want) || (c.status == http.StatusOK && r.Header.Get("Content-Type") != "application/geo+json") {
			t.Errorf("map %q: %d %s %.80s", c.file, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}
}
