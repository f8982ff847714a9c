package jobs_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"civicdesk/changelog"
	"civicdesk/city"
	"civicdesk/jobs"
	"civicdesk/push"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
	"github.com/pocketbase/pocketbase/tools/types"
)

func newWorld(t *testing.T, adjust ...func(*city.Config)) *testkit.World {
	t.Helper()
	cfg := city.Default()
	cfg.PushAllowHosts = []string{"127.0.0.1:9999"}
	for _, a := range adjust {
		a(&cfg)
	}
	return testkit.NewApp(t, testkit.WithCity(cfg))
}

func reload(t *testing.T, app core.App, rec *core.Record) *core.Record {
	t.Helper()
	fresh, err := app.FindRecordById(rec.Collection().Name, rec.Id)
	if err != nil {
		t.Fatal(err)
	}
	return fresh
}

// setAsSystem changes fields of a request as the system actor (through the workflow hooks).
func setAsSystem(t *testing.T, app core.App, rec *core.Record, fields map[string]any) *core.Record {
	t.Helper()
	fresh := reload(t, app, rec)
	fresh.Load(fields)
	workflow.AttachActor(fresh, workflow.System)
	if err := app.Save(fresh); err != nil {
		t.Fatal(err)
	}
	return fresh
}

func TestSLAWatch(t *testing.T) {
	w := newWorld(t)
	w.App.Settings().SMTP.Enabled = true   // the test app's mailer records what is sent
	now := time.Now().Add(100 * time.Hour) // the pothole SLA is 72 h

	late := w.NewRequest(t, w.CitizenA)
	closed := w.MoveTo(t, w.NewRequest(t, w.CitizenA), workflow.StatusResolved)
	extended := setAsSystem(t, w.App, w.NewRequest(t, w.CitizenB), map[string]any{"due_at": now.Add(10 * time.Hour)})

	cases := []struct {
		name       string
		wantMarked int64
		wantMails  int
	}{
		{"first run marks and tells", 1, 1},
		{"second run has nothing new", 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := jobs.SLAWatch(w.App, now)
			if err != nil {
				t.Fatal(err)
			}
			if rep["marked"] != tc.wantMarked || rep["errors"] != 0 {
				t.Errorf("report %v, want %d marked", rep, tc.wantMarked)
			}
			if got := w.App.TestMailer.TotalSend(); got != tc.wantMails {
				t.Errorf("%d emails, want %d", got, tc.wantMails)
			}
		})
	}
	if !reload(t, w.App, late).GetBool("overdue") {
		t.Error("the late request is not marked overdue")
	}
	for _, r := range []*core.Record{closed, extended} {
		if reload(t, w.App, r).GetBool("overdue") {
			t.Errorf("request %s (%s) marked overdue", r.GetString("number"), r.GetString("status"))
		}
	}
	msg := w.App.TestMailer.LastMessage()
	if len(msg.To) == 0 || msg.To[0].Address != w.Supervisor.Email() {
		t.Errorf("mail to %v, want the supervisor %s", msg.To, w.Supervisor.Email())
	}
	number := reload(t, w.App, late).GetString("number")
	if !strings.Contains(msg.Text, number) || !strings.Contains(msg.Text, "/staff/#/requests/"+late.Id) {
		t.Errorf("mail text lacks the request: %q", msg.Text)
	}
	for _, personal := range []string{w.CitizenA.Email(), "Via Roma"} {
		if strings.Contains(msg.Text, personal) {
			t.Errorf("mail contains personal data %q", personal)
		}
	}
}

func TestSLAWatchWithoutSMTPOnlyLogs(t *testing.T) {
	w := newWorld(t)
	w.NewRequest(t, w.CitizenA)
	rep, err := jobs.SLAWatch(w.App, time.Now().Add(100*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep["marked"] != 1 || rep["emails"] != 0 || w.App.TestMailer.TotalSend() != 0 {
		t.Errorf("report %v, %d mails", rep, w.App.TestMailer.TotalSend())
	}
}

// enquiry files a general enquiry with free-text and choice answers.
func enquiry(t *testing.T, w *testkit.World, citizen *core.Record) *core.Record {
	t.Helper()
	col, _ := w.App.FindCollectionByNameOrId("requests")
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"service":     w.Services["enquiry"],
		"citizen":     citizen.Id,
		"description": "Please call me back on +39 333 1234567",
		"address":     "Via Garibaldi 12, interno 4",
		"answers":     map[string]any{"topic": "My neighbour Mario Rossi", "question": "Why is his car always here?", "reply_by": "email"},
	})
	workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id})
	if err := w.App.Save(rec); err != nil {
		t.Fatalf("file enquiry: %v", err)
	}
	return rec
}

