package mobileapi

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// pullHead is everything an up-to-date client's pull needs, read by ONE
// SELECT (one statement reads one WAL snapshot, so it is as consistent as the
// read transaction of a full pull).
type pullHead struct {
	Epoch         string `db:"epoch"`
	ClientKnown   bool   `db:"client_known"`
	ClientCitizen string `db:"client_citizen"`
	LMID          int64  `db:"lmid"`
	MaxSeq        int64  `db:"max_seq"`
	Floor         int64  `db:"floor"`
	CursorRow     string `db:"cursor_row"` // "at|record_id|op" of the change at the cursor, "" when none
	MaxRow        string `db:"max_row"`    // the same of the change at MaxSeq
	HasNew        bool   `db:"has_new"`    // a change for the citizen after the cursor
}

// headSQL must read what reader.pull reads, from the same tables
// (recovery.Epoch, sync_clients, changelog.MaxSeq, Floor and Fingerprint).
const headSQL = "SELECT " +
	"COALESCE((SELECT [[value]] FROM [[recovery_state]] WHERE [[key]] = 'epoch'), '') AS [[epoch]], " +
	"EXISTS (SELECT 1 FROM [[sync_clients]] WHERE [[client_id]] = {:client}) AS [[client_known]], " +
	"COALESCE((SELECT [[citizen]] FROM [[sync_clients]] WHERE [[client_id]] = {:client}), '') AS [[client_citizen]], " +
	"COALESCE((SELECT [[last_mutation_id]] FROM [[sync_clients]] WHERE [[client_id]] = {:client}), 0) AS [[lmid]], " +
	"COALESCE((SELECT [[seq]] FROM sqlite_sequence WHERE [[name]] = 'changes'), 0) AS [[max_seq]], " +
	"COALESCE((SELECT [[value]] FROM [[changes_meta]] WHERE [[key]] = 'pruned_through'), 0) AS [[floor]], " +
	"COALESCE((SELECT [[at]] || '|' || [[record_id]] || '|' || [[op]] FROM [[changes]] WHERE [[seq]] = {:seq}), '') AS [[cursor_row]], " +
	"COALESCE((SELECT [[at]] || '|' || [[record_id]] || '|' || [[op]] FROM [[changes]] WHERE [[seq]] = (SELECT [[seq]] FROM sqlite_sequence WHERE [[name]] = 'changes')), '') AS [[max_row]], " +
	"EXISTS (SELECT 1 FROM [[changes]] WHERE [[citizen]] = {:citizen} AND [[seq]] > {:seq}) AS [[has_new]]"

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
func pullUpToDate(app core.App, citizenID string, req *PullRequest) (resp *pullResponse, ok bool, err error) {
	cur := parseCursor(req.Cursor)
	if !cur.valid || cur.reset != nil {
		return nil, false, nil
	}
	var h pullHead
	if err := app.ConcurrentDB().NewQuery(headSQL).Bind(dbx.Params{"client": req.ClientID, "citizen": citizenID, "seq": cur.seq}).One(&h); err != nil {
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
	resp.Cursor = strconv.FormatInt(h.MaxSeq, 10)
	if fp := rowFingerprint(h.MaxRow); fp != "" {
		resp.Cursor += "." + fp
	}
	resp.Cursor += epochSuffix(h.Epoch)
	return resp, true, nil
}
