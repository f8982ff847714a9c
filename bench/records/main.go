// Command records measures what the request workflow costs: creates/s of
// `requests` through the records API (rules, hooks, numbering, events, change
// rows, receipt, push outbox) against creates/s of a plain collection with no
// hooks, on the same server in the same run. It prints figures; it asserts
// nothing.
//
//	go run ./bench/records -bin bin/civicdesk -duration 10s -c 16
package main

import (
	"bytes"
	"civicdesk/bench/benchserver"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/civicdesk", "civicdesk binary")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured round")
	conc := flag.Int("c", 16, "concurrent clients")
	rounds := flag.Int("rounds", 2, "alternating rounds per target (plain, requests, plain, ...)")
	cpuprofile := flag.String("cpuprofile", "", "write the server's CPU profile of the whole run to this file")
	flag.Parse()

	srv := benchserver.Start(*bin, *cpuprofile)
	defer srv.Stop()
	base, su := srv.Base, srv.Superuser
	citizenTok, citizenID := benchserver.Login(base, "citizens", "citizen@demo.civicdesk.example", "civicdesk-demo-2026")
	// the baseline: a plain collection with the same field kinds and an open create rule, no hooks
	benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/collections", su, map[string]any{
		"name": "bench_plain", "type": "base", "createRule": "",
		"fields": []map[string]any{
			{"name": "service", "type": "text"}, {"name": "answers", "type": "json"},
			{"name": "location", "type": "geoPoint"}, {"name": "address", "type": "text"},
			{"name": "citizen", "type": "text"}, {"name": "status", "type": "text"},
		},
	}, nil))
	pothole := srv.ServiceID("pothole")

	plainBody := func() any {
		return map[string]any{"service": pothole, "answers": map[string]any{"size": "large", "danger": true},
			"location": map[string]any{"lat": 44.4056, "lon": 8.9463}, "address": "Via Roma 1", "citizen": citizenID, "status": "received"}
	}
	requestBody := func() any {
		return map[string]any{"service": pothole, "answers": map[string]any{"size": "large", "danger": true},
			"location": map[string]any{"lat": 44.4056, "lon": 8.9463}, "address": "Via Roma 1", "citizen": citizenID}
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2}, Timeout: 30 * time.Second}
	results := map[string][]result{}
	run := func(url string, body func() any) result {
		cpu0 := srv.CPU()
		res := load(client, url, citizenTok, body, *conc, *duration)
		if res.OK > 0 {
			res.cpuPerOp = (srv.CPU() - cpu0) / time.Duration(res.OK)
		}
		return res
	}
	for r := 0; r < *rounds; r++ {
		results["plain"] = append(results["plain"], run(base+"/api/collections/bench_plain/records", plainBody))
		results["requests"] = append(results["requests"], run(base+"/api/collections/requests/records", requestBody))
	}

	fmt.Printf("records API creates, %d clients, %d x %s rounds each (synchronous=FULL, request logs on)\n", *conc, *rounds, *duration)
	best := map[string]float64{}
	for _, name := range []string{"plain", "requests"} {
		for i, res := range results[name] {
			fmt.Printf("  %-9s round %d: %7.0f creates/s  p50 %6.1f ms  p95 %6.1f ms  server CPU %6.0f µs/create  errors %d\n", name, i+1, res.Rate, res.P50, res.P95, float64(res.cpuPerOp.Microseconds()), res.Errors)
			if res.Rate > best[name] {
				best[name] = res.Rate
			}
		}
	}
	ratio := best["requests"] / best["plain"]
	fmt.Printf("best: plain %.0f/s, requests %.0f/s -> requests/plain = %.2f (workflow cost %.0f%%)\n",
		best["plain"], best["requests"], ratio, (1-ratio)*100)
	cpu := map[string]time.Duration{}
	for _, name := range []string{"plain", "requests"} {
		for _, res := range results[name] {
			if cpu[name] == 0 || res.cpuPerOp < cpu[name] {
				cpu[name] = res.cpuPerOp
			}
		}
	}
	if cpu["requests"] > 0 {
		fmt.Printf("server CPU per create (lowest round): plain %v, requests %v -> plain/requests = %.2f\n",
			cpu["plain"].Round(time.Microsecond), cpu["requests"].Round(time.Microsecond), float64(cpu["plain"])/float64(cpu["requests"]))
	}
	fmt.Printf("server peak RSS (VmHWM): %.0f MB\n", float64(srv.PeakRSS())/(1<<20))
}

// result is a load round and the server CPU it cost per create.
type result struct {
	benchserver.Result
	cpuPerOp time.Duration
}

// load POSTs body() as JSON to url with token from conc clients for d.
func load(client *http.Client, url, token string, body func() any, conc int, d time.Duration) result {
	return result{Result: benchserver.Load(client, conc, d, func() *http.Request {
		b, _ := json.Marshal(body())
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("authorization", token)
		return req
	})}
}
