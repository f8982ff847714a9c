package rawinsert

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// RunsOnTx reports whether Insert in txApp takes the transaction's own
// executor (constant SQL, served by the driver's statement cache).
func RunsOnTx(txApp core.App) bool {
	tx, ok := txApp.NonconcurrentDB().(*dbx.Tx)
	if !ok || txApp.TxInfo() == nil {
		return false
	}
	_, ok = tx.Builder.(executor)
	return ok
}
