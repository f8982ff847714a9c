package recovery_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civicdesk/recovery"
	"civicdesk/testkit"
)

// drill is the shared state of a restore drill (research/operations.md §7.3).
type drill struct {
	t      *testing.T
	s      *testkit.Server
	su     string
	phones []*phone
}

func newDrill(t *testing.T, env ...string) *drill {
	s := testkit.StartServer(t, env...)
	d := &drill{t: t, s: s, su: superuserToken(t, s)}
	for i := 0; i < 3; i++ {
		_, tok := d.citizen(fmt.Sprintf("drill%d-%s@demo.civicdesk.example", i, randomID(5)))
		d.phones = append(d.phones, newPhone(t, s.URL, tok))
	}
	return d
}

func superuserToken(t testing.TB, s *testkit.Server) string {
	t.Helper()
	email, pass := "drill-root@demo.civicdesk.example", "drill-test-"+randomID(12)
	if out, err := s.Command("superuser", "upsert", email, pass).CombinedOutput(); err != nil {
		t.Fatalf("superuser: %v %s", err, out)
	}
	var auth struct {
		Token string `json:"token"`
	}
	call(t, http.MethodPost, s.URL+"/api/collections/_superusers/auth-with-password", "", map[string]string{"identity": email, "password": pass}, &auth)
	return auth.Token
}

// citizen signs a citizen up (as the superuser) and returns id and token.
func (d *drill) citizen(email string) (string, string) {
	var rec struct {
		ID string `json:"id"`
	}
	pass := "citizen-" + randomID(12)
	call(d.t, http.MethodPost, d.s.URL+"/api/collections/citizens/records", d.su, map[string]any{"email": email, "password": pass, "passwordConfirm": pass, "verified": true}, &rec)
	var auth struct {
		Token string `json:"token"`
	}
	call(d.t, http.MethodPost, d.s.URL+"/api/collections/citizens/impersonate/"+rec.ID, d.su, map[string]any{"duration": 3600}, &auth)
	return rec.ID, auth.Token
}

// call sends a JSON request and decodes a 2xx answer into out.
func call(t testing.TB, method, url, token string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, r)
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
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func (d *drill) syncAll() {
	for _, p := range d.phones {
		p.sync()
	}
}

// serverRequest is a request as the superuser reads it.
type serverRequest struct {
	ID      string   `json:"id"`
	Number  string   `json:"number"`
	Status  string   `json:"status"`
	Citizen string   `json:"citizen"`
	Photos  []string `json:"photos"`
}

func (d *drill) serverRequests() map[string]serverRequest {
	var list struct {
		Items []serverRequest `json:"items"`
	}
	call(d.t, http.MethodGet, d.s.URL+"/api/collections/requests/records?perPage=500&skipTotal=1", d.su, nil, &list)
	out := map[string]serverRequest{}
	numbers := map[string]string{}
	for _, r := range list.Items {
		if other, dup := numbers[r.Number]; dup && r.Number != "" {
			d.t.Fatalf("number %s given to %s and %s", r.Number, other, r.ID)
		}
		numbers[r.Number] = r.ID
		out[r.ID] = r
	}
	return out
}

func (d *drill) setStatus(id, status string) {
	call(d.t, http.MethodPatch, d.s.URL+"/api/collections/requests/records/"+id, d.su, map[string]any{"status": status}, nil)
}

func (d *drill) witnessEpoch() string {
	raw, err := os.ReadFile(filepath.Join(d.s.DataDir, recovery.WitnessFile))
	if err != nil {
		return ""
	}
	var w recovery.Witness
	_ = json.Unmarshal(raw, &w)
	return w.Epoch
}

