package mobileapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	_ "modernc.org/sqlite"
)

// faultProxy sits between the clients and the server: it passes most
// connections, drops the response of some after the server started writing
// it (the commit happened, the client never hears), and cuts others in the
// middle of the request body.
type faultProxy struct {
	ln       net.Listener
	upstream string
	dropRate float64
	killRate float64

	mu                    sync.Mutex
	rnd                   *rand.Rand
	passed, dropped, kill atomic.Int64
}

func newFaultProxy(t testing.TB, upstream string, dropRate, killRate float64) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, upstream: upstream, dropRate: dropRate, killRate: killRate, rnd: rand.New(rand.NewPCG(42, 7))}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *faultProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *faultProxy) handle(c net.Conn) {
	defer c.Close()
	u, err := net.DialTimeout("tcp", p.upstream, 2*time.Second)
	if err != nil {
		return // server down: the client sees a reset
	}
	defer u.Close()
	p.mu.Lock()
	roll := p.rnd.Float64()
	p.mu.Unlock()
	switch {
	case roll < p.dropRate:
		p.dropped.Add(1)
		go io.Copy(u, c)
		// the first response byte means the server handled the request; the client never gets it
		_ = u.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, _ = u.Read(make([]byte, 1))
	case roll < p.dropRate+p.killRate:
		p.kill.Add(1)
		var req []byte
		buf := make([]byte, 32<<10)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, err := c.Read(buf)
			req = append(req, buf[:n]...)
			if i := bytes.Index(req, []byte("\r\n\r\n")); i >= 0 && len(req) > i+4 {
				body := len(req) - (i + 4)
				_, _ = u.Write(req[:i+4+body/2]) // headers and half the body, then the line dies
				return
			}
			if err != nil {
				return
			}
		}
	default:
		p.passed.Add(1)
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		_, _ = io.Copy(c, u)
	}
}

// faultClient is a phone: a queue of mutations sent with retries until a
// pull acknowledges them, then pulls until it has the server's state.
type faultClient struct {
	id, token, base string
	http            *http.Client
	queue           []mutation
	lmid            int64
	replica         replica
}

func (c *faultClient) post(path string, body any, out any) (int, http.Header, error) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, nil, err
		}
	}
	return resp.StatusCode, resp.Header, nil
}

func backoff(attempt int, h http.Header) {
	if ra, _ := strconv.Atoi(h.Get("Retry-After")); ra > 0 {
		time.Sleep(time.Duration(ra) * time.Second)
		return
	}
	time.Sleep(time.Duration(min(20*(attempt+1), 300)) * time.Millisecond)
}

// pullAll pulls until hasMore is false, retrying every failure.
func (c *faultClient) pullAll(deadline time.Time) error {
	if c.replica.data == nil {
		c.replica.data = map[string]map[string]any{}
	}
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		var p pullResp
		code, h, err := c.post("/api/mobile/sync/pull", map[string]any{"clientID": c.id, "cursor": c.replica.cursor, "limit": 50}, &p)
		if err != nil || code != http.StatusOK {
			backoff(attempt, h)
			continue
		}
		applyPage(&c.replica, p)
		c.lmid = max(c.lmid, p.LastMutationID)
		if !p.HasMore {
			return nil
		}
	}
	return errors.New("pull: deadline")
}

