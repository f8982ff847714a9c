// Command sync measures the offline sync API of a real civicdesk binary and
// prints figures (it asserts nothing): push mutations/s at batch sizes 1, 20
// and 100 against records-API creates/s of the same requests in the same
// run; empty pulls/s and 200-change pulls/s; and a reconnect storm of N
// clients at once, each pushing 5 mutations and uploading one ~300 KB photo
// over tus, with the time until all is applied and the server's peak RSS.
//
//	go run ./bench/sync -bin bin/civicdesk -duration 5s -c 8 -storm 1000
package main

import (
	"bytes"
	"civicdesk/bench/benchserver"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/civicdesk", "civicdesk binary")
	duration := flag.Duration("duration", 5*time.Second, "length of each throughput measurement")
	conc := flag.Int("c", 8, "concurrent clients for the throughput measurements")
	storm := flag.Int("storm", 1000, "clients in the reconnect storm (0 skips it)")
	photoKB := flag.Int("photo-kb", 300, "approximate photo size in the storm, KB")
	cpuprofile := flag.String("cpuprofile", "", "write the server's CPU profile of the whole run to this file")
	stormOnly := flag.Bool("storm-only", false, "skip the throughput measurements and run only the storm")
	flag.Parse()

	srv := benchserver.Start(*bin, *cpuprofile)
	defer srv.Stop()
	base, su := srv.Base, srv.Superuser
	citizens := makeCitizens(base, su, max(*conc, min(*storm/10, 100)))
	pothole := srv.ServiceID("pothole")
	serverCPU = srv.CPU

	fmt.Printf("civicdesk sync bench: %d concurrent clients, %s per measurement, GOMAXPROCS of the server = its default\n", *conc, *duration)
	fmt.Printf("(server CPU = user+sys of the server process per unit; the ratios compare with plain PocketBase in this run)\n\n")

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 0}, Timeout: 60 * time.Second}

	if *stormOnly {
		runStormPhase(srv, citizens, *storm, *photoKB)
		return
	}

	// the baselines: plain PocketBase on a collection with the same field kinds, no hooks
	benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/collections", su, map[string]any{
		"name": "bench_plain", "type": "base", "createRule": "", "viewRule": "",
		"fields": []map[string]any{
			{"name": "service", "type": "text"}, {"name": "answers", "type": "json"},
			{"name": "location", "type": "geoPoint"}, {"name": "address", "type": "text"},
			{"name": "citizen", "type": "text"}, {"name": "status", "type": "text"},
		},
	}, nil))
	plain := measure(*conc, *duration, func(w int, n int64) (int, error) {
		c := citizens[w%len(citizens)]
		body := map[string]any{"citizen": c.id, "service": pothole, "answers": map[string]any{"size": "large"},
			"location": map[string]any{"lat": 44.4056, "lon": 8.9463}, "address": "Via Roma 1", "status": "received"}
		return 1, benchserver.Do(client, base, http.MethodPost, "/api/collections/bench_plain/records", c.token, body, nil)
	})
	fmt.Printf("plain PocketBase create    %8.0f /s   (p50 %v, p99 %v per call, server CPU %v per create)\n", plain.rate, plain.p50, plain.p99, plain.cpu)
	var one struct{ ID string }
	benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/collections/bench_plain/records", citizens[0].token, map[string]any{"service": pothole, "status": "received"}, &one))
	getOne := measure(*conc, *duration, func(int, int64) (int, error) {
		return 1, benchserver.Do(client, base, http.MethodGet, "/api/collections/bench_plain/records/"+one.ID, citizens[0].token, nil, nil)
	})
	fmt.Printf("plain PocketBase getOne    %8.0f /s   (p50 %v, p99 %v per call, server CPU %v per getOne)\n", getOne.rate, getOne.p50, getOne.p99, getOne.cpu)

	// records API: one request per HTTP call, the same hooks run
	rec := measure(*conc, *duration, func(w int, n int64) (int, error) {
		c := citizens[w%len(citizens)]
		body := map[string]any{"citizen": c.id, "service": pothole, "answers": map[string]any{"size": "large"},
			"location": map[string]any{"lat": 44.4056, "lon": 8.9463}, "description": "bench"}
		return 1, benchserver.Do(client, base, http.MethodPost, "/api/collections/requests/records", c.token, body, nil)
	})
	fmt.Printf("records API creates        %8.0f /s   (p50 %v, p99 %v per call, server CPU %v per create) = %.2fx plain (CPU %.2fx)\n",
		rec.rate, rec.p50, rec.p99, rec.cpu, rec.rate/plain.rate, ratio(plain.cpu, rec.cpu))

	pushRates := map[int]float64{}
	for _, batch := range []int{1, 20, 100} {
		ids := make([]int64, *conc)
		clientIDs := make([]string, *conc)
		for i := range clientIDs {
			clientIDs[i] = fmt.Sprintf("bench-b%d-%d-%s", batch, i, randomID(6))
		}
		r := measure(*conc, *duration, func(w int, _ int64) (int, error) {
			c := citizens[w%len(citizens)]
			ms := make([]any, batch)
			for i := range ms {
				ids[w]++
				ms[i] = createMutation(ids[w], randomID(15), nil)
			}
			var res struct {
				LastMutationID int64 `json:"lastMutationID"`
			}
			if err := benchserver.Call(base, http.MethodPost, "/api/mobile/sync/push", c.token, map[string]any{"clientID": clientIDs[w], "mutations": ms}, &res); err != nil {
				return 0, err
			}
			if res.LastMutationID != ids[w] {
				return 0, fmt.Errorf("lastMutationID %d, want %d", res.LastMutationID, ids[w])
			}
			return batch, nil
		})
		pushRates[batch] = r.rate
		fmt.Printf("push, batch %3d            %8.0f mutations/s   (%.0f pushes/s, p50 %v, p99 %v per push, server CPU %v per mutation) = %.2fx plain (CPU %.2fx)\n",
			batch, r.rate, r.rate/float64(batch), r.p50, r.p99, r.cpu, r.rate/plain.rate, ratio(plain.cpu, r.cpu))
	}
	fmt.Printf("push batch 20 / records API  %.1fx\n\n", pushRates[20]/rec.rate)

	// pulls: an up-to-date client (nothing new) and one 200 changes behind
	puller := citizens[0]
	cursor := currentCursor(base, puller, "bench-puller")
	r := measure(*conc, *duration, func(int, int64) (int, error) {
		var p struct {
			Changes []any `json:"changes"`
		}
		err := benchserver.Call(base, http.MethodPost, "/api/mobile/sync/pull", puller.token, map[string]any{"clientID": "bench-puller", "cursor": cursor, "limit": 200}, &p)
		if err == nil && len(p.Changes) != 0 {
			err = fmt.Errorf("empty pull returned %d changes", len(p.Changes))
		}
		return 1, err
	})
	fmt.Printf("empty pull                 %8.0f /s   (p50 %v, p99 %v, server CPU %v per pull) = %.2fx getOne (CPU %.2fx)\n",
		r.rate, r.p50, r.p99, r.cpu, r.rate/getOne.rate, ratio(getOne.cpu, r.cpu))

	behind := citizens[1]
	start := currentCursor(base, behind, "bench-behind")
	var ms []any
	for i := int64(1); i <= 100; i++ {
		ms = append(ms, createMutation(i, randomID(15), nil)) // a create writes a request and its created event: 2 changes
	}
	benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/mobile/sync/push", behind.token, map[string]any{"clientID": "bench-behind-w", "mutations": ms}, nil))
	r = measure(*conc, *duration, func(int, int64) (int, error) {
		var p struct {
			Changes []any `json:"changes"`
		}
		err := benchserver.Call(base, http.MethodPost, "/api/mobile/sync/pull", behind.token, map[string]any{"clientID": "bench-behind", "cursor": start, "limit": 200}, &p)
		if err == nil && len(p.Changes) < 200 {
			err = fmt.Errorf("pull returned %d changes, want 200", len(p.Changes))
		}
		return 1, err
	})
	fmt.Printf("200-change pull            %8.0f /s   (p50 %v, p99 %v, server CPU %v per pull)\n", r.rate, r.p50, r.p99, r.cpu)
	// the latency of one pull on its own (the figure above runs %d at once on a shared machine)
	solo := measure(1, *duration, func(int, int64) (int, error) {
		return 1, benchserver.Call(base, http.MethodPost, "/api/mobile/sync/pull", behind.token, map[string]any{"clientID": "bench-behind", "cursor": start, "limit": 200}, nil)
	})
	fmt.Printf("200-change pull, 1 client  %8.0f /s   (p50 %v, p99 %v, server CPU %v per pull)\n\n", solo.rate, solo.p50, solo.p99, solo.cpu)

	runStormPhase(srv, citizens, *storm, *photoKB)
}

