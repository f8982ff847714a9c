package mobileapi

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// Pull page sizes.
const (
	DefaultPullLimit = 200
	MaxPullLimit     = 1000
	maxPullBody      = 4 << 10
)

// Change ops on the wire.
const (
	opPut = "put"
	opDel = "del"
)

// PullRequest is the body of POST /api/mobile/sync/pull.
type PullRequest struct {
	ClientID string `json:"clientID"`
	// Cursor is null (first pull) or the opaque cursor of the previous response.
	Cursor *string `json:"cursor"`
	Limit  int     `json:"limit"`
}

// change is one entry of a pull response.
type change struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Op         string `json:"op"`
	Data       any    `json:"data,omitempty"`
}

// pullResponse is the body of a pull.
type pullResponse struct {
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"hasMore"`
	Reset   bool   `json:"reset"`
	// Epoch changes when the server detects it was restored from a backup
	// (package recovery): a client that sees it change re-pushes what it had
	// acknowledged since (docs/sync-protocol.md "After a restore").
	Epoch          string   `json:"epoch"`
	LastMutationID int64    `json:"lastMutationID"`
	Changes        []change `json:"changes"`
}

// ParsePullBody decodes and checks a pull body.
func ParsePullBody(body []byte) (*PullRequest, error) {
	if len(body) > maxPullBody {
		return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("A pull body may have at most %d bytes.", maxPullBody)}
	}
	var raw struct {
		ClientID string          `json:"clientID"`
		Cursor   json.RawMessage `json:"cursor"`
		Limit    int             `json:"limit"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&raw); err != nil {
		return nil, &RequestError{Status: http.StatusBadRequest, Message: "The body is not a valid pull: " + jsonProblem(err)}
	}
	req := &PullRequest{ClientID: raw.ClientID, Limit: raw.Limit}
	if !clientIDPattern.MatchString(req.ClientID) {
		return nil, &RequestError{Status: http.StatusBadRequest, Field: "clientID", Message: "clientID must be 1-64 characters of A-Z, a-z, 0-9, _ and -."}
	}
	if c := bytes.TrimSpace(raw.Cursor); len(c) > 0 && string(c) != "null" {
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			// accept a bare number too: clients may store the cursor as one
			var n json.Number
			if err := json.Unmarshal(c, &n); err != nil {
				return nil, &RequestError{Status: http.StatusBadRequest, Field: "cursor", Message: "cursor must be null or the string of a previous pull."}
			}
			s = n.String()
		}
		req.Cursor = &s
	}
	switch {
	case req.Limit == 0:
		req.Limit = DefaultPullLimit
	case req.Limit < 0:
		return nil, &RequestError{Status: http.StatusBadRequest, Field: "limit", Message: "limit must be positive."}
	case req.Limit > MaxPullLimit:
		req.Limit = MaxPullLimit
	}
	return req, nil
}

// handlePull answers POST /api/mobile/sync/pull.
func handlePull(e *core.RequestEvent) error {
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, maxPullBody+1))
	if err != nil {
		return e.BadRequestError("Failed to read the body.", err)
	}
	req, err := ParsePullBody(body)
	if err != nil {
		return requestErrorResponse(e, err)
	}
	resp, err := Pull(e.App, e.Auth.Id, req)
	switch {
	case errors.Is(err, errClientForeign):
		return e.ForbiddenError("This clientID is bound to another account; start a new installation id.", nil)
	case err != nil && isTransient(err):
		e.Response.Header().Set("Retry-After", "1")
		return e.Error(http.StatusServiceUnavailable, "The server is busy; retry the pull shortly.", nil)
	case err != nil:
		return e.InternalServerError("Failed to read changes.", err)
	}
	return writePull(e, resp)
}

// Pull reads the citizen's changes after req.Cursor, their current state and
// the client's lastMutationID in ONE read transaction (a WAL snapshot), so the
// cursor never runs ahead of what was read and lastMutationID never shows a
// mutation whose effects are missing. An up-to-date client is answered from
// one statement without a transaction (pullUpToDate).
func Pull(app core.App, citizenID string, req *PullRequest) (*pullResponse, error) {
	stmts, err := pullStatements(app)
	if err != nil {
		return nil, err
	}
	if resp, ok, err := pullUpToDate(stmts, citizenID, req); err != nil || ok {
		return resp, err
	}
	tx, err := stmts.db.Begin()
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback() // read only: nothing to commit

	r := &reader{stmts: stmts, tx: tx, citizen: citizenID}
	return r.pull(req)
}