// waitRestarted waits for the server to come back in a new epoch.
func (d *drill) waitRestarted(old string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if e := d.witnessEpoch(); e != "" && e != old {
			if resp, err := http.Get(d.s.URL + "/api/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("the server did not come back in a new epoch:\n%s", d.s.Logs())
}

// photosOf is what the phones attached per request.
func (d *drill) photosOf() map[string]int {
	out := map[string]int{}
	for _, p := range d.phones {
		for _, ph := range p.photos {
			out[ph.requestID]++
		}
	}
	return out
}

// checkAcked asserts every request in want (id -> number) exists once, with
// its number and its photos; it returns the server's requests.
func (d *drill) checkAcked(want map[string]string, what string) map[string]serverRequest {
	d.t.Helper()
	got := d.serverRequests()
	photos := d.photosOf()
	for id, num := range want {
		r, ok := got[id]
		switch {
		case !ok:
			d.t.Fatalf("%s: acknowledged request %s (%s) is gone", what, id, num)
		case r.Number != num:
			d.t.Fatalf("%s: request %s has number %s, its receipt says %s", what, id, r.Number, num)
		case len(r.Photos) != photos[id]:
			d.t.Fatalf("%s: request %s has %d photos, the phone attached %d", what, id, len(r.Photos), photos[id])
		}
	}
	return got
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func (d *drill) ackedAll() map[string]string {
	var ms []map[string]string
	for _, p := range d.phones {
		ms = append(ms, p.acked())
	}
	return merge(ms...)
}

// TestRestoreDrill: phones file requests with photos; backup; more requests,
// comments, a staff change and a sign-up; restore through the API, then again
// by unzipping the backup by hand into a fresh data dir. Every acknowledged
// request of an account that existed at the backup comes back exactly once
// with its id, number and photos; no number is given twice; what is lost is
// exactly the documented recovery point (staff changes and sign-ups after the backup).
func TestRestoreDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	d := newDrill(t)
	seeded := d.serverRequests() // the demo city's own requests

	// 1. before the backup
	var early []string
	for i, p := range d.phones {
		early = append(early, p.file(1), p.file(0))
		_ = i
	}
	d.syncAll()
	d.setStatus(early[0], "in_progress") // a staff change the backup holds
	d.syncAll()
	beforeBackup := d.ackedAll()
	if len(beforeBackup) != 6 {
		t.Fatalf("%d requests acknowledged before the backup, want 6", len(beforeBackup))
	}

	// 2. backup B
	call(t, http.MethodPost, d.s.URL+"/api/backups", d.su, map[string]any{"name": "drill.zip"}, nil)
	zipPath := filepath.Join(d.s.DataDir, "backups", "drill.zip")
	saved := filepath.Join(t.TempDir(), "drill.zip")
	copyFile(t, zipPath, saved)
	assertZipLeavesOut(t, saved)

	// 3. after the backup: requests with photos, comments, a staff change, a sign-up
	var comments []string
	for _, p := range d.phones {
		p.file(1)
		p.file(0)
	}
	for i, p := range d.phones {
		comments = append(comments, p.comment(early[2*i+1]))
	}
	d.syncAll()
	d.setStatus(early[2], "in_progress") // lost by design: staff changes after the backup
	_, newTok := d.citizen("drill-new-" + randomID(5) + "@demo.civicdesk.example")
	newcomer := newPhone(t, d.s.URL, newTok)
	newcomerReq := newcomer.file(0)
	newcomer.sync()
	if _, ok := newcomer.acked()[newcomerReq]; !ok {
		t.Fatal("the newcomer's request was not acknowledged")
	}
	d.syncAll()
	acked := d.ackedAll()
	if len(acked) != 12 {
		t.Fatalf("%d requests acknowledged, want 12", len(acked))
	}
	originalReceipts := map[string]string{}
	for _, p := range d.phones {
		for id, code := range p.receipts {
			originalReceipts[id] = code
		}
	}

	// 4a. restore through the API (PocketBase answers 204, then swaps and re-executes itself)
	epoch := d.witnessEpoch()
	call(t, http.MethodPost, d.s.URL+"/api/backups/drill.zip/restore", d.su, nil, nil)
	d.waitRestarted(epoch)
	d.su = superuserToken(t, d.s) // superusers are back to the backup's state too

	// someone files a request before the phones come back: it must not take a lost number
	_, lateTok := d.citizen("drill-late-" + randomID(5) + "@demo.civicdesk.example")
	late := newPhone(t, d.s.URL, lateTok)
	lateReq := late.file(0)
	late.sync()
	lateNumber := late.acked()[lateReq]
	for id, num := range acked {
		if num == lateNumber {
			t.Fatalf("the request filed after the restore got %s, the number of acknowledged request %s", num, id)
		}
	}

	d.syncAll()
	d.syncAll() // a second round: nothing more to do, nothing doubled
	got := d.checkAcked(acked, "API restore")
	d.checkLost(got, early, newcomerReq)
	checkExactly(t, got, seeded, acked, map[string]string{lateReq: lateNumber})
	d.checkComments(comments)
	d.checkReceipts(originalReceipts)
	for _, p := range d.phones {
		if p.restores == 0 {
			t.Fatal("a phone did not notice the restore")
		}
	}
	if !strings.Contains(d.s.Logs(), "restore detected") {
		t.Fatalf("the server did not log the restore:\n%s", d.s.Logs())
	}

	// 4b. more requests, then the same backup unzipped by hand into a fresh data dir
	for _, p := range d.phones {
		p.file(1)
	}
	d.syncAll()
	acked = d.ackedAll()
	if len(acked) != 15 {
		t.Fatalf("%d requests acknowledged, want 15", len(acked))
	}
	d.s.Stop()
	fresh := t.TempDir()
	unzip(t, saved, fresh)
	d.s.DataDir = fresh
	d.s.Log.Reset()
	d.s.Start()
	d.su = superuserToken(t, d.s)
	d.syncAll()
	d.syncAll()
	got = d.checkAcked(acked, "manual restore")
	d.checkLost(got, early, newcomerReq)
	if _, ok := got[lateReq]; ok {
		t.Fatal("the late citizen signed up after the backup: their request cannot come back")
	}
	checkExactly(t, got, seeded, acked)
	// without a witness the counter jumped: a new request cannot take a number issued in the lost window
	_, tok := d.citizen("drill-after-" + randomID(5) + "@demo.civicdesk.example")
	after := newPhone(t, d.s.URL, tok)
	afterReq := after.file(0)
	after.sync()
	if n := after.acked()[afterReq]; n == lateNumber || n == "" {
		t.Fatalf("the first request after the manual restore got %q (the late request had %s)", n, lateNumber)
	}
	d.checkComments(comments)
	if !strings.Contains(d.s.Logs(), "restore witness is missing") {
		t.Fatalf("the server did not log why it saw a restore:\n%s", d.s.Logs())
	}
}

// checkLost asserts what the restore lost is exactly the recovery point:
// the staff change after the backup, the account signed up after it (and
// its request); the staff change before the backup is kept.
func (d *drill) checkLost(got map[string]serverRequest, early []string, newcomerReq string) {
	d.t.Helper()
	if got[early[0]].Status != "in_progress" {
		d.t.Fatalf("the staff change before the backup is gone: %s", got[early[0]].Status)
	}
	if got[early[2]].Status != "received" {
		d.t.Fatalf("the staff change after the backup survived (%s): the restore did not happen", got[early[2]].Status)
	}
	if _, ok := got[newcomerReq]; ok {
		d.t.Fatal("the request of an account signed up after the backup came back: the account should be gone")
	}
}

func (d *drill) checkComments(ids []string) {
	d.t.Helper()
	for _, id := range ids {
		var ev struct {
			ID string `json:"id"`
		}
		call(d.t, http.MethodGet, d.s.URL+"/api/collections/request_events/records/"+id, d.su, nil, &ev)
	}
}

// checkReceipts: receipts issued before the restore still verify.
func (d *drill) checkReceipts(codes map[string]string) {
	d.t.Helper()
	for id, code := range codes {
		var res struct {
			Valid  bool `json:"valid"`
			Claims struct {
				Number string `json:"number"`
			} `json:"claims"`
		}
		call(d.t, http.MethodPost, d.s.URL+"/api/receipts/verify", "", map[string]string{"code": code}, &res)
		if !res.Valid {
			d.t.Fatalf("the receipt of %s no longer verifies: %+v", id, res)
		}
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertZipLeavesOut checks the backup carries neither the witness nor Litestream's state.
func assertZipLeavesOut(t testing.TB, path string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		for _, ex := range recovery.Excluded {
			if f.Name == ex || strings.HasPrefix(f.Name, ex+"/") {
				t.Fatalf("the backup carries %s", f.Name)
			}
		}
	}
}

func unzip(t testing.TB, path, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst := filepath.Join(dir, f.Name)
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(os.PathSeparator)) {
			t.Fatalf("zip entry %s escapes", f.Name)
		}
		if f.FileInfo().IsDir() {
			_ = os.MkdirAll(dst, 0o700)
			continue
		}
		_ = os.MkdirAll(filepath.Dir(dst), 0o700)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// checkExactly: the server holds exactly the seeded requests and the acknowledged ones, nothing else.
func checkExactly(t *testing.T, got map[string]serverRequest, seeded map[string]serverRequest, acked ...map[string]string) {
	t.Helper()
	want := map[string]bool{}
	for id := range seeded {
		want[id] = true
	}
	for _, m := range acked {
		for id := range m {
			want[id] = true
		}
	}
	for id := range got {
		if !want[id] {
			t.Fatalf("request %s on the server was never acknowledged to a phone", id)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d requests on the server, want %d", len(got), len(want))
	}
}
