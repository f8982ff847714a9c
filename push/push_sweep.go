package push

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// FinishedRetention is how long sent, failed, expired and superseded rows stay
// in the outbox for operators to inspect in the dashboard.
const FinishedRetention = 7 * 24 * time.Hour

// SweepReport counts what Sweep changed.
type SweepReport struct {
	Requeued int64 // "sending" rows whose lease ran out (their process died)
	Expired  int64 // pending rows past their TTL
	Deleted  int64 // finished rows older than FinishedRetention
}

// Sweep is the outbox's housekeeping (run by the jobs scheduler): it requeues
// rows whose lease ran out, expires pending rows past their TTL, deletes old
// finished rows, and pokes the dispatcher.
func Sweep(app core.App, now time.Time) (SweepReport, error) {
	var rep SweepReport
	ts := dbTime(now)
	err := app.RunInTransaction(func(tx core.App) error {
		res, err := tx.DB().NewQuery("UPDATE {{push_outbox}} SET [[state]] = {:pending}, [[lease_until]] = '', [[updated]] = {:now} WHERE [[state]] = {:sending} AND [[lease_until]] < {:now}").
			Bind(dbx.Params{"pending": StatePending, "sending": StateSending, "now": ts}).Execute()
		if err != nil {
			return err
		}
		rep.Requeued, _ = res.RowsAffected()
		res, err = tx.DB().NewQuery("UPDATE {{push_outbox}} SET [[state]] = {:expired}, [[updated]] = {:now} WHERE [[state]] = {:pending} AND [[expires_at]] <= {:now}").
			Bind(dbx.Params{"expired": StateExpired, "pending": StatePending, "now": ts}).Execute()
		if err != nil {
			return err
		}
		rep.Expired, _ = res.RowsAffected()
		res, err = tx.DB().NewQuery("DELETE FROM {{push_outbox}} WHERE [[state]] IN ({:sent}, {:failed}, {:expired}, {:superseded}) AND [[updated]] < {:cutoff}").
			Bind(dbx.Params{"sent": StateSent, "failed": StateFailed, "expired": StateExpired, "superseded": StateSuperseded, "cutoff": dbTime(now.Add(-FinishedRetention))}).Execute()
		if err != nil {
			return err
		}
		rep.Deleted, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("sweep push outbox: %w", err)
	}
	Poke(app)
	return rep, nil
}

// Subscription hygiene thresholds (the jobs scheduler applies them daily).
const (
	// MaxFailures is how many permanent refusals in a row make a subscription dead.
	MaxFailures = 5
	// StaleAfter is how long a subscription may go unseen before it is removed:
	// no successful push, no re-registration by the app, and no request filed by
	// its citizen. (A dead one is also deleted by the first push that gets 404/410.)
	StaleAfter = 180 * 24 * time.Hour
)

// PruneSubscriptions deletes dead subscriptions: MaxFailures refusals in a row,
// or unseen for StaleAfter. Their outbox rows go with them. It returns the number deleted.
func PruneSubscriptions(app core.App, now time.Time) (int, error) {
	var ids []string
	err := app.DB().NewQuery(`SELECT s.[[id]] FROM {{push_subscriptions}} s
		WHERE s.[[failures]] >= {:max}
		OR MAX(s.[[updated]], COALESCE(s.[[last_success]], ''),
			COALESCE((SELECT MAX(r.[[created]]) FROM {{requests}} r WHERE r.[[citizen]] = s.[[citizen]]), '')) < {:cutoff}`).
		Bind(dbx.Params{"max": MaxFailures, "cutoff": dbTime(now.Add(-StaleAfter))}).Column(&ids)
	if err != nil {
		return 0, fmt.Errorf("find dead subscriptions: %w", err)
	}
	n := 0
	for _, id := range ids {
		r, err := app.FindRecordById(CollectionSubscriptions, id)
		if err != nil {
			continue // deleted meanwhile
		}
		if err := app.Delete(r); err != nil {
			return n, fmt.Errorf("delete subscription %s: %w", r.Id, err)
		}
		n++
	}
	return n, nil
}
