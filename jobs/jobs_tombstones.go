package jobs

import (
	"time"

	"civicdesk/changelog"
	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
)

// Tombstones prunes the sync change sequence older than the city's
// TombstoneDays; a client whose cursor falls below the new floor resets.
func Tombstones(app core.App, now time.Time) (Report, error) {
	days := city.Of(app).TombstoneDays
	if days <= 0 {
		return Report{"disabled": 1}, nil
	}
	n, err := changelog.Prune(app, now.AddDate(0, 0, -days))
	if err != nil {
		return nil, err
	}
	floor, err := changelog.Floor(app.DB())
	if err != nil {
		return nil, err
	}
	return Report{"pruned": n, "floor": floor}, nil
}