func TestRetention(t *testing.T) {
	w := newWorld(t, func(c *city.Config) { c.RetentionYears = 5 })
	closed := enquiry(t, w, w.CitizenA)
	closed = setAsSystem(t, w.App, closed, map[string]any{"status_note": "Answered by phone to Mario.", "status": workflow.StatusResolved})
	open := w.NewRequest(t, w.CitizenA)
	before := reload(t, w.App, closed)

	cases := []struct {
		name     string
		now      time.Time
		wantAnon int64
	}{
		{"four years later nothing is due", time.Now().AddDate(4, 0, 0), 0},
		{"six years later the closed request goes", time.Now().AddDate(6, 0, 0), 1},
		{"a second run finds nothing", time.Now().AddDate(6, 0, 1), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := jobs.Retention(w.App, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if rep["anonymised"] != tc.wantAnon || rep["errors"] != 0 {
				t.Errorf("report %v, want %d anonymised", rep, tc.wantAnon)
			}
		})
	}

	after := reload(t, w.App, closed)
	for _, f := range []string{"citizen", "description", "address", "status_note", "contact_name", "contact_email", "contact_phone"} {
		if after.GetString(f) != "" {
			t.Errorf("%s kept: %q", f, after.GetString(f))
		}
	}
	if len(after.GetStringSlice("photos")) != 0 {
		t.Error("photos kept")
	}
	if loc := after.GetGeoPoint("location"); loc.Lat != 0 || loc.Lon != 0 {
		t.Errorf("location kept: %+v", loc)
	}
	var answers map[string]any
	_ = json.Unmarshal([]byte(after.GetString("answers")), &answers)
	if len(answers) != 1 || answers["reply_by"] != "email" {
		t.Errorf("answers %v, want only the choice reply_by", answers)
	}
	for _, f := range []string{"number", "service", "department", "status", "resolved_at", "due_at", "created"} {
		if after.GetString(f) != before.GetString(f) || after.GetString(f) == "" {
			t.Errorf("statistic %s changed or empty: %q -> %q", f, before.GetString(f), after.GetString(f))
		}
	}
	if !after.GetBool("anonymized") {
		t.Error("not flagged anonymized")
	}
	events, _ := w.App.FindAllRecords("request_events", dbx.HashExp{"request": closed.Id})
	if len(events) < 2 {
		t.Fatalf("%d events, want the created and status events kept", len(events))
	}
	for _, e := range events {
		if e.GetString("message") != "" || e.GetString("author") != "" {
			t.Errorf("event %s keeps %q by %q", e.GetString("type"), e.GetString("message"), e.GetString("author"))
		}
	}
	if reload(t, w.App, open).GetString("citizen") != w.CitizenA.Id {
		t.Error("an open request was anonymised")
	}
}