// runStormPhase runs the storm (n > 0) and prints the server CPU it cost,
// with the load average beside it (wall-clock figures depend on it).
func runStormPhase(srv *benchserver.Server, citizens []citizen, n, photoKB int) {
	if n <= 0 {
		return
	}
	load0 := loadAverage()
	cpu0 := srv.CPU()
	runStorm(srv.Base, srv.Superuser, srv.PID, citizens, n, photoKB)
	fmt.Printf("  server CPU               %8.2f s   (%v per phone)\n", (srv.CPU() - cpu0).Seconds(), ((srv.CPU() - cpu0) / time.Duration(n)).Round(time.Microsecond))
	fmt.Printf("  load average             %s before, %s after (1, 5, 15 min)\n", load0, loadAverage())
}

// loadAverage is the machine's load average as /proc/loadavg says it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// phases are the durations of one phone's calls in the storm.
type phases struct {
	push, create, send, wait time.Duration // sync push; tus POST; PATCH body sent; PATCH's last byte to its answer (processing and attach)
	end                      time.Duration // since the storm began, when the phone was done
	pushEnd                  time.Duration // since the storm began, when its push was answered
}

// percentiles prints p50, p99 and max of the durations pick selects.
func percentiles(all []phases, pick func(phases) time.Duration) string {
	d := make([]time.Duration, 0, len(all))
	for _, p := range all {
		d = append(d, pick(p))
	}
	if len(d) == 0 {
		return "-"
	}
	slices.Sort(d)
	r := func(x time.Duration) string { return x.Round(time.Millisecond).String() }
	return fmt.Sprintf("p50 %s, p99 %s, max %s", r(d[len(d)/2]), r(d[len(d)*99/100]), r(d[len(d)-1]))
}

