package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"civicdesk/bench/benchserver"

	"github.com/pocketbase/dbx"
)

// subscriber is one staff member's realtime connection to /api/realtime,
// subscribed to the requests collection with their own token (so PocketBase
// applies the collection's list rule per event and per client).
type subscriber struct {
	name, role string
	dept       string // the clerk's department ("" for supervisors)
	sees       bool   // may see the written department's requests
	got        atomic.Int64
	resp       *http.Response
}

// sseConnect opens the stream, waits for PB_CONNECT and subscribes.
func (s *subscriber) connect(base, token string, onEvent func(s *subscriber, data []byte)) error {
	req, _ := http.NewRequest(http.MethodGet, base+"/api/realtime", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	s.resp = resp
	rd := bufio.NewReader(resp.Body)
	clientID := ""
	read := func() (event string, data []byte, err error) {
		for {
			line, err := rd.ReadBytes('\n')
			if err != nil {
				return "", nil, err
			}
			line = bytes.TrimRight(line, "\r\n")
			switch {
			case len(line) == 0:
				if event != "" {
					return event, data, nil
				}
			case bytes.HasPrefix(line, []byte("event:")):
				event = string(line[6:])
			case bytes.HasPrefix(line, []byte("data:")):
				data = append(data, line[5:]...)
			}
		}
	}
	ev, data, err := read()
	if err != nil || ev != "PB_CONNECT" {
		return fmt.Errorf("realtime connect: %q %v", ev, err)
	}
	var hello struct {
		ClientID string `json:"clientId"`
	}
	if err := json.Unmarshal(data, &hello); err != nil {
		return err
	}
	clientID = hello.ClientID
	if err := benchserver.Call(base, http.MethodPost, "/api/realtime", token, map[string]any{"clientId": clientID, "subscriptions": []string{"requests"}}, nil); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	go func() {
		for {
			ev, data, err := read()
			if err != nil {
				return
			}
			if ev == "requests" {
				onEvent(s, data)
			}
		}
	}()
	return nil
}

// realtimeRun subscribes every bench staff member, then writes rate
// requests/s for d into one department (priority flips through the records
// API, by a supervisor) and prints the delivery latency from the write's
// start to each event's arrival, delivered/expected, and what clerks of the
// other departments received (must be 0: the list rule).
func realtimeRun(base string, db *dbx.DB, token func(id string) string, writer string, rate int, d time.Duration) {
	var staff []struct {
		ID          string `db:"id"`
		Name        string `db:"name"`
		Role        string `db:"role"`
		Departments string `db:"departments"`
	}
	benchserver.Must(db.NewQuery("SELECT id, name, role, departments FROM staff WHERE email LIKE 'bench.staff%' ORDER BY email").All(&staff))
	var dept string
	benchserver.Must(db.NewQuery("SELECT json_extract(departments, '$[0]') FROM staff WHERE email LIKE 'bench.staff%' AND role = 'clerk' ORDER BY email LIMIT 1").Row(&dept))
	writes := 2 * (rate*int(d/time.Second) + rate)
	var targets []string
	benchserver.Must(db.NewQuery("SELECT id FROM requests WHERE department = {:d} AND status IN ('received', 'in_progress', 'waiting_citizen') ORDER BY id LIMIT {:n}").
		Bind(dbx.Params{"d": dept, "n": writes}).Column(&targets))

	var mu sync.Mutex
	sent := map[string]time.Time{} // request id -> start of its (only) write
	var lat, fan []float64
	var late atomic.Int64 // events of a record this run did not write (should be none)
	onEvent := func(s *subscriber, data []byte) {
		now := time.Now()
		var msg struct {
			Record struct {
				ID      string `json:"id"`
				Updated string `json:"updated"`
			} `json:"record"`
		}
		if json.Unmarshal(data, &msg) != nil {
			return
		}
		s.got.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if t0, ok := sent[msg.Record.ID]; ok {
			lat = append(lat, float64(now.Sub(t0).Microseconds())/1000)
			// the record's updated is stamped by the server just before its commit
			if u, err := time.Parse(layout, msg.Record.Updated); err == nil {
				fan = append(fan, float64(now.Sub(u).Microseconds())/1000)
			}
		} else {
			late.Add(1)
		}
	}
	subs := make([]*subscriber, len(staff))
	seeing := 0
	for i, st := range staff {
		s := &subscriber{name: st.Name, role: st.Role}
		if st.Role == "clerk" {
			var ds []string
			_ = json.Unmarshal([]byte(st.Departments), &ds)
			if len(ds) > 0 {
				s.dept = ds[0]
			}
			s.sees = strings.Contains(st.Departments, `"`+dept+`"`)
		} else {
			s.sees = true
		}
		if s.sees {
			seeing++
		}
		subs[i] = s
	}

	wtoken := token(writer)
	// the same writes land with nobody subscribed first (the baseline of the
	// server's CPU per write), then with every subscriber connected
	write := func(ids []string, record bool) (n int, took time.Duration, failed int64, cpuMs float64) {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		var wg sync.WaitGroup
		var bad atomic.Int64
		cpu0 := cpuTicks()
		started := time.Now()
		for ; n < len(ids) && time.Since(started) < d; n++ {
			<-tick.C
			id := ids[n]
			if record {
				mu.Lock()
				sent[id] = time.Now()
				mu.Unlock()
			}
			wg.Add(1)
			go func(id string, i int) {
				defer wg.Done()
				prio := []string{"high", "normal"}[i%2]
				if err := benchserver.Call(base, http.MethodPatch, "/api/collections/requests/records/"+id, wtoken, map[string]any{"priority": prio}, nil); err != nil {
					bad.Add(1)
				}
			}(id, n)
		}
		wg.Wait()
		took = time.Since(started)
		return n, took, bad.Load(), float64(cpuTicks()-cpu0) * 10 / float64(n)
	}
	half := len(targets) / 2
	bn, btook, bfailed, bcpu := write(targets[half:], false)
	fmt.Printf("\nRealtime baseline, nobody subscribed: %d writes in %s (%.1f/s, %d failed), server CPU %.1f ms per write\n",
		bn, btook.Round(time.Millisecond), float64(bn)/btook.Seconds(), bfailed, bcpu)
	for i, st := range staff {
		benchserver.Must(subs[i].connect(base, token(st.ID), onEvent))
	}
	defer func() {
		for _, s := range subs {
			_ = s.resp.Body.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond)
	n, took, failedN, cpu := write(targets[:half], true)
	time.Sleep(3 * time.Second) // let the last events arrive
	failed := struct{ n int64 }{failedN}

	mu.Lock()
	defer mu.Unlock()
	sort.Float64s(lat)
	sort.Float64s(fan)
	pctOf := func(xs []float64, q float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		return xs[int(q*float64(len(xs)-1)+0.5)]
	}
	pct := func(q float64) float64 { return pctOf(lat, q) }
	var others, seen int64
	othersN := 0
	for _, s := range subs {
		if s.sees {
			seen += s.got.Load()
		} else {
			others += s.got.Load()
			othersN++
		}
	}
	ok := int64(n) - failed.n
	fmt.Printf("Realtime (SSE /api/realtime, %d staff subscribed to requests with their own tokens; %d may see the written department): "+
		"%d writes in %s (%.1f/s, %d failed), server CPU %.1f ms per write\n", len(subs), seeing, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), failed.n, cpu)
	fmt.Printf("  delivered %d of %d expected (%d writes × %d); latency write start → event p50 %.1f ms, p95 %.1f ms, max %.1f ms; within 2 s: %d\n",
		len(lat), ok*int64(seeing), ok, seeing, pct(0.5), pct(0.95), pct(1), countBelow(lat, 2000))
	fmt.Printf("  of which fan-out, the record's server-stamped updated → event: p50 %.1f ms, p95 %.1f ms, max %.1f ms (the rest is the write waiting for SQLite's one writer)\n",
		pctOf(fan, 0.5), pctOf(fan, 0.95), pctOf(fan, 1))
	fmt.Printf("  received by those who may see them: %d; by the %d clerks of other departments: %d (the list rule); unmatched events: %d\n", seen, othersN, others, late.Load())
}

func countBelow(xs []float64, limit float64) int {
	n := 0
	for _, x := range xs {
		if x <= limit {
			n++
		}
	}
	return n
}
