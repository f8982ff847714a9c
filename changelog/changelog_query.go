package changelog

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Change is one row of the change sequence.
type Change struct {
	Seq        int64  `db:"seq" json:"seq"`
	Collection string `db:"collection" json:"collection"`
	RecordID   string `db:"record_id" json:"recordId"`
	Op         string `db:"op" json:"op"`
	Citizen    string `db:"citizen" json:"citizen"`
	At         string `db:"at" json:"at"`
}

// The readers take a dbx.Builder (app.DB(), a transaction, or a read-only
// snapshot) so a puller reads the sequence in the same snapshot as the records.

// ForCitizen returns up to limit changes concerning citizen with seq > after, in seq order.
func ForCitizen(db dbx.Builder, citizen string, after int64, limit int) ([]Change, error) {
	var out []Change
	err := db.NewQuery("SELECT [[seq]], [[collection]], [[record_id]], [[op]], [[citizen]], [[at]] FROM [[changes]] WHERE [[citizen]] = {:c} AND [[seq]] > {:after} ORDER BY [[seq]] LIMIT {:limit}").
		Bind(dbx.Params{"c": citizen, "after": after, "limit": limit}).All(&out)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// Since returns up to limit changes of any citizen with seq > after, in seq order.
func Since(db dbx.Builder, after int64, limit int) ([]Change, error) {
	var out []Change
	err := db.NewQuery("SELECT [[seq]], [[collection]], [[record_id]], [[op]], [[citizen]], [[at]] FROM [[changes]] WHERE [[seq]] > {:after} ORDER BY [[seq]] LIMIT {:limit}").
		Bind(dbx.Params{"after": after, "limit": limit}).All(&out)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// MaxSeq returns the highest seq ever allocated (0 when none), including pruned rows.
func MaxSeq(db dbx.Builder) (int64, error) {
	var seq int64
	// sqlite_sequence keeps AUTOINCREMENT's high-water mark even after the top rows are deleted
	err := db.NewQuery("SELECT COALESCE((SELECT [[seq]] FROM sqlite_sequence WHERE [[name]] = 'changes'), 0)").Row(&seq)
	if err != nil {
		return 0, fmt.Errorf("read max seq: %w", err)
	}
	return seq, nil
}

// Floor returns the smallest seq a cursor may hold and still be complete: a cursor
// below it may have missed pruned tombstones, so its client needs a reset.
func Floor(db dbx.Builder) (int64, error) {
	var floor int64
	err := db.NewQuery("SELECT COALESCE((SELECT [[value]] FROM [[changes_meta]] WHERE [[key]] = 'pruned_through'), 0)").Row(&floor)
	if err != nil {
		return 0, fmt.Errorf("read change floor: %w", err)
	}
	return floor, nil
}

// Fingerprint identifies the change row at seq ("" when there is none: seq 0
// or pruned). Rows never change once committed, so a different fingerprint for
// the same seq means the database was restored to an earlier state and the
// numbers were issued again to other changes.
func Fingerprint(db dbx.Builder, seq int64) (string, error) {
	var row Change
	err := db.NewQuery("SELECT [[seq]], [[collection]], [[record_id]], [[op]], [[citizen]], [[at]] FROM [[changes]] WHERE [[seq]] = {:seq}").
		Bind(dbx.Params{"seq": seq}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read change %d: %w", seq, err)
	}
	sum := sha256.Sum256([]byte(row.At + "|" + row.RecordID + "|" + row.Op))
	return hex.EncodeToString(sum[:4]), nil
}

// Prune deletes changes older than olderThan and records the highest pruned seq
// as the floor. It returns the number of rows removed.
func Prune(app core.App, olderThan time.Time) (int64, error) {
	cutoff := types.NowDateTime().String()
	if !olderThan.IsZero() {
		dt, _ := types.ParseDateTime(olderThan)
		cutoff = dt.String()
	}
	var removed int64
	err := app.RunInTransaction(func(txApp core.App) error {
		var top int64
		if err := txApp.DB().NewQuery("SELECT COALESCE(MAX([[seq]]), 0) FROM [[changes]] WHERE [[at]] < {:cutoff}").Bind(dbx.Params{"cutoff": cutoff}).Row(&top); err != nil {
			return err
		}
		if top == 0 {
			return nil
		}
		res, err := txApp.DB().NewQuery("DELETE FROM [[changes]] WHERE [[seq]] <= {:top}").Bind(dbx.Params{"top": top}).Execute()
		if err != nil {
			return err
		}
		removed, _ = res.RowsAffected()
		_, err = txApp.DB().NewQuery("INSERT INTO [[changes_meta]] ([[key]], [[value]]) VALUES ('pruned_through', {:top}) ON CONFLICT([[key]]) DO UPDATE SET [[value]] = MAX([[value]], excluded.[[value]])").Bind(dbx.Params{"top": top}).Execute()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	return removed, nil
}
