package changelog

import (
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

// ForCitizen returns up to limit changes concerning citizen with seq > after, in seq order.
// Pass a transaction's app to read in the same snapshot as other queries.
func ForCitizen(app core.App, citizen string, after int64, limit int) ([]Change, error) {
	var out []Change
	err := app.DB().NewQuery("SELECT [[seq]], [[collection]], [[record_id]], [[op]], [[citizen]], [[at]] FROM [[changes]] WHERE [[citizen]] = {:c} AND [[seq]] > {:after} ORDER BY [[seq]] LIMIT {:limit}").
		Bind(dbx.Params{"c": citizen, "after": after, "limit": limit}).All(&out)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// Since returns up to limit changes of any citizen with seq > after, in seq order.
func Since(app core.App, after int64, limit int) ([]Change, error) {
	var out []Change
	err := app.DB().NewQuery("SELECT [[seq]], [[collection]], [[record_id]], [[op]], [[citizen]], [[at]] FROM [[changes]] WHERE [[seq]] > {:after} ORDER BY [[seq]] LIMIT {:limit}").
		Bind(dbx.Params{"after": after, "limit": limit}).All(&out)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// MaxSeq returns the highest seq ever allocated (0 when none), including pruned rows.
func MaxSeq(app core.App) (int64, error) {
	var seq int64
	// sqlite_sequence keeps AUTOINCREMENT's high-water mark even after the top rows are deleted
	err := app.DB().NewQuery("SELECT COALESCE((SELECT [[seq]] FROM sqlite_sequence WHERE [[name]] = 'changes'), 0)").Row(&seq)
	if err != nil {
		return 0, fmt.Errorf("read max seq: %w", err)
	}
	return seq, nil
}

// Floor returns the smallest seq a cursor may hold and still be complete: a cursor
// below it may have missed pruned tombstones, so its client needs a reset.
func Floor(app core.App) (int64, error) {
	var floor int64
	err := app.DB().NewQuery("SELECT COALESCE((SELECT [[value]] FROM [[changes_meta]] WHERE [[key]] = 'pruned_through'), 0)").Row(&floor)
	if err != nil {
		return 0, fmt.Errorf("read change floor: %w", err)
	}
	return floor, nil
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
