package jobs

import (
	"time"

	"civicdesk/city"
	mobileapi "civicdesk/mobile-api"

	"github.com/pocketbase/pocketbase/core"
)

// UnboundUploadDays is how long a photo upload that never got attached to a
// request is kept (CONTRACT §4.3 / issue 3: 30 days).
const UnboundUploadDays = 30

// SyncCleanup removes unbound photo uploads older than UnboundUploadDays and
// stored push results older than the tombstone window (the longest a phone is
// expected to stay offline; lastMutationID keeps exactly-once without them).
func SyncCleanup(app core.App, now time.Time) (Report, error) {
	uploads, err := mobileapi.PruneUploads(app, now.AddDate(0, 0, -UnboundUploadDays))
	if err != nil {
		return nil, err
	}
	days := city.Of(app).TombstoneDays
	results, err := mobileapi.PruneResults(app, now.AddDate(0, 0, -days))
	if err != nil {
		return nil, err
	}
	return Report{"uploads_removed": int64(uploads), "results_removed": results}, nil
}