// serverCPU reads the server's CPU time (set once the server runs).
var serverCPU = func() time.Duration { return 0 }

// ratio is a/b, 0 when b is 0.
func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

type citizen struct{ id, token string }

// makeCitizens creates n citizens and impersonation tokens (superuser calls are not rate limited).
func makeCitizens(base, su string, n int) []citizen {
	out := make([]citizen, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			pass := "bench-" + randomID(12)
			var rec struct{ ID string }
			benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/collections/citizens/records", su, map[string]any{
				"email": fmt.Sprintf("bench%d-%s@civicdesk.example", i, randomID(5)), "password": pass, "passwordConfirm": pass, "verified": true,
			}, &rec))
			var auth struct{ Token string }
			benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/collections/citizens/impersonate/"+rec.ID, su, map[string]any{"duration": 7200}, &auth))
			out[i] = citizen{id: rec.ID, token: auth.Token}
		}()
	}
	wg.Wait()
	return out
}

func createMutation(id int64, requestID string, attachments []string) map[string]any {
	args := map[string]any{"requestId": requestID, "service": "pothole", "answers": map[string]any{"size": "large"},
		"location": map[string]any{"lat": 44.4056, "lon": 8.9463}, "description": "bench"}
	if attachments != nil {
		args["attachments"] = attachments
	}
	return map[string]any{"id": id, "name": "request.create", "clientTime": time.Now().UTC().Format(time.RFC3339Nano), "args": args}
}

func currentCursor(base string, c citizen, clientID string) string {
	var cur *string
	for {
		var p struct {
			Cursor  string `json:"cursor"`
			HasMore bool   `json:"hasMore"`
		}
		benchserver.Must(benchserver.Call(base, http.MethodPost, "/api/mobile/sync/pull", c.token, map[string]any{"clientID": clientID, "cursor": cur, "limit": 1000}, &p))
		cur = &p.Cursor
		if !p.HasMore {
			return p.Cursor
		}
	}
}

