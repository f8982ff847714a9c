package recovery

import (
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// DetectNow runs app's start-up check (what serving does first), so tests of
// the witness need no server.
func DetectNow(app core.App) (*Detection, error) {
	return app.Store().Get(storeKey).(*tracker).detect()
}

// ReadState is update's one-statement read.
func ReadState(db dbx.Builder) (string, int64, map[int]int64, error) { return readState(db) }
