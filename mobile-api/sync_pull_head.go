package mobileapi

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
)

// pullHead is everything an up-to-date client's pull needs, read by ONE
// SELECT (one statement reads one WAL snapshot, so it is as consistent as the
// read transaction of a full pull). A full pull reads it first in its
// transaction.
type pullHead struct {
	Epoch         string
	ClientKnown   bool
	ClientCitizen string
	LMID          int64
	MaxSeq        int64
	Floor         int64
	CursorRow     string // "at|record_id|op" of the change at the cursor, "" when none
	MaxRow        string // the same of the change at MaxSeq
	HasNew        bool   // a change for the citizen after the cursor
}

// headSQL must read what recovery.Epoch, changelog.MaxSeq, Floor and
// Fingerprint read, from the same tables. ?1 is the clientID, ?2 the
// citizen, ?3 the cursor's seq (0 without one).
const headSQL = "SELECT " +
	"COALESCE((SELECT value FROM recovery_state WHERE key = 'epoch'), '') AS epoch, " +
	"c.client_id IS NOT NULL AS client_known, COALESCE(c.citizen, '') AS client_citizen, COALESCE(c.last_mutation_id, 0) AS lmid, " +
	"COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0) AS max_seq, " +
	"COALESCE((SELECT value FROM changes_meta WHERE key = 'pruned_through'), 0) AS floor, " +
	"COALESCE((SELECT at || '|' || record_id || '|' || op FROM changes WHERE seq = ?3), '') AS cursor_row, " +
	"COALESCE((SELECT at || '|' || record_id || '|' || op FROM changes WHERE seq = (SELECT seq FROM sqlite_sequence WHERE name = 'changes')), '') AS max_row, " +
	"EXISTS (SELECT 1 FROM changes WHERE citizen = ?2 AND seq > ?3) AS has_new " +
	"FROM (SELECT 1) LEFT JOIN sync_clients c ON c.client_id = ?1"

// readHead runs headSQL (in tx when it is not nil: the full pull's snapshot).
func readHead(stmts *pullStmts, tx *sql.Tx, clientID, citizenID string, seq int64) (*pullHead, error) {
	st := stmts.head
	if tx != nil {
		st = tx.Stmt(st)
	}
	var h pullHead
	err := st.QueryRow(clientID, citizenID, seq).Scan(&h.Epoch, &h.ClientKnown, &h.ClientCitizen, &h.LMID, &h.MaxSeq, &h.Floor, &h.CursorRow, &h.MaxRow, &h.HasNew)
	if err != nil {
		return nil, fmt.Errorf("read pull head: %w", err)
	}
	return &h, nil
}

// rowFingerprint is changelog.Fingerprint of a row given as "at|record_id|op".
func rowFingerprint(row string) string {
	if row == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(row))
	return hex.EncodeToString(sum[:4])
}

// pullUpToDate answers the pull of a client that has seen everything (the
// common pull: on every app start, poke and timer) from one statement,
// without a transaction or any record load. ok is false when the pull needs
// the full path: a reset, a cursor to check further, or changes to send.
func pullUpToDate(stmts *pullStmts, citizenID string, req *PullRequest) (resp *pullResponse, ok bool, err error) {
	cur := parseCursor(req.Cursor)
	if !cur.valid || cur.reset != nil {
		return nil, false, nil
	}
	h, err := readHead(stmts, nil, req.ClientID, citizenID, cur.seq)
	if err != nil {
		return nil, false, err
	}
	switch {
	case h.ClientKnown && h.ClientCitizen != citizenID:
		return nil, false, errClientForeign
	case cur.epoch != "" && cur.epoch != h.Epoch,
		cur.fp != "" && h.CursorRow != "" && rowFingerprint(h.CursorRow) != cur.fp,
		cur.seq > h.MaxSeq, cur.seq < h.Floor,
		h.HasNew:
		return nil, false, nil // the full pull decides (reset or changes)
	}
	resp = &pullResponse{Changes: []change{}, Epoch: h.Epoch, LastMutationID: h.LMID}
	resp.Cursor = cursorString(h.MaxSeq, h.MaxRow, h.Epoch)
	return resp, true, nil
}

// cursorString is the cursor for seq whose change row is row ("at|record_id|op",
// "" when the row is gone): "1187.3fa9c2d1@k3v9x0p2".
func cursorString(seq int64, row, epoch string) string {
	s := strconv.FormatInt(seq, 10)
	if fp := rowFingerprint(row); fp != "" {
		s += "." + fp
	}
	return s + epochSuffix(epoch)
}
