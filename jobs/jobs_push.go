package jobs

import (
	"time"

	"civicdesk/push"

	"github.com/pocketbase/pocketbase/core"
)

// OutboxSweep requeues push outbox rows of a dead process, expires rows past
// their TTL, deletes old finished rows and wakes the dispatcher.
func OutboxSweep(app core.App, now time.Time) (Report, error) {
	rep, err := push.Sweep(app, now)
	return Report{"requeued": rep.Requeued, "expired": rep.Expired, "deleted": rep.Deleted}, err
}

// DeadSubscriptions removes push subscriptions that keep failing or were not seen for months.
func DeadSubscriptions(app core.App, now time.Time) (Report, error) {
	n, err := push.PruneSubscriptions(app, now)
	return Report{"deleted": int64(n)}, err
}