func TestRetentionDisabled(t *testing.T) {
	w := newWorld(t, func(c *city.Config) { c.RetentionYears = 0 })
	closed := w.MoveTo(t, w.NewRequest(t, w.CitizenA), workflow.StatusResolved)
	if _, err := jobs.Retention(w.App, time.Now().AddDate(50, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if reload(t, w.App, closed).GetString("citizen") == "" {
		t.Error("retention ran although disabled")
	}
}

func subscription(t *testing.T, app core.App, citizen *core.Record, name string, fields map[string]any) *core.Record {
	t.Helper()
	col, _ := app.FindCollectionByNameOrId(push.CollectionSubscriptions)
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"citizen":  citizen.Id,
		"endpoint": "http://127.0.0.1:9999/push/" + name,
		"keys":     map[string]string{"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"},
	})
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if _, err := app.DB().NewQuery("UPDATE push_subscriptions SET [[" + k + "]] = {:v} WHERE id = {:id}").Bind(dbx.Params{"v": v, "id": rec.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	return rec
}

func TestDeadSubscriptions(t *testing.T) {
	w := newWorld(t)
	now := time.Now().Add(200 * 24 * time.Hour)
	failing := subscription(t, w.App, w.CitizenA, "failing", map[string]any{"failures": push.MaxFailures})
	silent := subscription(t, w.App, w.CitizenA, "silent", nil)
	delivered := subscription(t, w.App, w.CitizenA, "delivered", map[string]any{"last_success": types.NowDateTime().Add(190 * 24 * time.Hour).String()})
	reregistered := subscription(t, w.App, w.CitizenB, "reregistered", map[string]any{"updated": types.NowDateTime().Add(199 * 24 * time.Hour).String()})
	// a quiet device of a citizen who filed a request lately is alive
	active, err := testkit.NewAccount(w.App, "citizens", "citizen.c@demo.civicdesk.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	activeSub := subscription(t, w.App, active, "active", nil)
	recent := w.NewRequest(t, active)
	if _, err := w.App.DB().NewQuery("UPDATE requests SET created = {:c} WHERE id = {:id}").Bind(dbx.Params{"c": types.NowDateTime().Add(150 * 24 * time.Hour).String(), "id": recent.Id}).Execute(); err != nil {
		t.Fatal(err)
	}

	rep, err := jobs.DeadSubscriptions(w.App, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep["deleted"] != 2 {
		t.Errorf("report %v, want 2 deleted", rep)
	}
	cases := []struct {
		rec  *core.Record
		kept bool
	}{{failing, false}, {silent, false}, {delivered, true}, {reregistered, true}, {activeSub, true}}
	for _, tc := range cases {
		_, err := w.App.FindRecordById(push.CollectionSubscriptions, tc.rec.Id)
		if (err == nil) != tc.kept {
			t.Errorf("%s: kept=%v, want %v", tc.rec.GetString("endpoint"), err == nil, tc.kept)
		}
	}
}

func TestOutboxSweep(t *testing.T) {
	w := newWorld(t)
	subscription(t, w.App, w.CitizenA, "dev", nil)
	now := time.Now()
	queue := func(state string, fields map[string]any) {
		r := w.NewRequest(t, w.CitizenA) // each message of its own request, so none supersedes another
		err := w.App.RunInTransaction(func(tx core.App) error {
			if _, err := push.Enqueue(tx, w.CitizenA.Id, push.Message{Kind: push.KindStatus, RequestID: r.Id, Number: "x", Status: "received"}, now, time.Hour); err != nil {
				return err
			}
			// only the row just queued (a receipt issued on filing queued one too, now
			// superseded); its state last, as the row is found by its pending state
			for k, v := range fields {
				if _, err := tx.DB().NewQuery("UPDATE push_outbox SET [[" + k + "]] = {:v} WHERE request = {:r} AND state = 'pending'").Bind(dbx.Params{"v": v, "r": r.Id}).Execute(); err != nil {
					return err
				}
			}
			if _, err := tx.DB().NewQuery("UPDATE push_outbox SET state = {:s} WHERE request = {:r} AND state = 'pending'").Bind(dbx.Params{"s": state, "r": r.Id}).Execute(); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(types.DefaultDateLayout) }
	queue(push.StateSending, map[string]any{"lease_until": ts(-time.Minute)}) // its process died
	queue(push.StateSending, map[string]any{"lease_until": ts(time.Minute)})  // still in flight
	queue(push.StatePending, map[string]any{"expires_at": ts(-time.Second)})  // past its TTL
	queue(push.StateSent, map[string]any{"updated": ts(-8 * 24 * time.Hour)}) // old history
	queue(push.StateSent, map[string]any{"updated": ts(-time.Hour)})          // recent history

	rep, err := jobs.OutboxSweep(w.App, now)
	if err != nil {
		t.Fatal(err)
	}
	want := jobs.Report{"requeued": 1, "expired": 1, "deleted": 1}
	for k, v := range want {
		if rep[k] != v {
			t.Errorf("%s = %d, want %d (report %v)", k, rep[k], v, rep)
		}
	}
}

func TestTombstones(t *testing.T) {
	w := newWorld(t, func(c *city.Config) { c.TombstoneDays = 30 })
	w.NewRequest(t, w.CitizenA)
	cases := []struct {
		name       string
		now        time.Time
		wantPruned bool
	}{
		{"within the window nothing goes", time.Now().AddDate(0, 0, 29), false},
		{"past the window the sequence is pruned", time.Now().AddDate(0, 0, 31), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := jobs.Tombstones(w.App, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if (rep["pruned"] > 0) != tc.wantPruned {
				t.Errorf("report %v", rep)
			}
			floor, _ := changelog.Floor(w.App.DB())
			if (floor > 0) != tc.wantPruned || floor != rep["floor"] {
				t.Errorf("floor %d, report %v", floor, rep)
			}
		})
	}
}

func TestSchedulerDefaults(t *testing.T) {
	w := newWorld(t, func(c *city.Config) {
		loc, _ := time.LoadLocation("Europe/Tallinn")
		c.TimeZone, c.Location = "Europe/Tallinn", loc
	})
	s, err := jobs.NewScheduler(w.App, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Location().String() != "Europe/Tallinn" {
		t.Errorf("location %v", s.Location())
	}
	s.Start()
	defer s.Stop()
	next := s.Next(jobs.JobRetention)
	if next.IsZero() {
		t.Fatal("retention not scheduled")
	}
	if local := next.In(s.Location()); local.Hour() != 2 || local.Minute() != 30 {
		t.Errorf("retention runs at %v local time, want 02:30 in the city", local)
	}
	for _, name := range []string{jobs.JobOutboxSweep, jobs.JobSLAWatch, jobs.JobDeadSubscriptions, jobs.JobTombstones} {
		if s.Next(name).IsZero() {
			t.Errorf("%s not scheduled", name)
		}
	}
}

func TestSchedulerRecoversAndStopWaits(t *testing.T) {
	w := newWorld(t)
	var panics, runs atomic.Int32
	started := make(chan struct{}, 10)
	var finished atomic.Bool
	s, err := jobs.NewScheduler(w.App, jobs.Options{Jobs: []jobs.Job{
		{Name: "panics", Spec: "@every 1s", Run: func(core.App, time.Time) (jobs.Report, error) {
			panics.Add(1)
			panic("boom")
		}},
		{Name: "slow", Spec: "@every 1s", Run: func(core.App, time.Time) (jobs.Report, error) {
			runs.Add(1)
			finished.Store(false)
			started <- struct{}{}
			time.Sleep(300 * time.Millisecond)
			finished.Store(true)
			return jobs.Report{"slept": 1}, nil
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow job never started")
	}
	s.Stop()
	if !finished.Load() {
		t.Error("Stop returned while a job was running")
	}
	if panics.Load() == 0 {
		t.Error("the panicking job never ran")
	}
	if rep, err := s.RunNow("slow"); err != nil || rep["slept"] != 1 {
		t.Errorf("RunNow: %v %v", rep, err)
	}
}

// Each run's outcome reaches PocketBase's log store, which the dashboard shows.
func TestJobRunsAreLogged(t *testing.T) {
	w := newWorld(t)
	w.App.Settings().Logs.MaxDays = 7 // the test app turns log persistence off
	w.NewRequest(t, w.CitizenA)
	s, err := jobs.NewScheduler(w.App, jobs.Options{Now: func() time.Time { return time.Now().Add(100 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunNow(jobs.JobSLAWatch); err != nil {
		t.Fatal(err)
	}
	var data string
	deadline := time.Now().Add(15 * time.Second) // the log writer flushes every 3 s
	for {
		err := w.App.AuxDB().Select("data").From("_logs").Where(dbx.HashExp{"message": "job " + jobs.JobSLAWatch + " done"}).Row(&data)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log entry for the run: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(data), &fields); err != nil {
		t.Fatal(err)
	}
	if fields["job"] != jobs.JobSLAWatch || fields["marked"] != float64(1) {
		t.Errorf("log data %v, want the job name and its counts", fields)
	}
}

func TestRetentionDeletesPhotoFiles(t *testing.T) {
	w := newWorld(t, func(c *city.Config) { c.RetentionYears = 1 })
	var buf bytes.Buffer
	if err := pngEncode(&buf); err != nil {
		t.Fatal(err)
	}
	file, err := filesystem.NewFileFromBytes(buf.Bytes(), "hole.png")
	if err != nil {
		t.Fatal(err)
	}
	req := setAsSystem(t, w.App, w.NewRequest(t, w.CitizenA), map[string]any{"photos": []any{file}})
	names := req.GetStringSlice("photos")
	if len(names) != 1 {
		t.Fatalf("photos %v", names)
	}
	w.MoveTo(t, req, workflow.StatusResolved)

	fsys, err := w.App.NewFilesystem()
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	key := req.BaseFilesPath() + "/" + names[0]
	if ok, _ := fsys.Exists(key); !ok {
		t.Fatalf("photo %s not stored", key)
	}
	if _, err := jobs.Retention(w.App, time.Now().AddDate(2, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := fsys.Exists(key); ok {
		t.Errorf("photo file %s still stored after anonymisation", key)
	}
	if got := reload(t, w.App, req).GetStringSlice("photos"); len(got) != 0 {
		t.Errorf("photos %v", got)
	}
}

func pngEncode(w io.Writer) error {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	return png.Encode(w, img)
}

func TestRegisterFollowsServe(t *testing.T) {
	w := newWorld(t)
	jobs.Register(w.App)
	if jobs.Of(w.App) != nil {
		t.Fatal("scheduler runs before serve")
	}
	w.Handler(t) // triggers OnServe, as `civicdesk serve` does
	s := jobs.Of(w.App)
	if s == nil || s.Next(jobs.JobSLAWatch).IsZero() {
		t.Fatal("scheduler not started on serve")
	}
	if err := w.App.OnTerminate().Trigger(&core.TerminateEvent{App: w.App}); err != nil {
		t.Fatal(err)
	}
	if jobs.Of(w.App) != nil {
		t.Error("scheduler still registered after terminate")
	}
}