// reader reads one pull inside one snapshot.
type reader struct {
	stmts   *pullStmts
	tx      *sql.Tx
	citizen string
	epoch   string
	head    *pullHead
}

// query runs one of the prepared statements in the reader's snapshot.
func (r *reader) query(st *sql.Stmt, args ...any) (*sql.Rows, error) {
	return r.tx.Stmt(st).Query(args...)
}

func (r *reader) pull(req *PullRequest) (*pullResponse, error) {
	resp := &pullResponse{Changes: []change{}}
	cur := parseCursor(req.Cursor)
	h, err := readHead(r.stmts, r.tx, req.ClientID, r.citizen, cur.seq)
	if err != nil {
		return nil, err
	}
	if h.ClientKnown && h.ClientCitizen != r.citizen {
		return nil, errClientForeign
	}
	r.head, r.epoch = h, h.Epoch
	resp.Epoch, resp.LastMutationID = h.Epoch, h.LMID
	maxSeq, floor := h.MaxSeq, h.Floor

	if cur.epoch != "" && cur.epoch != r.epoch {
		// issued before a restore was detected: the sequence behind it is gone
		cur = cursor{}
	}
	if cur.valid && cur.fp != "" {
		// the row a cursor names must still be the row it named: after a restore
		// from backup the sequence numbers are issued again to other changes
		if fp := rowFingerprint(h.CursorRow); fp != "" && fp != cur.fp {
			cur.valid = false
		}
	}
	switch {
	case cur.reset != nil:
		cur.reset.epoch = r.epoch
		return r.resetPage(resp, *cur.reset, req.Limit, false)
	case !cur.valid || cur.seq > maxSeq || cur.seq < floor:
		// first pull, a cursor we never issued, from before a restore, or older than the kept tombstones
		return r.resetPage(resp, resetCursor{high: maxSeq, epoch: r.epoch}, req.Limit, true)
	}

	rows, err := r.changesAfter(cur.seq, req.Limit+1)
	if err != nil {
		return nil, err
	}
	if len(rows) > req.Limit {
		rows, resp.HasMore = rows[:req.Limit], true
	}
	if resp.HasMore {
		last := rows[len(rows)-1]
		resp.Cursor = cursorString(last.seq, last.row, r.epoch)
	} else {
		// nothing more for this citizen up to the snapshot's high-water mark
		// (cur.seq <= maxSeq here)
		resp.Cursor = cursorString(maxSeq, h.MaxRow, r.epoch)
	}

	// one entry per record, at its last position: its current state covers the earlier changes
	last := make(map[string]int, len(rows))
	for i, row := range rows {
		last[row.collection+"/"+row.recordID] = i
	}
	ids := map[string][]string{}
	order := make([]pulledChange, 0, len(last))
	for i, row := range rows {
		if last[row.collection+"/"+row.recordID] != i {
			continue
		}
		order = append(order, row)
		ids[row.collection] = append(ids[row.collection], row.recordID)
	}
	states, err := r.loadStates(ids)
	if err != nil {
		return nil, err
	}
	resp.Changes = make([]change, 0, len(order))
	for _, row := range order {
		data, ok := states[row.collection+"/"+row.recordID]
		if !ok {
			resp.Changes = append(resp.Changes, change{Collection: row.collection, ID: row.recordID, Op: opDel})
			continue
		}
		resp.Changes = append(resp.Changes, change{Collection: row.collection, ID: row.recordID, Op: opPut, Data: data})
	}
	return resp, nil
}

// pulledChange is a change row of the citizen, with the text its fingerprint
// is computed from ("at|record_id|op", as changelog.Fingerprint).
type pulledChange struct {
	seq        int64
	collection string
	recordID   string
	op         string
	row        string
}

