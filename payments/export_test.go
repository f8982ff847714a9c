package payments

import (
	"io"

	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// Internals for the black-box tests of package payments_test.

// RawCreate inserts rec as a raw row of its collection, in tx.
func RawCreate(tx core.App, rec *core.Record) error {
	w, err := newRowWriter(tx, rec.Collection().Name)
	if err != nil {
		return err
	}
	defer w.close()
	return w.create(rec)
}

// RawSave updates the stored rec as a raw row, in tx.
func RawSave(tx core.App, rec *core.Record) error {
	w, err := newRowWriter(tx, rec.Collection().Name)
	if err != nil {
		return err
	}
	defer w.close()
	return w.save(rec)
}

// LedgerRecord is the new fee_ledger record of e on fee.
func LedgerRecord(col *core.Collection, fee *core.Record, e Entry) *core.Record {
	return ledgerRecord(col, fee, e)
}

// ImportCommitOnly imports like Import but stops after the commit, before
// the payment notices are applied (a crash there).
func ImportCommitOnly(app core.App, r io.Reader, fileName string, actor workflow.Actor) (*ImportResult, error) {
	return importStatement(app, r, fileName, actor, false)
}

// LedgerWriteKey marks records this package writes through app.Save.
const LedgerWriteKey = ledgerWriteKey

// ApplyStaleNotice applies notice id of fee again, as a run that read it
// before another run applied it would.
func ApplyStaleNotice(app core.App, id int64, fee, action string) error {
	return app.RunInTransaction(func(tx core.App) error {
		return applyNotice(tx, notice{ID: id, Fee: fee, Action: action})
	})
}
