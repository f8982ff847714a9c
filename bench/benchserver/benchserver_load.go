package benchserver

import (
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what Load measured: 2xx answers per second, their latency
// percentiles in ms, and the counts of 2xx answers and failures.
type Result struct {
	Rate     float64
	P50, P95 float64
	OK       int64
	Errors   int64
}

// Load runs conc clients sending build()'s request for d and measures the
// 2xx answers (a transport error or another status counts as an error).
func Load(client *http.Client, conc int, d time.Duration, build func() *http.Request) Result {
	var ok, bad atomic.Int64
	var mu sync.Mutex
	var lat []float64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []float64
			for time.Now().Before(deadline) {
				req := build()
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					bad.Add(1)
					continue
				}
				ok.Add(1)
				local = append(local, float64(time.Since(t0).Microseconds())/1000)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	return Result{Rate: float64(ok.Load()) / elapsed, P50: pct(0.5), P95: pct(0.95), OK: ok.Load(), Errors: bad.Load()}
}
