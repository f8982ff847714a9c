package doctor_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civicdesk/city"
	. "civicdesk/doctor"
	"civicdesk/push"
	"civicdesk/receipts"
	"civicdesk/recovery"
	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
)

// goodDeployment is a test app set up as a city should run it.
func goodDeployment(t *testing.T) (*testkit.World, Options) {
	t.Helper()
	w := testkit.NewApp(t)
	app := w.App
	w.Handler(t) // serve's start-up: restore detection writes the witness
	// one citizen request, so the database has a newest write to compare the clock with
	push1 := `{"clientID":"doctor-phone","mutations":[{"id":1,"name":"request.create","args":{"requestId":"doctorrequest01","service":"pothole","answers":{"size":"large"},"description":"d","location":{"lat":44.4,"lon":8.9}}}]}`
	if r := w.Do(t, "POST", "/api/mobile/sync/push", testkit.Token(t, w.CitizenA), push1); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	cfg := city.Of(app)
	cfg.PublicURL = "https://segnalazioni.comune.example"
	city.Set(app, cfg)
	s := app.Settings()
	s.SMTP.Enabled, s.SMTP.Host, s.SMTP.Port = true, "smtp.comune.example", 587
	s.TrustedProxy.Headers = []string{"X-Forwarded-For"}
	if err := os.Chmod(app.DataDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := receipts.Of(app).KeyStore(); err != nil {
		t.Fatal(err)
	}
	if _, err := push.LoadOrCreateKeys(app.DataDir()); err != nil {
		t.Fatal(err)
	}
	if err := app.CreateBackup(context.Background(), "doctor_good.zip"); err != nil {
		t.Fatal(err)
	}
	opts := Options{Now: time.Now, Processes: func() []string {
		return []string{"/usr/local/bin/litestream replicate -config /etc/civicdesk/litestream.yml"}
	}}
	return w, opts
}

func statusOf(checks []Check, name string) Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return Check{Status: "absent"}
}

func TestDoctorGoodDeployment(t *testing.T) {
	w, opts := goodDeployment(t)
	opts.MailTo = "it@comune.example"
	checks := Run(w.App, opts)
	var out bytes.Buffer
	if n := Print(&out, checks); n != 0 {
		t.Fatalf("%d problems on a good deployment:\n%s", n, out.String())
	}
	for _, c := range checks {
		if c.Status != OK {
			t.Errorf("%s: %s %s", c.Name, c.Status, c.Message)
		}
	}
	if w.App.TestMailer.TotalSend() != 1 || !strings.Contains(out.String(), "No problems found.") {
		t.Fatalf("test mail sent %d times; output:\n%s", w.App.TestMailer.TotalSend(), out.String())
	}
}

// TestDoctorBadDeployment breaks one thing at a time: that check, and only
// that one, reports it, with a fix.
func TestDoctorBadDeployment(t *testing.T) {
	cases := []struct {
		check string
		want  string
		spoil func(t *testing.T, app core.App, opts *Options)
	}{
		{"public URL", Fail, func(t *testing.T, app core.App, _ *Options) {
			cfg := city.Of(app)
			cfg.PublicURL = "http://segnalazioni.comune.example"
			city.Set(app, cfg)
		}},
		{"mail (SMTP)", Fail, func(t *testing.T, app core.App, _ *Options) { app.Settings().SMTP.Enabled = false }},
		{"data dir", Fail, func(t *testing.T, app core.App, _ *Options) { _ = os.Chmod(app.DataDir(), 0o755) }},
		{"key files", Fail, func(t *testing.T, app core.App, _ *Options) {
			_ = os.Chmod(filepath.Join(app.DataDir(), receipts.KeyFileName), 0o644)
		}},
		{"key files", Fail, func(t *testing.T, app core.App, _ *Options) {
			_ = os.Remove(filepath.Join(app.DataDir(), push.KeyFileName))
		}},
		{"backups", Fail, func(t *testing.T, app core.App, opts *Options) {
			opts.Now = func() time.Time { return time.Now().Add(30 * time.Hour) } // the newest backup is 30 h old
		}},
		{"backups", Fail, func(t *testing.T, app core.App, _ *Options) {
			_ = os.RemoveAll(filepath.Join(app.DataDir(), "backups"))
		}},
		{"off-site copy", Fail, func(t *testing.T, app core.App, opts *Options) { opts.Processes = func() []string { return nil } }},
		{"trusted proxy", Warn, func(t *testing.T, app core.App, _ *Options) { app.Settings().TrustedProxy.Headers = nil }},
		{"disk space", Fail, func(t *testing.T, app core.App, opts *Options) {
			opts.FreeBytes = func(string) (uint64, error) { return 100 << 20, nil }
		}},
		{"clock", Fail, func(t *testing.T, app core.App, opts *Options) {
			opts.Now = func() time.Time { return time.Now().Add(-time.Hour) } // set back an hour
		}},
		{"restore witness", Warn, func(t *testing.T, app core.App, _ *Options) {
			_ = os.Remove(filepath.Join(app.DataDir(), recovery.WitnessFile))
		}},
	}
	for _, c := range cases {
		t.Run(c.check, func(t *testing.T) {
			w, opts := goodDeployment(t)
			c.spoil(t, w.App, &opts)
			checks := Run(w.App, opts)
			got := statusOf(checks, c.check)
			if got.Status != c.want || got.Fix == "" {
				t.Fatalf("%s: %s %q (fix %q), want %s with a fix", c.check, got.Status, got.Message, got.Fix, c.want)
			}
			for _, other := range checks {
				if other.Name != c.check && other.Status != OK && !(c.check == "backups" && other.Name == "clock") {
					t.Errorf("%s also reports %s: %s", other.Name, other.Status, other.Message)
				}
			}
			if n := Print(&bytes.Buffer{}, checks); (n > 0) != (c.want == Fail) {
				t.Fatalf("failures counted %d for a %s", n, c.want)
			}
		})
	}
}