// changesAfter returns up to limit changes of the citizen after seq, in seq order.
func (r *reader) changesAfter(seq int64, limit int) ([]pulledChange, error) {
	rows, err := r.query(r.stmts.changes, r.citizen, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	var out []pulledChange
	for rows.Next() {
		var c pulledChange
		if err := rows.Scan(&c.seq, &c.collection, &c.recordID, &c.op, &c.row); err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// cursor is a parsed pull cursor: a change seq (with the fingerprint of the
// change row at that seq, "1187.3fa9c2d1"), or a position inside a reset.
type cursor struct {
	valid bool
	seq   int64
	fp    string
	epoch string
	reset *resetCursor
}

// cursorAt is the cursor string for seq, with its row's fingerprint when it has one.
func (r *reader) cursorAt(seq int64) (string, error) {
	if seq == r.head.MaxSeq {
		return cursorString(seq, r.head.MaxRow, r.epoch), nil
	}
	var row string
	err := r.tx.Stmt(r.stmts.fingerprint).QueryRow(seq).Scan(&row)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read change %d: %w", seq, err)
	}
	return cursorString(seq, row, r.epoch), nil
}

// epochSuffix ends every cursor with the epoch it was issued in ("@k3v9x0p2").
func epochSuffix(epoch string) string {
	if epoch == "" {
		return ""
	}
	return "@" + epoch
}

// resetCursor walks the citizen's full state: `high` is the change seq the
// reset started at (the normal cursor once it is done), stage the collection
// being listed and after the last id sent.
type resetCursor struct {
	high  int64
	stage int
	after string
	epoch string
}

// resetStages are the collections listed by a reset, in order.
var resetStages = []string{"requests", "request_events", "receipts", "fees"}

func (c resetCursor) String() string {
	return fmt.Sprintf("r%d.%d.%s", c.high, c.stage, c.after) + epochSuffix(c.epoch)
}

func parseCursor(s *string) cursor {
	if s == nil {
		return cursor{}
	}
	str, epoch, hasEpoch := strings.Cut(*s, "@")
	if hasEpoch && !epochPattern.MatchString(epoch) {
		return cursor{}
	}
	c := parseCursorBody(str)
	c.epoch = epoch
	return c
}

var epochPattern = regexp.MustCompile(`^[a-z0-9]{8}$`)

func parseCursorBody(s string) cursor {
	if rest, ok := strings.CutPrefix(s, "r"); ok {
		parts := strings.SplitN(rest, ".", 3)
		if len(parts) != 3 {
			return cursor{}
		}
		high, err1 := strconv.ParseInt(parts[0], 10, 64)
		stage, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || high < 0 || stage < 0 || stage >= len(resetStages) || (parts[2] != "" && !recordIDPattern.MatchString(parts[2])) {
			return cursor{}
		}
		return cursor{reset: &resetCursor{high: high, stage: stage, after: parts[2]}}
	}
	num, fp, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || (fp != "" && !fingerprintPattern.MatchString(fp)) {
		return cursor{}
	}
	return cursor{valid: true, seq: n, fp: fp}
}

// resetPage returns one page of the citizen's full state. The first page says
// reset: true (the client clears its copy); when the listing is done the
// cursor becomes the seq the reset started at, so every change made while the
// client was paging is delivered by the following pulls.
func (r *reader) resetPage(resp *pullResponse, rc resetCursor, limit int, first bool) (*pullResponse, error) {
	resp.Reset = first
	for rc.stage < len(resetStages) {
		coll := resetStages[rc.stage]
		ids, err := r.visibleIDs(rc.stage, rc.after, limit-len(resp.Changes)+1)
		if err != nil {
			return nil, err
		}
		room := limit - len(resp.Changes)
		more := len(ids) > room
		if more {
			ids = ids[:room]
		}
		states, err := r.loadStates(map[string][]string{coll: ids})
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if data, ok := states[coll+"/"+id]; ok {
				resp.Changes = append(resp.Changes, change{Collection: coll, ID: id, Op: opPut, Data: data})
			}
		}
		if more {
			rc.after = ids[len(ids)-1]
			resp.HasMore = true
			resp.Cursor = rc.String()
			return resp, nil
		}
		rc.stage, rc.after = rc.stage+1, ""
		if len(resp.Changes) >= limit && rc.stage < len(resetStages) {
			resp.HasMore = true
			resp.Cursor = rc.String()
			return resp, nil
		}
	}
	cur, err := r.cursorAt(rc.high)
	if err != nil {
		return nil, err
	}
	resp.Cursor = cur
	return resp, nil
}

var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{8}$`)

// visibleIDs lists ids of stage's collection that the citizen sees, after `after`, in id order.
func (r *reader) visibleIDs(stage int, after string, limit int) ([]string, error) {
	rows, err := r.query(r.stmts.visible[stage], r.citizen, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", resetStages[stage], err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list %s: %w", resetStages[stage], err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", resetStages[stage], err)
	}
	return ids, nil
}
