package mobileapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mobileapi "civicdesk/mobile-api"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// testJPEG returns a w×h JPEG with an EXIF segment carrying a GPS marker.
func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	payload := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00GPSMARKER")
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	raw := buf.Bytes()
	out := append(append(append([]byte{}, raw[:2]...), seg...), payload...)
	return append(out, raw[2:]...)
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// tusClient speaks tus 1.0 for one citizen.
type tusClient struct {
	t     testing.TB
	base  string
	token string
}

func (c *tusClient) do(method, url string, headers map[string]string, body []byte) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", c.token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func metadata(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

func (c *tusClient) create(attachmentID, requestID string, data []byte, sum string) *http.Response {
	kv := []string{"attachmentId", attachmentID, "sha256", sum, "filetype", "image/jpeg"}
	if requestID != "" {
		kv = append(kv, "requestId", requestID)
	}
	return c.do(http.MethodPost, c.base+"/api/mobile/uploads/", map[string]string{
		"Upload-Length": strconv.Itoa(len(data)), "Upload-Metadata": metadata(kv...),
	}, nil)
}

func (c *tusClient) patch(location string, offset int, chunk []byte) *http.Response {
	return c.do(http.MethodPatch, location, map[string]string{
		"Upload-Offset": strconv.Itoa(offset), "Content-Type": "application/offset+octet-stream",
	}, chunk)
}

// upload sends data in one go and returns the final PATCH response.
func (c *tusClient) upload(attachmentID, requestID string, data []byte, sum string) *http.Response {
	c.t.Helper()
	resp := c.create(attachmentID, requestID, data, sum)
	if resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("create: %d", resp.StatusCode)
	}
	return c.patch(resp.Header.Get("Location"), 0, data)
}

func uploadStatus(t testing.TB, app core.App, id string) (status, code string) {
	t.Helper()
	var row struct {
		Status string `db:"status"`
		Code   string `db:"error_code"`
	}
	if err := app.DB().NewQuery("SELECT status, error_code FROM sync_uploads WHERE attachment_id = {:id}").Bind(dbx.Params{"id": id}).One(&row); err != nil {
		t.Fatalf("upload %s: %v", id, err)
	}
	return row.Status, row.Code
}