// runStorm starts n clients at once; each pushes a create (naming its photo)
// and 4 comments, then uploads its photo over tus. It reports the time until
// the last client is done (everything applied: the final PATCH attaches the
// photo before it answers) and the server's peak RSS.
func runStorm(base, su string, pid int, citizens []citizen, n, photoKB int) {
	photo := makePhoto(photoKB << 10)
	sum := sha256.Sum256(photo)
	hexSum := hex.EncodeToString(sum[:])
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}, Timeout: 5 * time.Minute}

	var peak, peakThreads atomic.Int64
	stopSampling := make(chan struct{})
	go func() {
		for {
			if rss := rssOf(pid, "VmRSS"); rss > peak.Load() {
				peak.Store(rss)
			}
			if th := countOf(pid, "Threads"); th > peakThreads.Load() {
				peakThreads.Store(th)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	before := rssOf(pid, "VmRSS")

	var failures, retries atomic.Int64
	times := make([]phases, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := citizens[i%len(citizens)]
			clientID := fmt.Sprintf("storm-%d-%s", i, randomID(6))
			rid, att := randomID(15), "storm-"+strconv.Itoa(i)+"-"+randomID(6)
			ms := []any{createMutation(1, rid, []string{att})}
			for k := int64(2); k <= 5; k++ {
				ms = append(ms, map[string]any{"id": k, "name": "request.comment", "args": map[string]any{"eventId": randomID(15), "requestId": rid, "message": "more details " + strconv.FormatInt(k, 10)}})
			}
			<-startGate
			s := time.Now()
			if !retry(&retries, func() error {
				return benchserver.Do(client, base, http.MethodPost, "/api/mobile/sync/push", c.token, map[string]any{"clientID": clientID, "mutations": ms}, nil)
			}) {
				failures.Add(1)
				return
			}
			times[i].push, times[i].pushEnd = time.Since(s), time.Since(t0)
			if !retry(&retries, func() error { return tusUpload(client, base, c.token, att, rid, photo, hexSum, &times[i]) }) {
				failures.Add(1)
			}
			times[i].end = time.Since(t0)
		}()
	}
	close(startGate)
	wg.Wait()
	elapsed := time.Since(t0)
	close(stopSampling)

	var storms struct {
		TotalItems int `json:"totalItems"`
	}
	benchserver.Must(benchserver.Call(base, http.MethodGet, "/api/collections/requests/records?perPage=1&filter="+urlQuery("photos:length > 0")+"&fields=id", su, nil, &storms))
	fmt.Printf("reconnect storm: %d clients × (5 mutations + one %d KB photo)\n", n, len(photo)>>10)
	fmt.Printf("  all applied in           %8.2f s   (%d failed, %d retries)\n", elapsed.Seconds(), failures.Load(), retries.Load())
	retryErrors.Range(func(k, v any) bool {
		fmt.Printf("  retried after            %8d × %s\n", v.(*atomic.Int64).Load(), k)
		return true
	})
	if retries.Load() > 0 {
		// what the server logged about the failures (the first few)
		var logs struct {
			Items []struct {
				Message string         `json:"message"`
				Data    map[string]any `json:"data"`
			} `json:"items"`
		}
		time.Sleep(3 * time.Second) // PocketBase writes its logs in batches
		for _, order := range []string{"created", "-created"} {
			if err := benchserver.Call(base, http.MethodGet, "/api/logs?perPage=2&sort="+order+"&filter="+urlQuery("level>=8"), su, nil, &logs); err == nil {
				for _, l := range logs.Items {
					fmt.Printf("  server log: %s %v\n", l.Message, l.Data)
				}
			}
		}
	}
	fmt.Printf("  requests with a photo    %8d   (the demo city's own included)\n", storms.TotalItems)
	fmt.Printf("  last push answered at    %8.2f s   (push call %s)\n", slices.Max(pick(times, func(p phases) time.Duration { return p.pushEnd })).Seconds(), percentiles(times, func(p phases) time.Duration { return p.push }))
	fmt.Printf("  tus creation call                   %s\n", percentiles(times, func(p phases) time.Duration { return p.create }))
	fmt.Printf("  tus PATCH body sent in              %s\n", percentiles(times, func(p phases) time.Duration { return p.send }))
	fmt.Printf("  PATCH last byte -> answer           %s   (queue + processing + attach)\n", percentiles(times, func(p phases) time.Duration { return p.wait }))
	fmt.Printf("  server threads           %8d peak\n", peakThreads.Load())
	fmt.Printf("  server RSS               %8.0f MB before, %.0f MB peak (sampled), %.0f MB high-water mark\n",
		float64(before)/(1<<20), float64(peak.Load())/(1<<20), float64(rssOf(pid, "VmHWM"))/(1<<20))
}

func pick(all []phases, f func(phases) time.Duration) []time.Duration {
	out := make([]time.Duration, len(all))
	for i, p := range all {
		out[i] = f(p)
	}
	return out
}

func urlQuery(s string) string {
	return url.QueryEscape(s)
}

// retryErrors counts the errors that made the storm's clients retry, by message.
var retryErrors sync.Map

func retry(retries *atomic.Int64, fn func() error) bool {
	for attempt := 0; attempt < 20; attempt++ {
		err := fn()
		if err == nil {
			return true
		}
		msg := err.Error()
		if m, rest, ok := strings.Cut(msg, " \""); ok { // Patch "http://...": EOF -> Patch: EOF
			if _, tail, ok := strings.Cut(rest, "\": "); ok {
				msg = m + ": " + tail
			}
		}
		n, _ := retryErrors.LoadOrStore(msg, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		retries.Add(1)
		time.Sleep(time.Duration(100*(attempt+1)) * time.Millisecond)
	}
	return false
}

// tusUpload creates the upload and sends the photo in one PATCH, recording
// in t how long the creation, the body and the wait for the answer took.
func tusUpload(client *http.Client, base, tok, att, rid string, photo []byte, sum string, t *phases) error {
	meta := "attachmentId " + base64.StdEncoding.EncodeToString([]byte(att)) + ",sha256 " + base64.StdEncoding.EncodeToString([]byte(sum)) + ",requestId " + base64.StdEncoding.EncodeToString([]byte(rid))
	req, _ := http.NewRequest(http.MethodPost, base+"/api/mobile/uploads/", nil)
	req.Header.Set("Authorization", tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(photo)))
	req.Header.Set("Upload-Metadata", meta)
	s := time.Now()
	resp, err := client.Do(req)
	t.create = time.Since(s)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	offset := resp.Header.Get("Upload-Offset")
	if offset == "" {
		offset = "0"
	}
	off, _ := strconv.Atoi(offset)
	if off == len(photo) {
		return nil
	}
	req, _ = http.NewRequest(http.MethodPatch, loc, bytes.NewReader(photo[off:]))
	req.Header.Set("Authorization", tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", strconv.Itoa(off))
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	var wrote, answered time.Time
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { wrote = time.Now() },
		GotFirstResponseByte: func() { answered = time.Now() },
	}))
	s = time.Now()
	resp, err = client.Do(req)
	if !wrote.IsZero() && !answered.IsZero() {
		t.send, t.wait = wrote.Sub(s), answered.Sub(wrote)
	}
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("patch: %d %s", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	return nil
}

