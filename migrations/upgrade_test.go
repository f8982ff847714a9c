package migrations_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civicdesk/testkit"
)

// fixtureManifest mirrors scripts/upgradefixture's Manifest.
type fixtureManifest struct {
	Release        string            `json:"release"`
	CitizenEmail   string            `json:"citizenEmail"`
	CitizenPass    string            `json:"citizenPassword"`
	ClientID       string            `json:"clientID"`
	LastMutationID int64             `json:"lastMutationID"`
	Cursor         string            `json:"cursor"`
	Requests       map[string]string `json:"requests"`
	Receipts       map[string]string `json:"receipts"`
	Statuses       map[string]string `json:"statuses"`
	Subscription   string            `json:"subscription"`
	Endpoint       string            `json:"endpoint"`
}

// TestUpgradeFromRelease starts this binary on a data dir made by the release
// bb3075b (scripts/make-upgrade-fixture.sh): the migrations run forward, and
// every request, receipt, subscription and phone's sync state still works.
func TestUpgradeFromRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	fixtures, _ := filepath.Glob("testdata/pb_data-*.tar.gz")
	if len(fixtures) == 0 {
		t.Fatal("no upgrade fixture in migrations/testdata (scripts/make-upgrade-fixture.sh)")
	}
	for _, fx := range fixtures {
		t.Run(filepath.Base(fx), func(t *testing.T) {
			var m fixtureManifest
			raw, err := os.ReadFile(strings.TrimSuffix(fx, ".tar.gz") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			untar(t, fx, dir)
			s := testkit.StartServerIn(t, dir)

			tok := login(t, s.URL, m.CitizenEmail, m.CitizenPass)
			// the phone's cursor from the old release still works: no reset, nothing to catch up
			// (a migration that fills a new field of existing requests sends them again as puts:
			// the phone gets the new field; nothing else may come)
			var pg struct {
				Reset          bool  `json:"reset"`
				LastMutationID int64 `json:"lastMutationID"`
				Changes        []struct {
					Collection, ID, Op string
				} `json:"changes"`
			}
			call(t, s.URL+"/api/mobile/sync/pull", tok, map[string]any{"clientID": m.ClientID, "cursor": m.Cursor}, &pg)
			if pg.Reset || pg.LastMutationID != m.LastMutationID {
				t.Fatalf("pull with the old cursor: reset %v, lastMutationID %d (want %d)", pg.Reset, pg.LastMutationID, m.LastMutationID)
			}
			for _, c := range pg.Changes {
				if _, known := m.Requests[c.ID]; c.Collection != "requests" || c.Op != "put" || !known {
					t.Fatalf("pull with the old cursor: unexpected change %+v", c)
				}
			}
			var list struct {
				Items []struct {
					ID, Number, Status string
				} `json:"items"`
			}
			get(t, s.URL+"/api/collections/requests/records?perPage=100", tok, &list)
			if len(list.Items) != len(m.Requests) {
				t.Fatalf("%d requests, the fixture has %d", len(list.Items), len(m.Requests))
			}
			for _, r := range list.Items {
				if m.Requests[r.ID] != r.Number || m.Statuses[r.ID] != r.Status {
					t.Fatalf("request %s: %s %s, was %s %s", r.ID, r.Number, r.Status, m.Requests[r.ID], m.Statuses[r.ID])
				}
			}
			for id, code := range m.Receipts {
				var v struct {
					Valid  bool `json:"valid"`
					Claims struct {
						Number string `json:"number"`
					} `json:"claims"`
				}
				call(t, s.URL+"/api/receipts/verify", "", map[string]string{"code": code}, &v)
				if !v.Valid || v.Claims.Number != m.Requests[id] {
					t.Fatalf("receipt of %s: valid %v, number %s", id, v.Valid, v.Claims.Number)
				}
			}
			// the subscription is known: registering it again updates it (200), not a new one (201)
			var sub struct {
				ID string `json:"id"`
			}
			status := call(t, s.URL+"/api/mobile/push/subscriptions", tok, map[string]any{"endpoint": m.Endpoint, "lang": "en", "keys": map[string]string{
				"p256dh": "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U", "auth": "8eDyX_uCN0XRhSbY5hCQoA"}}, &sub)
			if status != http.StatusOK || sub.ID != m.Subscription {
				t.Fatalf("re-subscribe: %d id %s, want 200 and %s", status, sub.ID, m.Subscription)
			}
			// the phone goes on: its next mutation applies, numbering continues past the old numbers
			call(t, s.URL+"/api/mobile/sync/push", tok, map[string]any{"clientID": m.ClientID, "mutations": []map[string]any{{
				"id": m.LastMutationID + 1, "name": "request.create", "args": map[string]any{"requestId": "afterupgrade001", "service": "pothole",
					"answers": map[string]any{"size": "large"}, "description": "after the upgrade", "location": map[string]float64{"lat": 44.4, "lon": 8.9}}}}}, nil)
			var after struct {
				Number string `json:"number"`
			}
			get(t, s.URL+"/api/collections/requests/records/afterupgrade001", tok, &after)
			for _, n := range m.Requests {
				if after.Number <= n {
					t.Fatalf("new request number %s does not follow %s", after.Number, n)
				}
			}
			// the dashboard shows the city's collections only (superuser of scripts/upgradefixture)
			var su struct {
				Token string `json:"token"`
			}
			call(t, s.URL+"/api/collections/_superusers/auth-with-password", "", map[string]string{"identity": "fixture-root@demo.civicdesk.example", "password": "fixture-root-pass-2026"}, &su)
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/collections/users", nil)
			req.Header.Set("Authorization", su.Token)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
				t.Fatalf("the default users collection after the upgrade: %v %v", err, resp.Status)
			}
			if strings.Contains(s.Logs(), "restore detected") {
				t.Fatalf("an upgrade is not a restore:\n%s", s.Logs())
			}
		})
	}
}

func untar(t testing.TB, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(os.PathSeparator)) {
			t.Fatalf("tar entry %s escapes", hdr.Name)
		}
		if hdr.Typeflag == tar.TypeDir {
			_ = os.MkdirAll(dst, 0o700)
			continue
		}
		_ = os.MkdirAll(filepath.Dir(dst), 0o700)
		raw, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func login(t testing.TB, base, email, pass string) string {
	var auth struct {
		Token string `json:"token"`
	}
	call(t, base+"/api/collections/citizens/auth-with-password", "", map[string]string{"identity": email, "password": pass}, &auth)
	return auth.Token
}

func call(t testing.TB, url, token string, body, out any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	return send(t, http.MethodPost, url, token, bytes.NewReader(raw), out)
}

func get(t testing.TB, url, token string, out any) {
	t.Helper()
	send(t, http.MethodGet, url, token, nil, out)
}

func send(t testing.TB, method, url, token string, body io.Reader, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}
