// Command console measures the staff console's routes on a city-sized
// database: 500,000 requests (20,000 open) and 50 staff written directly with
// SQL into a demo city's data dir, then served by the real binary. It prints
// p50/p95 of each queue tab and sort, the counts, each supervisor figure, the
// CSV export of 100,000 rows with the server's RSS growth, and EXPLAIN QUERY
// PLAN of every queue. Times are loopback round trips measured by the client,
// one request at a time (server time plus well under a millisecond). It asserts
// nothing.
//
//	go run ./bench/console -bin bin/civicdesk
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"civicdesk/bench/benchserver"
	"civicdesk/console"

	"github.com/pocketbase/dbx"
	_ "modernc.org/sqlite"
)

const layout = "2006-01-02 15:04:05.000Z"

func main() {
	bin := flag.String("bin", "bin/civicdesk", "civicdesk binary")
	total := flag.Int("requests", 500_000, "requests to seed")
	open := flag.Int("open", 20_000, "of which open")
	rejected := flag.Int("rejected", 100_000, "of which rejected (the CSV export's 100,000 rows)")
	staffN := flag.Int("staff", 50, "staff to seed (10% supervisors)")
	runs := flag.Int("n", 40, "requests per measured case")
	keep := flag.String("dir", "", "data dir to keep: seeded on the first run, measured again (not reseeded) on the next ones; empty = a fresh temporary dir")
	rt := flag.Duration("realtime", 30*time.Second, "realtime fan-out run: 50 staff subscribed while -rate writes/s land (0 = skip)")
	rate := flag.Int("rate", 20, "writes per second of the realtime run")
	figRuns := flag.Int("figures-cpu", 10, "in-process runs of each figure for its CPU time (0 = skip)")
	quick := flag.Bool("figures-only", false, "measure only the supervisor figures (HTTP and in-process), no queues, CSV, realtime")
	flag.Parse()

	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "civicdesk-bench-console-")
		benchserver.Must(err)
		dir = d
		defer os.RemoveAll(dir)
	}
	reuse := alreadySeeded(dir)
	run := func(args ...string) {
		if out, err := exec.Command(*bin, append(args, "--dir", dir)...).CombinedOutput(); err != nil {
			log.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	db, err := dbx.Open("sqlite", filepath.Join(dir, "data.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	benchserver.Must(err)
	var ids seeded
	if !reuse {
		benchserver.Must(os.MkdirAll(dir, 0o755))
		run("demo")
		run("superuser", "upsert", "bench@civicdesk.example", "bench-password-123")
		started := time.Now()
		ids = seed(db, *total, *open, *rejected, *staffN)
		fmt.Printf("seeded %d requests (%d open, %d rejected), %d staff, %d events in %s; ANALYZE done\n",
			*total, *open, *rejected, *staffN, ids.events, time.Since(started).Round(time.Second))
		if *keep != "" {
			benchserver.Must(os.WriteFile(filepath.Join(dir, seededMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644))
		}
	} else {
		ids = reuseSeeded(db)
		fmt.Printf("measuring the seeded data dir %s again\n", dir)
	}
	benchserver.Must(db.NewQuery("SELECT code FROM departments WHERE id = {:id}").Bind(dbx.Params{"id": ids.clerkDept}).Row(&ids.clerkDeptCode))

	addr := freeAddr()
	base := "http://" + addr
	cmd := exec.Command(*bin, "serve", "--http", addr, "--dir", dir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	benchserver.Must(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	serverPID = cmd.Process.Pid
	started := time.Now()
	waitHealthy(base)
	fmt.Printf("server healthy after %s (pending migrations included)\n", time.Since(started).Round(100*time.Millisecond))
	su, _ := benchserver.Login(base, "_superusers", "bench@civicdesk.example", "bench-password-123")
	benchserver.Must(benchserver.Call(base, http.MethodPatch, "/api/settings", su, map[string]any{"rateLimits": map[string]any{"enabled": false}}, nil))
	token := func(id string) string {
		var out struct {
			Token string `json:"token"`
		}
		benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/collections/staff/impersonate/"+id, su, map[string]any{"duration": 3600}, &out))
		return out.Token
	}
	clerk, sup := token(ids.clerk), token(ids.supervisor)

	fmt.Printf("\n%-58s %8s %8s %8s %8s\n", "case (GET, limit 50)", "p50 ms", "p95 ms", "cpu ms", "rows")
	if *quick {
		figureCases(base, sup, ids, *runs)
		if *figRuns > 0 {
			figuresCPU(dir, *figRuns)
		}
		return
	}
	for _, who := range []struct{ name, token string }{{"clerk", clerk}, {"supervisor", sup}} {
		for _, tab := range []string{"mine", "unassigned", "overdue", "open"} {
			for _, s := range []string{"due", "created", "updated", "priority"} {
				measure(base, who.token, fmt.Sprintf("/api/staff/queue?tab=%s&sort=%s", tab, s), who.name, *runs)
			}
		}
		measure(base, who.token, "/api/staff/queue?tab=open&status=resolved&sort=updated", who.name, *runs)
		measure(base, who.token, "/api/staff/queue?q="+ids.someNumber, who.name, *runs)
		measure(base, who.token, "/api/staff/counts", who.name, *runs)
	}
	measurePage2(base, sup, *runs)
	figureCases(base, sup, ids, *runs)
	measure(base, sup, "/api/staff/requests/"+ids.someID, "supervisor file", *runs)

	// twice: the first run also fills SQLite's page caches (cache_size -32000,
	// i.e. up to 32 MB per pooled connection), the second shows what one more
	// export of 100,000 rows adds once they are warm
	csvRun(base, sup, cmd.Process.Pid)
	csvRun(base, sup, cmd.Process.Pid)
	if *figRuns > 0 {
		figuresCPU(dir, *figRuns)
	}
	if *rt > 0 {
		realtimeRun(base, db, token, ids.supervisor, *rate, *rt)
	}

	fmt.Println("\nEXPLAIN QUERY PLAN of each queue (clerk scope, then supervisor):")
	for _, scope := range []console.Scope{{Departments: []string{ids.clerkDept}, StaffID: ids.clerk}, {All: true, StaffID: ids.supervisor}} {
		for _, tab := range []string{"mine", "unassigned", "overdue", "open"} {
			p := &console.QueueParams{Tab: tab, Sort: "due", Limit: 50, Now: time.Now()}
			q, err := console.BuildQueue(p, scope, 51)
			benchserver.Must(err)
			plan := console.ExplainPlan(db, q.SQL, q.Params)
			verdict := "no scan of requests"
			if strings.Contains(plan, "SCAN requests") {
				verdict = "FULL SCAN OF REQUESTS"
			}
			fmt.Printf("-- %s %s (%d partitions): %s\n", map[bool]string{true: "supervisor", false: "clerk"}[scope.All], tab, q.Partitions, verdict)
			for _, line := range strings.Split(strings.TrimSpace(plan), "\n") {
				if strings.Contains(line, "requests") {
					fmt.Println("   ", line)
				}
			}
		}
	}
}

// alreadySeeded reports whether dir holds a data dir this tool seeded
// (its marker is written after the seed committed and was indexed).
func alreadySeeded(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, seededMarker))
	return err == nil
}

const seededMarker = ".bench-console-seeded"

// figureCases measures every supervisor figure over the default eight weeks
// and over 52 weeks (the "cpu ms" column is the server's CPU per request).
func figureCases(base, sup string, ids seeded, runs int) {
	for _, f := range console.Figures {
		measure(base, sup, "/api/staff/stats/"+f, "supervisor", runs/4)
	}
	yearAgo := time.Now().AddDate(0, 0, -363).Format("2006-01-02")
	for _, f := range console.Figures {
		measure(base, sup, "/api/staff/stats/"+f+"?from="+yearAgo, "supervisor 52 weeks", runs/4)
	}
	measure(base, sup, "/api/staff/stats/first_response?from="+yearAgo+"&department="+ids.clerkDeptCode, "supervisor 52 weeks", runs/4)
}

type seeded struct {
	clerk, clerkDept, supervisor string
	clerkDeptCode                string
	someNumber, someID           string
	events                       int
}

// reuseSeeded finds the bench's accounts and a sample request in a seeded dir.
func reuseSeeded(db *dbx.DB) seeded {
	var s seeded
	benchserver.Must(db.NewQuery("SELECT id FROM staff WHERE email LIKE 'bench.staff%' AND role = 'clerk' ORDER BY email LIMIT 1").Row(&s.clerk))
	benchserver.Must(db.NewQuery("SELECT json_extract(departments, '$[0]') FROM staff WHERE id = {:id}").Bind(dbx.Params{"id": s.clerk}).Row(&s.clerkDept))
	benchserver.Must(db.NewQuery("SELECT id FROM staff WHERE email LIKE 'bench.staff%' AND role = 'supervisor' ORDER BY email LIMIT 1").Row(&s.supervisor))
	benchserver.Must(db.NewQuery("SELECT id, number FROM requests WHERE status = 'in_progress' LIMIT 1").Row(&s.someID, &s.someNumber))
	return s
}

func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// seed writes staff, requests and their events with plain SQL in one transaction.
func seed(db *dbx.DB, total, open, rejected, staffN int) seeded {
	var out seeded
	var services []struct {
		ID         string `db:"id"`
		Department string `db:"department"`
		SLA        int    `db:"sla_hours"`
	}
	benchserver.Must(db.NewQuery("SELECT id, department, sla_hours FROM services").All(&services))
	var pw string
	benchserver.Must(db.NewQuery("SELECT password FROM staff LIMIT 1").Row(&pw))
	var citizen string
	benchserver.Must(db.NewQuery("SELECT id FROM citizens LIMIT 1").Row(&citizen))
	depts := map[string][]string{} // department -> clerk ids
	var deptList []string
	for _, s := range services {
		if _, ok := depts[s.Department]; !ok {
			deptList = append(deptList, s.Department)
			depts[s.Department] = nil
		}
	}
	sort.Strings(deptList)
	rnd := mrand.New(mrand.NewSource(1))
	now := time.Now().UTC()
	ts := func(t time.Time) string { return t.UTC().Format(layout) }

	// bulk load: drop the requests/events indexes and triggers (the change
	// sequence), load, then recreate them from their own SQL, which is much
	// faster than maintaining 20 B-trees per row. The bench data therefore has
	// no change rows (sync is not measured here).
	var objects []struct {
		Type string `db:"type"`
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	benchserver.Must(db.NewQuery("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name IN ('requests', 'request_events') AND sql IS NOT NULL").All(&objects))
	for _, o := range objects {
		_, err := db.NewQuery("DROP " + strings.ToUpper(o.Type) + " IF EXISTS `" + o.Name + "`").Execute()
		benchserver.Must(err)
	}
	defer func() {
		for _, o := range objects {
			if o.Type == "index" {
				_, err := db.NewQuery(o.SQL).Execute()
				benchserver.Must(err)
			}
		}
		for _, o := range objects {
			if o.Type == "trigger" {
				_, err := db.NewQuery(o.SQL).Execute()
				benchserver.Must(err)
			}
		}
		// the figures' table of first answers, which its triggers kept during a normal write
		benchserver.Must(console.RebuildFirstResponses(db))
		_, err := db.NewQuery("ANALYZE").Execute()
		benchserver.Must(err)
	}()

	tx, err := db.Begin()
	benchserver.Must(err)
	exec := func(q string, p dbx.Params) {
		if _, err := tx.NewQuery(q).Bind(p).Execute(); err != nil {
			log.Fatalf("%s: %v", q, err)
		}
	}
	for i := 0; i < staffN; i++ {
		id := newID()
		role, deptJSON := "clerk", "[]"
		d := deptList[i%len(deptList)]
		if i%10 == 9 {
			role = "supervisor"
			if out.supervisor == "" {
				out.supervisor = id
			}
		} else {
			deptJSON = `["` + d + `"]`
			depts[d] = append(depts[d], id)
			if out.clerk == "" {
				out.clerk, out.clerkDept = id, d
			}
		}
		key := make([]byte, 25)
		_, _ = rand.Read(key)
		exec("INSERT INTO staff (id, email, emailVisibility, verified, password, tokenKey, name, role, departments, lang, created, updated) VALUES ({:id}, {:email}, FALSE, TRUE, {:pw}, {:key}, {:name}, {:role}, {:d}, 'en', {:now}, {:now})",
			dbx.Params{"id": id, "email": fmt.Sprintf("bench.staff%02d@civicdesk.example", i), "pw": pw, "key": hex.EncodeToString(key), "name": fmt.Sprintf("Bench Staff %02d", i), "role": role, "d": deptJSON, "now": ts(now)})
	}

	insReq := tx.NewQuery("INSERT INTO requests (id, number, citizen, service, status, status_note, answers, description, location, address, photos, department, assignee, priority, source, reported_at, due_at, resolved_at, overdue, fee, currency, paid_at, payment_ref, contact_name, contact_email, contact_phone, anonymized, duplicate_of, created, updated) " +
		"VALUES ({:id}, {:number}, {:citizen}, {:service}, {:status}, '', '{}', {:desc}, {:loc}, {:addr}, '[]', {:dept}, {:assignee}, {:priority}, 'app', '', {:due}, {:resolved}, {:overdue}, 0, '', '', '', '', '', '', FALSE, '', {:created}, {:updated})").Prepare()
	insEv := tx.NewQuery("INSERT INTO request_events (id, request, type, from_status, to_status, message, public, author, author_type, created, updated) VALUES ({:id}, {:request}, {:type}, {:from}, {:to}, '', TRUE, {:author}, {:atype}, {:created}, {:created})").Prepare()
	priorities := []string{"low", "normal", "normal", "normal", "high", "urgent"}
	for i := 0; i < total; i++ {
		svc := services[rnd.Intn(len(services))]
		id := newID()
		status := "resolved"
		var created time.Time
		switch {
		case i < open:
			status = []string{"received", "in_progress", "waiting_citizen"}[rnd.Intn(3)]
			created = now.Add(-time.Duration(rnd.Int63n(int64(60 * 24 * time.Hour))))
		case i < open+rejected:
			status = "rejected"
			created = now.Add(-time.Duration(rnd.Int63n(int64(5 * 365 * 24 * time.Hour))))
		default:
			created = now.Add(-time.Duration(rnd.Int63n(int64(5 * 365 * 24 * time.Hour))))
		}
		due := created.Add(time.Duration(svc.SLA) * time.Hour)
		resolved, updated := "", created
		if status == "resolved" {
			r := created.Add(time.Duration(1+rnd.Intn(int(float64(svc.SLA)*1.5)+1)) * time.Hour)
			if r.After(now) {
				r = now
			}
			resolved, updated = ts(r), r
		}
		assignee := ""
		if clerks := depts[svc.Department]; len(clerks) > 0 && (status != "received" || rnd.Intn(3) == 0) {
			assignee = clerks[rnd.Intn(len(clerks))]
		}
		number := fmt.Sprintf("%d-%07d", created.Year(), i+1)
		if i == open/2 {
			out.someNumber, out.someID = number, id
		}
		isOpen := i < open
		_, err := insReq.Bind(dbx.Params{"id": id, "number": number, "citizen": citizen, "service": svc.ID, "status": status,
			"desc": "Benchmark request " + number, "loc": fmt.Sprintf(`{"lon":%.6f,"lat":%.6f}`, 8.90+rnd.Float64()*0.1, 44.38+rnd.Float64()*0.06),
			"addr": "Via Bench " + fmt.Sprint(1+rnd.Intn(200)), "dept": svc.Department, "assignee": assignee, "priority": priorities[rnd.Intn(len(priorities))],
			"due": ts(due), "resolved": resolved, "overdue": isOpen && due.Before(now), "created": ts(created), "updated": ts(updated)}).Execute()
		benchserver.Must(err)
		_, err = insEv.Bind(dbx.Params{"id": newID(), "request": id, "type": "created", "from": "", "to": "received", "author": citizen, "atype": "citizen", "created": ts(created)}).Execute()
		benchserver.Must(err)
		out.events++
		if status != "received" {
			_, err = insEv.Bind(dbx.Params{"id": newID(), "request": id, "type": "status", "from": "received", "to": status, "author": assignee, "atype": "staff", "created": ts(updated)}).Execute()
			benchserver.Must(err)
			out.events++
		}
	}
	benchserver.Must(tx.Commit())
	return out
}

// serverPID is the measured server (its CPU time per request is printed).
var serverPID int

// cpuTicks is the server's user+system CPU time in clock ticks (1/100 s).
func cpuTicks() int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", serverPID))
	if err != nil {
		return 0
	}
	// the fields after the command name (which may hold spaces): utime and stime are the 12th and 13th
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	var u, s int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &s)
	return u + s
}

// measure prints the client-measured p50/p95 and the server's CPU time per
// request (user+system over the measured requests: independent of the load
// other processes put on the machine, unlike the wall-clock times).
func measure(base, token, path, who string, n int) {
	if n < 5 {
		n = 5
	}
	var times []float64
	rows := 0
	var cpu0 int64
	for i := 0; i < n+2; i++ {
		if i == 2 {
			cpu0 = cpuTicks()
		}
		var out struct {
			Items []any `json:"items"`
			Rows  []any `json:"rows"`
		}
		t0 := time.Now()
		benchserver.Must(benchserver.Call(base, http.MethodGet, path, token, nil, &out))
		if i >= 2 { // two warm-ups
			times = append(times, float64(time.Since(t0).Microseconds())/1000)
		}
		rows = len(out.Items) + len(out.Rows)
	}
	cpuMs := float64(cpuTicks()-cpu0) * 10 / float64(n)
	sort.Float64s(times)
	p := func(q float64) float64 { return times[int(q*float64(len(times)-1)+0.5)] }
	fmt.Printf("%-58s %8.1f %8.1f %8.1f %8d\n", who+" "+strings.TrimPrefix(path, "/api/staff/"), p(0.5), p(0.95), cpuMs, rows)
}

// measurePage2 follows the cursor to the 20th page (keyset paging never gets slower).
func measurePage2(base, token string, n int) {
	var times []float64
	for i := 0; i < n/4+1; i++ {
		after := ""
		for page := 0; page < 20; page++ {
			var out struct {
				Next *string `json:"next"`
			}
			path := "/api/staff/queue?tab=open&sort=created"
			if after != "" {
				path += "&after=" + after
			}
			t0 := time.Now()
			benchserver.Must(benchserver.Call(base, http.MethodGet, path, token, nil, &out))
			if page == 19 {
				times = append(times, float64(time.Since(t0).Microseconds())/1000)
			}
			if out.Next == nil {
				break
			}
			after = *out.Next
		}
	}
	sort.Float64s(times)
	fmt.Printf("%-58s %8.1f %8.1f %8s %8d\n", "supervisor queue?tab=open&sort=created page 20", times[len(times)/2], times[len(times)-1], "", 50)
}

func rssKB(pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), field+":") {
			var kb int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(sc.Text(), field+":")), "%d", &kb)
			return kb
		}
	}
	return 0
}

func csvRun(base, token string, pid int) {
	before := rssKB(pid, "VmRSS")
	var peak atomic.Int64
	peak.Store(int64(before))
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				if r := int64(rssKB(pid, "VmRSS")); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/staff/export.csv?tab=open&status=rejected", nil)
	req.Header.Set("Authorization", token)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	benchserver.Must(err)
	first := time.Duration(0)
	lines, bytes := 0, 0
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 && first == 0 {
			first = time.Since(t0)
		}
		bytes += n
		lines += strings.Count(string(buf[:n]), "\n")
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	took := time.Since(t0)
	close(stop)
	fmt.Printf("\nCSV export.csv?status=rejected: %d rows (+header), %.1f MB in %s (first byte after %s); server RSS %d MB before, peak %d MB during: growth %.1f MB\n",
		lines-1, float64(bytes)/1e6, took.Round(time.Millisecond), first.Round(time.Millisecond), before/1024, peak.Load()/1024, float64(peak.Load()-int64(before))/1024)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	benchserver.Must(err)
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(base string) {
	deadline := time.Now().Add(15 * time.Minute) // a reused dir may run a migration's backfill first
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatal("server did not become healthy")
}
