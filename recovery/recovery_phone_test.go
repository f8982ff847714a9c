package recovery_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// phone is a citizen app as docs/sync-protocol.md describes it, including the
// restore rules of "After a restore": acknowledged mutations (and their photos)
// are kept, and when the server's epoch changes or its lastMutationID goes
// back, the kept ones it lost are re-queued after what it still has, a
// request.create carrying its receipt. It is the PWA's algorithm in Go.
type phone struct {
	t        testing.TB
	base     string
	token    string
	clientID string

	nextID   int64
	outbox   []mut
	retained []mut
	lmid     int64
	epoch    string
	cursor   any

	requests map[string]map[string]any // what pull delivered
	receipts map[string]string         // request id -> received receipt code
	photos   []*photo
	restores int
}

type mut struct {
	ID      int64          `json:"id"`
	Name    string         `json:"name"`
	Args    map[string]any `json:"args"`
	receipt string
}

type photo struct {
	attachmentID, requestID, sha string
	data                         []byte
	sent                         bool
}

func newPhone(t testing.TB, base, token string) *phone {
	return &phone{t: t, base: base, token: token, clientID: "ph-" + randomID(12), nextID: 1,
		requests: map[string]map[string]any{}, receipts: map[string]string{}}
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

// testJPEG is a small distinct photo.
func testJPEG(t testing.TB, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(seed * 37), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// file queues a pothole request with n photos and returns its id.
func (p *phone) file(nPhotos int) string {
	rid := randomID(15)
	var atts []string
	for i := 0; i < nPhotos; i++ {
		data := testJPEG(p.t, len(p.photos)+1)
		sum := sha256.Sum256(data)
		ph := &photo{attachmentID: "att-" + randomID(10), requestID: rid, sha: hex.EncodeToString(sum[:]), data: data}
		p.photos = append(p.photos, ph)
		atts = append(atts, ph.attachmentID)
	}
	p.enqueue("request.create", map[string]any{
		"requestId": rid, "service": "pothole", "answers": map[string]any{"size": "large"},
		"description": "drill " + rid, "location": map[string]float64{"lat": 44.4056, "lon": 8.9463}, "attachments": atts,
	})
	return rid
}

// comment queues a comment and returns the event id.
func (p *phone) comment(requestID string) string {
	eid := randomID(15)
	p.enqueue("request.comment", map[string]any{"eventId": eid, "requestId": requestID, "message": "drill comment"})
	return eid
}

func (p *phone) enqueue(name string, args map[string]any) {
	p.outbox = append(p.outbox, mut{ID: p.nextID, Name: name, Args: args})
	p.nextID++
}

func (p *phone) post(path string, body, out any) (int, []byte) {
	p.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, p.base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			p.t.Fatalf("%s: %v", path, err)
		}
	}
	return resp.StatusCode, data
}

// sync runs one round as the PWA does: push, pull (re-push after a detected
// restore), upload photos, pull.
func (p *phone) sync() {
	p.t.Helper()
	p.push()
	if p.pull() {
		p.push()
		p.pull()
	}
	if p.upload() {
		p.pull()
	}
}

func (p *phone) push() {
	p.t.Helper()
	for guard := 0; guard < 10; guard++ {
		var batch []mut
		for _, m := range p.outbox {
			if m.ID > p.lmid {
				batch = append(batch, m)
			}
		}
		if len(batch) == 0 {
			return
		}
		var res struct {
			LastMutationID int64 `json:"lastMutationID"`
		}
		code, body := p.post("/api/mobile/sync/push", map[string]any{"clientID": p.clientID, "mutations": batch}, &res)
		switch code {
		case http.StatusOK:
			return // acknowledged by the next pull
		case http.StatusConflict:
			var gap struct {
				Data struct {
					LastMutationID int64 `json:"lastMutationID"`
				} `json:"data"`
			}
			_ = json.Unmarshal(body, &gap)
			if gap.Data.LastMutationID < p.lmid {
				p.requeue(gap.Data.LastMutationID)
				continue
			}
			p.t.Fatalf("push: unexpected gap %s", body)
		case http.StatusUnauthorized:
			return // the account is gone (signed up after the backup)
		default:
			p.t.Fatalf("push: %d %s", code, body)
		}
	}
}

type pullPage struct {
	Cursor         string `json:"cursor"`
	HasMore        bool   `json:"hasMore"`
	Reset          bool   `json:"reset"`
	Epoch          string `json:"epoch"`
	LastMutationID int64  `json:"lastMutationID"`
	Changes        []struct {
		Collection string         `json:"collection"`
		ID         string         `json:"id"`
		Op         string         `json:"op"`
		Data       map[string]any `json:"data"`
	} `json:"changes"`
}