// run pushes the queue until a pull acknowledges all of it.
func (c *faultClient) run(rnd *rand.Rand, progress *atomic.Int64, deadline time.Time) error {
	for attempt := 0; c.lmid < int64(len(c.queue)); attempt++ {
		if time.Now().After(deadline) {
			return fmt.Errorf("client %s: deadline at lastMutationID %d", c.id, c.lmid)
		}
		n := 1 + rnd.IntN(8)
		batch := c.queue[c.lmid:min(int(c.lmid)+n, len(c.queue))]
		var res pushResp
		code, h, err := c.post("/api/mobile/sync/push", map[string]any{"clientID": c.id, "mutations": batch}, &res)
		if err == nil && code == http.StatusOK {
			// advisory, but a delivered response is truthful: skip ahead
			progress.Add(res.LastMutationID - c.lmid)
			c.lmid = max(c.lmid, res.LastMutationID)
			continue
		}
		if code == http.StatusForbidden || code == http.StatusBadRequest {
			return fmt.Errorf("client %s: push answered %d", c.id, code)
		}
		// lost response, cut connection, server down, gap: ask pull where we stand
		backoff(attempt, h)
		before := c.lmid
		if err := c.pullAll(deadline); err != nil {
			return err
		}
		progress.Add(c.lmid - before)
	}
	return c.pullAll(deadline)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestSyncFaults runs the real binary behind a faulty network and kills it
// (SIGKILL) in the middle: every mutation lands exactly once, and every
// client converges to the server's state by pulling.
// CIVICDESK_FAULT_CLIENTS and CIVICDESK_FAULT_MUTATIONS size it (50 × 40).
func TestSyncFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	nClients := envInt("CIVICDESK_FAULT_CLIENTS", 50)
	nMutations := envInt("CIVICDESK_FAULT_MUTATIONS", 40)
	nCitizens := max(1, nClients/5)

	s := testkit.StartServer(t)
	su := superuserToken(t, s)
	tokens := make([]string, nCitizens)
	citizenIDs := make([]string, nCitizens)
	for i := range tokens {
		citizenIDs[i], tokens[i] = impersonatedCitizen(t, s.URL, su, fmt.Sprintf("fault%d-%s@demo.civicdesk.example", i, randomID(5)))
	}
	proxy := newFaultProxy(t, s.Addr, 0.20, 0.10)
	transport := &http.Transport{DisableKeepAlives: true}
	httpc := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	clients := make([]*faultClient, nClients)
	want := map[string]string{} // request id -> final status
	wantComments := map[string]bool{}
	for i := range clients {
		c := &faultClient{id: fmt.Sprintf("fault-%d-%s", i, randomID(6)), token: tokens[i%nCitizens], base: proxy.URL(), http: httpc}
		var first string
		for id := int64(1); id <= int64(nMutations); id++ {
			switch {
			case id == 1 || id%4 != 0:
				rid := randomID(15)
				if first == "" {
					first = rid
				}
				c.queue = append(c.queue, create(id, rid))
				want[rid] = "received"
			case id == int64(nMutations):
				c.queue = append(c.queue, cancel(id, first))
				want[first] = "cancelled"
			default:
				eid := randomID(15)
				c.queue = append(c.queue, comment(id, eid, first, fmt.Sprintf("comment %d", id)))
				wantComments[eid] = true
			}
		}
		clients[i] = c
	}

	deadline := time.Now().Add(90 * time.Second)
	var progress atomic.Int64
	total := int64(nClients * nMutations)
	errs := make(chan error, nClients)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.run(rand.New(rand.NewPCG(uint64(i), 99)), &progress, deadline)
		}()
	}
	// crash the server half way through
	for progress.Load() < total/2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s.Kill()
	time.Sleep(300 * time.Millisecond)
	s.Start()
	t.Logf("killed and restarted at %d/%d acknowledged mutations", progress.Load(), total)

	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// the phones of one citizen finished at different times: one more pull each
	for _, c := range clients {
		if err := c.pullAll(deadline.Add(20 * time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("proxy: %d passed, %d responses dropped, %d requests cut", proxy.passed.Load(), proxy.dropped.Load(), proxy.kill.Load())
	if proxy.dropped.Load() == 0 || proxy.kill.Load() == 0 {
		t.Fatal("the proxy injected no faults")
	}

	s.Stop()
	db, err := dbx.Open("sqlite", filepath.Join(s.DataDir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var requests []struct {
		ID     string `db:"id"`
		Status string `db:"status"`
	}
	if err := db.NewQuery("SELECT id, status FROM requests").All(&requests); err != nil {
		t.Fatal(err)
	}
	if len(requests) != len(want) {
		t.Fatalf("%d requests in the database, %d distinct creates", len(requests), len(want))
	}
	for _, r := range requests {
		if st, ok := want[r.ID]; !ok || st != r.Status {
			t.Fatalf("request %s: %s, want %q (known %v)", r.ID, r.Status, st, ok)
		}
	}
	var comments []string
	if err := db.NewQuery("SELECT id FROM request_events WHERE type = 'comment'").Column(&comments); err != nil {
		t.Fatal(err)
	}
	if len(comments) != len(wantComments) {
		t.Fatalf("%d comments, want %d", len(comments), len(wantComments))
	}
	var dupCreated int
	_ = db.NewQuery("SELECT COUNT(*) FROM (SELECT request FROM request_events WHERE type = 'created' GROUP BY request HAVING COUNT(*) > 1)").Row(&dupCreated)
	var lmids []int64
	_ = db.NewQuery("SELECT last_mutation_id FROM sync_clients").Column(&lmids)
	if dupCreated != 0 || len(lmids) != nClients {
		t.Fatalf("%d requests accepted twice, %d clients", dupCreated, len(lmids))
	}
	for _, l := range lmids {
		if l != int64(nMutations) {
			t.Fatalf("a client stopped at lastMutationID %d", l)
		}
	}

	// every client converged: its replica is its citizen's state in the database
	for i, c := range clients {
		citizen := citizenIDs[i%nCitizens]
		var ids []string
		_ = db.NewQuery("SELECT id FROM requests WHERE citizen = {:c}").Bind(dbx.Params{"c": citizen}).Column(&ids)
		var evs []string
		_ = db.NewQuery("SELECT e.id FROM request_events e JOIN requests r ON r.id = e.request WHERE r.citizen = {:c} AND e.public = TRUE").Bind(dbx.Params{"c": citizen}).Column(&evs)
		got := 0
		for k, v := range c.replica.data {
			if st, ok := v["status"].(string); ok && v["number"] != nil {
				if want[v["id"].(string)] != st {
					t.Fatalf("client %s: %s is %s, database %s", c.id, k, st, want[v["id"].(string)])
				}
			}
			got++
		}
		var rcpts int
		_ = db.NewQuery("SELECT COUNT(*) FROM receipts x JOIN requests r ON r.id = x.request WHERE r.citizen = {:c}").Bind(dbx.Params{"c": citizen}).Row(&rcpts)
		if got != len(ids)+len(evs)+rcpts {
			t.Fatalf("client %s has %d records, its citizen %d", c.id, got, len(ids)+len(evs)+rcpts)
		}
	}
}

// superuserToken creates a superuser with the CLI and logs in.
func superuserToken(t testing.TB, s *testkit.Server) string {
	t.Helper()
	email, pass := "fault-root@demo.civicdesk.example", "fault-test-"+randomID(12)
	if out, err := s.Command("superuser", "upsert", email, pass).CombinedOutput(); err != nil {
		t.Fatalf("superuser: %v %s", err, out)
	}
	var auth struct {
		Token string `json:"token"`
	}
	postJSON(t, s.URL+"/api/collections/_superusers/auth-with-password", "", map[string]string{"identity": email, "password": pass}, &auth)
	return auth.Token
}

// impersonatedCitizen creates a citizen and returns its id and a token
// (impersonation skips the login rate limit that many password logins would hit).
func impersonatedCitizen(t testing.TB, base, su, email string) (string, string) {
	t.Helper()
	var rec struct {
		ID string `json:"id"`
	}
	pass := "citizen-" + randomID(12)
	postJSON(t, base+"/api/collections/citizens/records", su, map[string]any{"email": email, "password": pass, "passwordConfirm": pass, "verified": true}, &rec)
	var auth struct {
		Token string `json:"token"`
	}
	postJSON(t, base+"/api/collections/citizens/impersonate/"+rec.ID, su, map[string]any{"duration": 3600}, &auth)
	return rec.ID, auth.Token
}

func postJSON(t testing.TB, url, token string, body, out any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
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
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}