func storedPhotos(t testing.TB, app core.App, requestID string) [][]byte {
	t.Helper()
	rec, err := app.FindRecordById("requests", requestID)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, name := range rec.GetStringSlice("photos") {
		data, err := os.ReadFile(filepath.Join(app.DataDir(), "storage", rec.BaseFilesPath(), name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// Upload after request.create: the photo is stripped, attached, logged and pulled.
func TestUploadAfterCreate(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	c := newClient(t, base, w.CitizenA)
	tc := &tusClient{t: t, base: base, token: c.token}
	rid, att := randomID(15), "01JD5Y2A9V"+randomID(8)
	m := create(1, rid)
	m.Args["attachments"] = []string{att}
	if code, res := c.push(m); code != http.StatusOK || res.Results[0].Status != "applied" {
		t.Fatalf("push: %d %+v", code, res)
	}
	photo := testJPEG(t, 64, 48)
	if resp := tc.upload(att, rid, photo, sha(photo)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("final PATCH: %d", resp.StatusCode)
	}
	if st, _ := uploadStatus(t, w.App, att); st != "attached" {
		t.Fatalf("upload status %s", st)
	}
	stored := storedPhotos(t, w.App, rid)
	if len(stored) != 1 || bytes.Contains(stored[0], []byte("Exif")) || bytes.Contains(stored[0], []byte("GPSMARKER")) {
		t.Fatalf("stored photos: %d, metadata left: %v", len(stored), len(stored) == 1 && bytes.Contains(stored[0], []byte("GPSMARKER")))
	}
	if _, err := w.App.FindFirstRecordByFilter("request_events", "request = {:r} && type = 'photo'", dbx.Params{"r": rid}); err != nil {
		t.Fatalf("no photo event: %v", err)
	}
	var r replica
	c.sync(&r, 100)
	data := r.data["requests/"+rid]
	raw, _ := json.Marshal(data)
	if !strings.Contains(string(raw), `"url":"/api/files/requests/`+rid+`/`) || !strings.Contains(string(raw), `?thumb=320x240`) || !strings.Contains(string(raw), `"status":"attached"`) {
		t.Fatalf("pulled request: %s", raw)
	}
	// HEAD after completion answers the full offset; a repeated creation the same upload
	if resp := tc.do(http.MethodHead, base+"/api/mobile/uploads/"+att, nil, nil); resp.StatusCode != http.StatusOK || resp.Header.Get("Upload-Offset") != strconv.Itoa(len(photo)) {
		t.Fatalf("HEAD: %d offset %s", resp.StatusCode, resp.Header.Get("Upload-Offset"))
	}
	if resp := tc.create(att, rid, photo, sha(photo)); resp.StatusCode != http.StatusCreated || !strings.HasSuffix(resp.Header.Get("Location"), "/api/mobile/uploads/"+att) {
		t.Fatalf("repeated creation: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(storedPhotos(t, w.App, rid)); n != 1 {
		t.Fatalf("%d photos after repeats", n)
	}
}

// Upload before request.create: kept under its attachmentId, attached on create.
func TestUploadBeforeCreate(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	c := newClient(t, base, w.CitizenA)
	tc := &tusClient{t: t, base: base, token: c.token}
	rid := randomID(15)
	att1, att2 := "att1-"+randomID(6), "att2-"+randomID(6)
	p1, p2 := testJPEG(t, 30, 20), testJPEG(t, 20, 30)
	if resp := tc.upload(att1, rid, p1, sha(p1)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("upload 1: %d", resp.StatusCode)
	}
	// no requestId in the metadata: bound by the create's attachment list
	if resp := tc.upload(att2, "", p2, sha(p2)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("upload 2: %d", resp.StatusCode)
	}
	if st, _ := uploadStatus(t, w.App, att1); st != "ready" {
		t.Fatalf("status before create: %s", st)
	}
	m := create(1, rid)
	m.Args["attachments"] = []string{att1, att2}
	if code, res := c.push(m); code != http.StatusOK || res.Results[0].Status != "applied" {
		t.Fatalf("push: %d %+v %+v", code, res, res.Results[0].Error)
	}
	for _, att := range []string{att1, att2} {
		if st, _ := uploadStatus(t, w.App, att); st != "attached" {
			t.Fatalf("%s: %s", att, st)
		}
	}
	if n := len(storedPhotos(t, w.App, rid)); n != 2 {
		t.Fatalf("%d photos", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(w.App.DataDir(), "mobile_uploads", "processed")); len(entries) != 0 {
		t.Fatalf("processed copies left behind: %d", len(entries))
	}
}

// A connection that dies mid-upload resumes from the stored offset; a retried
// creation returns the same upload.
func TestUploadResume(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	tc := &tusClient{t: t, base: base, token: testkit.Token(t, w.CitizenA)}
	att := "resume-" + randomID(6)
	photo := testJPEG(t, 300, 200)
	resp := tc.create(att, "", photo, sha(photo))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || loc == "" {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	half := len(photo) / 2
	if resp := tc.patch(loc, 0, photo[:half]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first half: %d", resp.StatusCode)
	}
	again := tc.create(att, "", photo, sha(photo))
	if again.StatusCode != http.StatusCreated || again.Header.Get("Location") != loc || again.Header.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Fatalf("retried creation: %d %s offset %s", again.StatusCode, again.Header.Get("Location"), again.Header.Get("Upload-Offset"))
	}
	head := tc.do(http.MethodHead, loc, nil, nil)
	if head.Header.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Fatalf("HEAD offset %s, want %d", head.Header.Get("Upload-Offset"), half)
	}
	if resp := tc.patch(loc, 0, photo); resp.StatusCode != http.StatusConflict {
		t.Fatalf("PATCH at a stale offset: want 409, got %d", resp.StatusCode)
	}
	if resp := tc.patch(loc, half, photo[half:]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second half: %d", resp.StatusCode)
	}
	if st, _ := uploadStatus(t, w.App, att); st != "ready" {
		t.Fatalf("status %s", st)
	}
	// another citizen cannot see or reuse it
	other := &tusClient{t: t, base: base, token: testkit.Token(t, w.CitizenB)}
	if resp := other.do(http.MethodHead, loc, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("foreign HEAD: %d", resp.StatusCode)
	}
	if resp := other.create(att, "", photo, sha(photo)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign create: %d", resp.StatusCode)
	}
}

func TestUploadRejections(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	c := newClient(t, base, w.CitizenA)
	tc := &tusClient{t: t, base: base, token: c.token}
	rid := randomID(15)
	if code, _ := c.push(create(1, rid)); code != http.StatusOK {
		t.Fatal(code)
	}
	photo := testJPEG(t, 40, 40)
	bomb := bombPNG(20000, 20000)
	scenarios := []struct {
		name string
		data []byte
		sum  string
		code string
	}{
		{"wrong sha256", photo, sha([]byte("something else")), "checksum_mismatch"},
		{"text renamed .jpg", []byte("just some text, not a photo at all"), "", "not_an_image"},
		{"decompression bomb", bomb, "", "too_many_pixels"},
	}
	for i, s := range scenarios {
		sum := s.sum
		if sum == "" {
			sum = sha(s.data)
		}
		att := "rej-" + strconv.Itoa(i)
		resp := tc.upload(att, rid, s.data, sum)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: final PATCH %d", s.name, resp.StatusCode)
		}
		if st, code := uploadStatus(t, w.App, att); st != "rejected" || code != s.code {
			t.Errorf("%s: %s/%s", s.name, st, code)
		}
		if resp := tc.do(http.MethodHead, base+"/api/mobile/uploads/"+att, nil, nil); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: HEAD %d", s.name, resp.StatusCode)
		}
		if _, err := os.Stat(filepath.Join(w.App.DataDir(), "mobile_uploads", "tus", att)); !os.IsNotExist(err) {
			t.Errorf("%s: raw bytes kept", s.name)
		}
	}
	if n := len(storedPhotos(t, w.App, rid)); n != 0 {
		t.Fatalf("%d photos attached after rejections", n)
	}
	// a rejected attachment may be sent again, correctly this time
	if resp := tc.upload("rej-0", rid, photo, sha(photo)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("retry after rejection: %d", resp.StatusCode)
	}

	big := tc.do(http.MethodPost, base+"/api/mobile/uploads/", map[string]string{
		"Upload-Length": strconv.Itoa(10<<20 + 1), "Upload-Metadata": metadata("attachmentId", "big", "sha256", sha(nil)),
	}, nil)
	if big.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("over 10 MiB: %d", big.StatusCode)
	}
	for name, meta := range map[string]string{
		"no sha256":        metadata("attachmentId", "x1"),
		"no attachmentId":  metadata("sha256", sha(nil)),
		"bad requestId":    metadata("attachmentId", "x2", "sha256", sha(nil), "requestId", "NOPE"),
		"not base64":       "attachmentId !!!,sha256 " + sha(nil),
		"unsupported type": metadata("attachmentId", "x3", "sha256", sha(nil), "filetype", "image/gif"),
	} {
		resp := tc.do(http.MethodPost, base+"/api/mobile/uploads/", map[string]string{"Upload-Length": "10", "Upload-Metadata": meta}, nil)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	anon := &tusClient{t: t, base: base}
	if resp := anon.create("anon", "", photo, sha(photo)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}

	// five photos a request, the sixth is refused
	for i := 0; i < 5; i++ {
		p := testJPEG(t, 10+i, 10)
		if resp := tc.upload("five-"+strconv.Itoa(i), rid, p, sha(p)); resp.StatusCode != http.StatusNoContent && i < 4 {
			t.Fatalf("photo %d: %d", i, resp.StatusCode)
		}
	}
	if st, code := uploadStatus(t, w.App, "five-4"); st != "rejected" || code != "too_many_photos" {
		t.Fatalf("sixth photo: %s/%s", st, code)
	}
	if n := len(storedPhotos(t, w.App, rid)); n != 5 {
		t.Fatalf("%d photos", n)
	}
}

func TestPruneUploads(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	c := newClient(t, base, w.CitizenA)
	tc := &tusClient{t: t, base: base, token: c.token}
	rid := randomID(15)
	if code, _ := c.push(create(1, rid)); code != http.StatusOK {
		t.Fatal(code)
	}
	p := testJPEG(t, 20, 20)
	tc.upload("bound", rid, p, sha(p))
	tc.upload("unbound", randomID(15), p, sha(p))
	tc.create("partial", "", p, sha(p))
	if n, err := mobileapi.PruneUploads(w.App, time.Now().Add(-30*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("fresh uploads pruned: %d %v", n, err)
	}
	// files a crash could leave behind: raw bytes of an attached upload, an unknown processed copy
	orphans := []string{filepath.Join("tus", "bound"), filepath.Join("tus", "bound.info"), filepath.Join("processed", "ghost.jpg")}
	for _, o := range orphans {
		if err := os.WriteFile(filepath.Join(w.App.DataDir(), "mobile_uploads", o), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-31 * 24 * time.Hour).UTC().Format("2006-01-02 15:04:05.000Z")
	if _, err := w.App.DB().NewQuery("UPDATE sync_uploads SET updated = {:old}").Bind(dbx.Params{"old": old}).Execute(); err != nil {
		t.Fatal(err)
	}
	n, err := mobileapi.PruneUploads(w.App, time.Now().Add(-30*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	var left []string
	_ = w.App.DB().NewQuery("SELECT attachment_id FROM sync_uploads").Column(&left)
	if len(left) != 1 || left[0] != "bound" {
		t.Fatalf("left %v", left)
	}
	for _, dir := range []string{"tus", "processed"} {
		if entries, _ := os.ReadDir(filepath.Join(w.App.DataDir(), "mobile_uploads", dir)); len(entries) != 0 {
			t.Fatalf("%s: %d files left", dir, len(entries))
		}
	}
}

// TestUnansweredUploadFinishes: every byte arrived but the final PATCH got no
// answer (the client gave up waiting, the server died before processing). A
// repeated creation, which tells the client "offset = length, done", and a
// HEAD both process the photo first, so no complete upload stays unbound.
func TestUnansweredUploadFinishes(t *testing.T) {
	for _, how := range []string{"create", "head"} {
		t.Run(how, func(t *testing.T) {
			w := testkit.NewApp(t)
			base := serve(t, w)
			tc := &tusClient{t: t, base: base, token: testkit.Token(t, w.CitizenA)}
			att := "unanswered-" + randomID(6)
			photo := testJPEG(t, 120, 90)
			resp := tc.create(att, "", photo, sha(photo))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create: %d", resp.StatusCode)
			}
			// the bytes as tusd stores them, without the PATCH that would have processed them
			dir := filepath.Join(w.App.DataDir(), "mobile_uploads", "tus")
			if err := os.WriteFile(filepath.Join(dir, att), photo, 0o600); err != nil {
				t.Fatal(err)
			}
			infoPath := filepath.Join(dir, att+".info")
			raw, err := os.ReadFile(infoPath)
			if err != nil {
				t.Fatal(err)
			}
			var info map[string]any
			if err := json.Unmarshal(raw, &info); err != nil {
				t.Fatal(err)
			}
			info["Offset"] = len(photo)
			if raw, err = json.Marshal(info); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(infoPath, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			if st, _ := uploadStatus(t, w.App, att); st != "uploading" {
				t.Fatalf("before: status %s, want uploading", st)
			}

			var again *http.Response
			if how == "create" {
				again = tc.create(att, "", photo, sha(photo))
				if again.StatusCode != http.StatusCreated {
					t.Fatalf("repeated creation: %d", again.StatusCode)
				}
			} else {
				again = tc.do(http.MethodHead, resp.Header.Get("Location"), nil, nil)
				if again.StatusCode != http.StatusOK {
					t.Fatalf("HEAD: %d", again.StatusCode)
				}
			}
			if got := again.Header.Get("Upload-Offset"); got != strconv.Itoa(len(photo)) {
				t.Fatalf("Upload-Offset %s, want %d", got, len(photo))
			}
			if st, code := uploadStatus(t, w.App, att); st != "ready" {
				t.Fatalf("after the %s: status %s (%s), want ready (processed, waiting for its request)", how, st, code)
			}
		})
	}
}