// pull pulls until idle; it reports whether it found the server restored.
func (p *phone) pull() bool {
	p.t.Helper()
	restored := false
	for guard := 0; guard < 1000; guard++ {
		var pg pullPage
		code, body := p.post("/api/mobile/sync/pull", map[string]any{"clientID": p.clientID, "cursor": p.cursor, "limit": 50}, &pg)
		if code == http.StatusUnauthorized {
			return false
		}
		if code != http.StatusOK {
			p.t.Fatalf("pull: %d %s", code, body)
		}
		if (p.epoch != "" && pg.Epoch != p.epoch) || pg.LastMutationID < p.lmid {
			restored = true
			p.epoch = pg.Epoch
			p.requeue(pg.LastMutationID)
			if !pg.Reset {
				continue
			}
		}
		p.epoch = pg.Epoch
		if pg.Reset {
			p.requests = map[string]map[string]any{}
		}
		for _, ch := range pg.Changes {
			if ch.Collection != "requests" {
				continue
			}
			if ch.Op == "del" {
				delete(p.requests, ch.ID)
				continue
			}
			p.requests[ch.ID] = ch.Data
			if rcs, ok := ch.Data["receipts"].([]any); ok {
				for _, r := range rcs {
					if rc, ok := r.(map[string]any); ok && rc["kind"] == "received" {
						if _, have := p.receipts[ch.ID]; !have {
							p.receipts[ch.ID] = rc["code"].(string) // the first one: what the citizen holds
						}
					}
				}
			}
		}
		p.cursor = pg.Cursor
		p.lmid = pg.LastMutationID
		if !pg.HasMore {
			// acknowledged: keep a grace copy
			var rest []mut
			for _, m := range p.outbox {
				if m.ID <= p.lmid {
					if m.Name == "request.create" {
						m.receipt = p.receipts[m.Args["requestId"].(string)]
					}
					p.retained = append(p.retained, m)
				} else {
					rest = append(rest, m)
				}
			}
			p.outbox = rest
			return restored
		}
	}
	p.t.Fatal("pull never finished")
	return restored
}

// requeue puts the kept mutations after `last` and the queue after `last`.
func (p *phone) requeue(last int64) {
	p.restores++
	var all []mut
	var keep []mut
	for _, m := range p.retained {
		if m.ID > last {
			all = append(all, m)
		} else {
			keep = append(keep, m)
		}
	}
	for _, m := range p.outbox {
		if m.ID > last {
			all = append(all, m)
		}
	}
	slices.SortFunc(all, func(a, b mut) int { return int(a.ID - b.ID) })
	p.retained, p.outbox = keep, nil
	id := last + 1
	for _, m := range all {
		args := map[string]any{}
		for k, v := range m.Args {
			args[k] = v
		}
		if m.Name == "request.create" {
			if code := p.receipts[args["requestId"].(string)]; code != "" {
				args["receipt"] = code
			}
		}
		p.outbox = append(p.outbox, mut{ID: id, Name: m.Name, Args: args})
		id++
	}
	p.nextID, p.lmid, p.cursor = id, last, nil
	for _, ph := range p.photos {
		ph.sent = false // offered again: creation is idempotent per attachmentId
	}
}

// upload sends every photo not sent yet over tus; true when one was sent.
func (p *phone) upload() bool {
	p.t.Helper()
	done := false
	for _, ph := range p.photos {
		if ph.sent {
			continue
		}
		meta := strings.Join([]string{
			"attachmentId " + b64(ph.attachmentID), "requestId " + b64(ph.requestID),
			"sha256 " + b64(ph.sha), "filetype " + b64("image/jpeg"),
		}, ",")
		resp := p.tus(http.MethodPost, p.base+"/api/mobile/uploads/", map[string]string{"Upload-Length": strconv.Itoa(len(ph.data)), "Upload-Metadata": meta}, nil)
		if resp.StatusCode == http.StatusUnauthorized {
			return done
		}
		if resp.StatusCode != http.StatusCreated {
			p.t.Fatalf("tus create: %d", resp.StatusCode)
		}
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "http") {
			loc = p.base + loc
		}
		off, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
		if off < len(ph.data) {
			r := p.tus(http.MethodPatch, loc, map[string]string{"Upload-Offset": strconv.Itoa(off), "Content-Type": "application/offset+octet-stream"}, ph.data[off:])
			if r.StatusCode != http.StatusNoContent {
				p.t.Fatalf("tus patch: %d", r.StatusCode)
			}
		}
		ph.sent, done = true, true
	}
	return done
}

func (p *phone) tus(method, url string, h map[string]string, body []byte) *http.Response {
	p.t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", p.token)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// acked returns the requests this phone saw acknowledged: id -> number.
func (p *phone) acked() map[string]string {
	out := map[string]string{}
	for id, r := range p.requests {
		out[id] = fmt.Sprint(r["number"])
	}
	return out
}
