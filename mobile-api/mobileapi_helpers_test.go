package mobileapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// serve starts the world's router on a real HTTP server (what ApiScenario
// does in-process), for tests that need concurrency or many requests.
func serve(t testing.TB, w *testkit.World) string {
	t.Helper()
	r, err := apis.NewRouter(w.App)
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	se := &core.ServeEvent{App: w.App, Router: r}
	err = w.App.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		srv = httptest.NewServer(mux)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.URL
}

// client is a sync client of one citizen.
type client struct {
	t     testing.TB
	base  string
	token string
	id    string
}

func newClient(t testing.TB, base string, citizen *core.Record) *client {
	return &client{t: t, base: base, token: testkit.Token(t, citizen), id: "client-" + randomID(10)}
}

// call posts body as JSON and decodes the answer into out (if not nil).
func (c *client) call(path string, body any, out any) int {
	c.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s: %d %s: %v", path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

type mutation struct {
	ID         int64          `json:"id"`
	Name       string         `json:"name"`
	ClientTime string         `json:"clientTime,omitempty"`
	Args       map[string]any `json:"args"`
}

type pushResp struct {
	Status         int    `json:"status"`
	Message        string `json:"message"`
	LastMutationID int64  `json:"lastMutationID"`
	Results        []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Error  *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	} `json:"results"`
	Data map[string]any `json:"data"`
}

func (c *client) push(ms ...mutation) (int, pushResp) {
	c.t.Helper()
	var out pushResp
	code := c.call("/api/mobile/sync/push", map[string]any{"clientID": c.id, "mutations": ms}, &out)
	return code, out
}

type pullChange struct {
	Collection string         `json:"collection"`
	ID         string         `json:"id"`
	Op         string         `json:"op"`
	Data       map[string]any `json:"data"`
}

type pullResp struct {
	Cursor         string       `json:"cursor"`
	HasMore        bool         `json:"hasMore"`
	Reset          bool         `json:"reset"`
	LastMutationID int64        `json:"lastMutationID"`
	Changes        []pullChange `json:"changes"`
}

func (c *client) pull(cursor *string, limit int) (int, pullResp) {
	c.t.Helper()
	var out pullResp
	code := c.call("/api/mobile/sync/pull", map[string]any{"clientID": c.id, "cursor": cursor, "limit": limit}, &out)
	return code, out
}

// replica is a client's local copy, built only from pulls.
type replica struct {
	cursor *string
	lmid   int64
	data   map[string]map[string]any // "collection/id" -> data
}

// sync pulls until hasMore is false and applies every page to r.
func (c *client) sync(r *replica, limit int) {
	c.t.Helper()
	if r.data == nil {
		r.data = map[string]map[string]any{}
	}
	for i := 0; i < 100000; i++ {
		code, p := c.pull(r.cursor, limit)
		if code != http.StatusOK {
			c.t.Fatalf("pull: %d", code)
		}
		if p.Reset {
			r.data = map[string]map[string]any{}
		}
		applyChanges(r, p.Changes)
		cur := p.Cursor
		r.cursor, r.lmid = &cur, p.LastMutationID
		if !p.HasMore {
			return
		}
	}
	c.t.Fatal("pull never finished")
}

// randomID returns n characters of PocketBase's id alphabet.
func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func create(id int64, requestID string) mutation {
	return mutation{ID: id, Name: "request.create", Args: map[string]any{
		"requestId": requestID, "service": "pothole", "answers": map[string]any{"size": "large"},
		"description": fmt.Sprintf("hole %d", id), "location": map[string]float64{"lat": 44.4056, "lon": 8.9463},
	}}
}

func comment(id int64, eventID, requestID, msg string) mutation {
	return mutation{ID: id, Name: "request.comment", Args: map[string]any{"eventId": eventID, "requestId": requestID, "message": msg}}
}

func cancel(id int64, requestID string) mutation {
	return mutation{ID: id, Name: "request.cancel", Args: map[string]any{"requestId": requestID}}
}

// applyChanges applies a page as docs/sync-protocol.md tells clients to: a
// `del` of a request also drops its events and receipts.
func applyChanges(r *replica, changes []pullChange) {
	for _, ch := range changes {
		key := ch.Collection + "/" + ch.ID
		if ch.Op != "del" {
			r.data[key] = ch.Data
			continue
		}
		delete(r.data, key)
		if ch.Collection == "requests" {
			for k, v := range r.data {
				if v["request"] == ch.ID {
					delete(r.data, k)
				}
			}
		}
	}
}

// bombPNG is a valid PNG header claiming w×h with a tiny (truncated) body.
func bombPNG(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.Write([]byte("\x89PNG\r\n\x1a\n"))
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		body := append([]byte(typ), data...)
		buf.Write(body)
		_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(body))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return buf.Bytes()
}