// makePhoto returns a noisy JPEG of about size bytes (noise barely compresses).
func makePhoto(size int) []byte {
	side := 64
	for {
		img := image.NewRGBA(image.Rect(0, 0, side, side*3/4))
		noise := make([]byte, len(img.Pix))
		_, _ = rand.Read(noise)
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = noise[i], noise[i+1], noise[i+2], 255
		}
		var buf bytes.Buffer
		_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
		if buf.Len() >= size {
			return buf.Bytes()
		}
		side += 32
	}
}

// countOf is a plain number field of /proc/PID/status (Threads).
func countOf(pid int, field string) int64 {
	return rssOf(pid, field) >> 10
}

func rssOf(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	cpu      time.Duration // server CPU per unit
}

// measure runs fn from conc workers for d; fn returns how many units it did.
func measure(conc int, d time.Duration, fn func(worker int, call int64) (int, error)) result {
	var units atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	deadline := time.Now().Add(d)
	t0 := time.Now()
	cpu0 := serverCPU()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for i := int64(0); time.Now().Before(deadline); i++ {
				s := time.Now()
				n, err := fn(w, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				local = append(local, time.Since(s))
				units.Add(int64(n))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		log.Fatalf("measurement failed: %v", firstErr)
	}
	elapsed := time.Since(t0)
	slices.Sort(lat)
	r := result{rate: float64(units.Load()) / elapsed.Seconds()}
	if n := units.Load(); n > 0 {
		r.cpu = ((serverCPU() - cpu0) / time.Duration(n)).Round(time.Microsecond)
	}
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)*99/100].Round(100*time.Microsecond)
	}
	return r
}

func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
