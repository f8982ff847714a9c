package testkit

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"civicdesk/demo"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// RepoRoot returns the module root (the folder holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Binary returns the path of the civicdesk binary for black-box tests:
// $CIVICDESK_BIN when set (the Makefile builds it once), else it builds
// bin/civicdesk-test under an inter-process lock, so parallel packages share one build.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("CIVICDESK_BIN"); p != "" {
			binPath, binErr = filepath.Abs(p)
			return
		}
		root := RepoRoot()
		if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
			binErr = err
			return
		}
		lock, err := os.OpenFile(filepath.Join(root, "bin", ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			binErr = err
			return
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			binErr = err
			return
		}
		defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		binPath = filepath.Join(root, "bin", "civicdesk-test")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=auto")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("civicdesk binary: %v", binErr)
	}
	return binPath
}

// Server is a running civicdesk binary.
type Server struct {
	t       testing.TB
	Bin     string
	DataDir string
	Addr    string // host:port
	URL     string // http://host:port
	Env     []string
	cmd     *exec.Cmd
	Log     *bytes.Buffer
	logMu   sync.Mutex
}

// FreeAddr returns a free 127.0.0.1 port as host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// StartServer seeds the demo city into a fresh data dir and starts `civicdesk serve`
// on a free port with the extra environment env. It is stopped on test cleanup.
func StartServer(t testing.TB, env ...string) *Server {
	t.Helper()
	s := &Server{t: t, Bin: Binary(t), DataDir: t.TempDir(), Addr: FreeAddr(t), Env: env, Log: &bytes.Buffer{}}
	s.URL = "http://" + s.Addr
	if out, err := s.Command("demo").CombinedOutput(); err != nil {
		t.Fatalf("civicdesk demo: %v\n%s", err, out)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// StartServerIn starts `civicdesk serve` on an existing data dir (an upgrade
// fixture, a restored backup) without seeding it. It is stopped on test cleanup.
func StartServerIn(t testing.TB, dataDir string, env ...string) *Server {
	t.Helper()
	s := &Server{t: t, Bin: Binary(t), DataDir: dataDir, Addr: FreeAddr(t), Env: env, Log: &bytes.Buffer{}}
	s.URL = "http://" + s.Addr
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Command returns a civicdesk command against the server's data dir.
func (s *Server) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(s.Bin, append(args, "--dir", s.DataDir)...)
	// the demo's request history is left out: black-box tests count what they create
	cmd.Env = append(append(os.Environ(), "CIVICDESK_PUBLIC_URL="+s.URL, demo.HistoryEnv+"=off"), s.Env...)
	return cmd
}

// Start starts (or restarts) serve and waits until /api/health answers.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = s.Command("serve", "--http", s.Addr)
	s.cmd.Stdout = s
	s.cmd.Stderr = s
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("server did not become healthy:\n%s", s.Logs())
}

// Write collects the server's output (io.Writer).
func (s *Server) Write(p []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.Log.Write(p)
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.Log.String()
}

// Kill stops the server with SIGKILL (a crash: no shutdown hooks run).
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Stop stops the server gracefully (SIGTERM), killing it after 10 s.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}
