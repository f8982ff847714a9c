// Command open311 measures the Open311 endpoint on the real binary: GET
// requests.json answering 1,000 requests out of -n (100,000) in the database
// (seeded with SQL), as requests/s and p95; and POST requests.json creates/s
// against records-API creates of the same service, alternating in the same
// run. It prints figures; it asserts nothing.
//
//	go run ./bench/open311 -bin bin/civicdesk -n 100000 -duration 10s -c 8
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"civicdesk/bench/benchserver"
	"civicdesk/sqlitedb"

	"github.com/pocketbase/dbx"
)

func main() {
	bin := flag.String("bin", "bin/civicdesk", "civicdesk binary")
	n := flag.Int("n", 100000, "requests seeded into the database")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured round")
	conc := flag.Int("c", 8, "concurrent clients")
	rounds := flag.Int("rounds", 2, "alternating rounds per create target")
	flag.Parse()

	srv := benchserver.Start(*bin)
	defer srv.Stop()
	base, su := srv.Base, srv.Superuser

	// the demo key, with its rate limit lifted for the load generator
	var keys struct {
		Items []struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"items"`
	}
	benchserver.Must(benchserver.Call(base, http.MethodGet, "/api/collections/api_clients/records", su, nil, &keys))
	if len(keys.Items) == 0 {
		log.Fatal("no demo api client")
	}
	key := keys.Items[0].Key
	benchserver.Must(benchserver.Call(base, http.MethodPatch, "/api/collections/api_clients/records/"+keys.Items[0].ID, su, map[string]any{"rate_limit": 100000}, nil))

	t0 := time.Now()
	seed(srv, *n)
	fmt.Printf("seeded %d requests with SQL in %.1f s\n", *n, time.Since(t0).Seconds())

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2}, Timeout: 60 * time.Second}
	listURL := base + "/open311/v2/requests.json"
	var first []map[string]any
	benchserver.Must(benchserver.Call(base, http.MethodGet, "/open311/v2/requests.json", "", nil, &first))
	fmt.Printf("GET requests.json answers %d requests (newest %v)\n", len(first), first[0]["requested_datetime"])

	get := benchserver.Load(client, *conc, *duration, func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, listURL, nil)
		return req
	})
	getXML := benchserver.Load(client, *conc, *duration, func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+"/open311/v2/requests.xml", nil)
		return req
	})
	fmt.Printf("GET requests.json (1,000 of %d), %d clients, %s: %6.1f req/s  p50 %6.1f ms  p95 %6.1f ms  errors %d\n", *n, *conc, *duration, get.Rate, get.P50, get.P95, get.Errors)
	fmt.Printf("GET requests.xml  (1,000 of %d), %d clients, %s: %6.1f req/s  p50 %6.1f ms  p95 %6.1f ms  errors %d\n", *n, *conc, *duration, getXML.Rate, getXML.P50, getXML.P95, getXML.Errors)

	citizenTok, citizenID := benchserver.Login(base, "citizens", "citizen@demo.civicdesk.example", "civicdesk-demo-2026")
	pothole := srv.ServiceID("pothole")
	form := url.Values{"api_key": {key}, "service_code": {"pothole"}, "lat": {"44.4056"}, "long": {"8.9463"},
		"attribute[size]": {"large"}, "attribute[danger]": {"true"}, "address_string": {""}, "description": {"Bench pothole"}}.Encode()
	recordBody, _ := json.Marshal(map[string]any{"service": pothole, "answers": map[string]any{"size": "large", "danger": true},
		"location": map[string]any{"lat": 44.4056, "lon": 8.9463}, "description": "Bench pothole", "citizen": citizenID})
	results := map[string][]benchserver.Result{}
	for r := 0; r < *rounds; r++ {
		results["records"] = append(results["records"], benchserver.Load(client, *conc, *duration, func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, base+"/api/collections/requests/records", bytes.NewReader(recordBody))
			req.Header.Set("content-type", "application/json")
			req.Header.Set("authorization", citizenTok)
			return req
		}))
		results["open311"] = append(results["open311"], benchserver.Load(client, *conc, *duration, func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, base+"/open311/v2/requests.json", strings.NewReader(form))
			req.Header.Set("content-type", "application/x-www-form-urlencoded")
			return req
		}))
	}
	fmt.Printf("creates of pothole requests, %d clients, %d x %s rounds each (synchronous=FULL)\n", *conc, *rounds, *duration)
	best := map[string]float64{}
	for _, name := range []string{"records", "open311"} {
		for i, res := range results[name] {
			fmt.Printf("  %-8s round %d: %7.1f creates/s  p50 %6.1f ms  p95 %6.1f ms  errors %d\n", name, i+1, res.Rate, res.P50, res.P95, res.Errors)
			best[name] = max(best[name], res.Rate)
		}
	}
	fmt.Printf("best: records API %.0f/s, Open311 POST %.0f/s -> open311/records = %.2f\n", best["records"], best["open311"], best["open311"]/best["records"])
}

// seed inserts n requests over the last 80 days straight into the database
// (one statement; the change-sequence triggers run as for any write), spread
// over the demo services, a quarter of them closed, all due in 100 days (so
// the SLA job has nothing to flag while the load runs).
func seed(srv *benchserver.Server, n int) {
	db, err := sqlitedb.Connect(filepath.Join(srv.Dir(), "data.db"))
	benchserver.Must(err)
	defer db.Close()
	var services []struct {
		ID         string `db:"id"`
		Department string `db:"department"`
	}
	benchserver.Must(db.NewQuery("SELECT id, department FROM services ORDER BY code").All(&services))
	var cases, depts strings.Builder
	for i, s := range services {
		fmt.Fprintf(&cases, " WHEN %d THEN '%s'", i, s.ID)
		fmt.Fprintf(&depts, " WHEN %d THEN '%s'", i, s.Department)
	}
	step := (80 * 24 * 3600) / n
	if step < 1 {
		step = 1
	}
	_, err = db.NewQuery(fmt.Sprintf(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {:n})
		INSERT INTO requests (id, number, service, department, status, status_note, description, address, location, answers, source, priority, created, updated, due_at)
		SELECT printf('bench%%010d', i), printf('2025-B%%06d', i), CASE i %% %d %s END, CASE i %% %d %s END,
			CASE WHEN i %% 4 = 0 THEN 'resolved' WHEN i %% 4 = 1 THEN 'in_progress' ELSE 'received' END, '',
			'Seeded request ' || i, 'Via di Prova ' || (i %% 300), json_object('lon', 8.9 + (i %% 1000) / 10000.0, 'lat', 44.4 + (i %% 700) / 10000.0),
			json_object('size', 'large'), 'app', 'normal',
			strftime('%%Y-%%m-%%d %%H:%%M:%%fZ', 'now', printf('-%%d seconds', i * %d)),
			strftime('%%Y-%%m-%%d %%H:%%M:%%fZ', 'now', printf('-%%d seconds', i * %d)),
			strftime('%%Y-%%m-%%d %%H:%%M:%%fZ', 'now', printf('-%%d seconds', i * %d), '+100 days')
		FROM seq`, len(services), cases.String(), len(services), depts.String(), step, step, step)).Bind(dbx.Params{"n": n}).Execute()
	benchserver.Must(err)
}
