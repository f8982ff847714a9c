package mobileapi

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// PruneResults deletes stored mutation results created before cutoff. Exactly
// once does not depend on them (lastMutationID does): a duplicate of a pruned
// mutation is still skipped, it just comes back without its old error. The
// jobs package runs it daily with the tombstone retention
// (city.Of(app).TombstoneDays), the longest a client is expected to be offline.
func PruneResults(app core.App, before time.Time) (int64, error) {
	cutoff, _ := types.ParseDateTime(before)
	res, err := app.DB().NewQuery("DELETE FROM [[sync_results]] WHERE [[created]] < {:cutoff}").
		Bind(dbx.Params{"cutoff": cutoff.String()}).Execute()
	if err != nil {
		return 0, fmt.Errorf("prune mutation results: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
