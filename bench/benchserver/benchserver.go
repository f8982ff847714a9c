// Package benchserver starts a seeded civicdesk binary for the load tools in
// bench/ and speaks JSON to it. Errors end the tool: a benchmark that cannot
// set up has nothing to report.
package benchserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running civicdesk binary with the demo city and a superuser.
type Server struct {
	// Base is the server's URL, e.g. http://127.0.0.1:40123.
	Base string
	// Superuser is a superuser's auth token.
	Superuser string
	// PID is the server process id (for RSS readings).
	PID int

	dir     string
	cmd     *exec.Cmd
	profile string
}

// Start seeds a fresh data dir with the demo city and a superuser, serves it
// on a free loopback port, and lifts the per-IP rate limits (one load
// generator IP would hit them; lifted for benchmarks only).
//
// With a non-empty optProfile the server records a CPU profile there
// (CIVICDESK_CPUPROFILE) until Stop.
func Start(bin string, optProfile ...string) *Server {
	dir, err := os.MkdirTemp("", "civicdesk-bench-")
	Must(err)
	s := &Server{dir: dir}
	if len(optProfile) > 0 && optProfile[0] != "" {
		s.profile = optProfile[0]
	}
	run := func(args ...string) {
		if out, err := exec.Command(bin, append(args, "--dir", dir)...).CombinedOutput(); err != nil {
			log.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("demo")
	run("superuser", "upsert", "bench@civicdesk.example", "bench-password-123")
	addr := freeAddr()
	s.Base = "http://" + addr
	s.cmd = exec.Command(bin, "serve", "--http", addr, "--dir", dir)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, os.Stderr
	if s.profile != "" {
		s.cmd.Env = append(os.Environ(), "CIVICDESK_CPUPROFILE="+s.profile)
	}
	Must(s.cmd.Start())
	s.PID = s.cmd.Process.Pid
	s.waitHealthy()
	s.Superuser, _ = Login(s.Base, "_superusers", "bench@civicdesk.example", "bench-password-123")
	Must(Call(s.Base, http.MethodPatch, "/api/settings", s.Superuser, map[string]any{"rateLimits": map[string]any{"enabled": false}}, nil))
	return s
}

// Stop kills the server and removes its data dir (after the CPU profile, when
// one is recorded, has been written).
func (s *Server) Stop() {
	if s.profile != "" {
		_ = s.cmd.Process.Signal(syscall.SIGUSR1)
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(s.profile); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.dir)
}

// CPU returns the server process's CPU time so far (user + system, from
// /proc/PID/stat): what the work cost, which the machine's other load barely
// changes, unlike wall-clock throughput.
func (s *Server) CPU() time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID) + "/stat")
	if err != nil {
		return 0
	}
	// the command name (field 2) may hold spaces: count fields after its ")"
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// Dir returns the server's data dir (load tools seed it with SQL while it serves).
func (s *Server) Dir() string { return s.dir }

// ServiceID returns the id of the demo service with code.
func (s *Server) ServiceID(code string) string {
	var out struct {
		Items []struct{ ID string } `json:"items"`
	}
	Must(Call(s.Base, http.MethodGet, "/api/collections/services/records?filter="+url.QueryEscape("code='"+code+"'"), "", nil, &out))
	if len(out.Items) == 0 {
		log.Fatalf("no service %q", code)
	}
	return out.Items[0].ID
}

func (s *Server) waitHealthy() {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.Base + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatal("server did not become healthy")
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Must(err)
	defer l.Close()
	return l.Addr().String()
}

// DefaultClient is the keep-alive client of Call.
var DefaultClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 60 * time.Second}

// Call is Do with DefaultClient.
func Call(base, method, path, token string, body, out any) error {
	return Do(DefaultClient, base, method, path, token, body, out)
}

// Do sends body as JSON with an optional auth token, fails on a non-2xx answer
// and decodes the answer into out (when not nil).
func Do(client *http.Client, base, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Login authenticates with a password and returns the token and record id.
func Login(base, collection, email, password string) (token, id string) {
	var out struct {
		Token  string `json:"token"`
		Record struct {
			ID string `json:"id"`
		} `json:"record"`
	}
	Must(Call(base, http.MethodPost, "/api/collections/"+collection+"/auth-with-password", "", map[string]string{"identity": email, "password": password}, &out))
	return out.Token, out.Record.ID
}

// Must ends the tool on err.
func Must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
