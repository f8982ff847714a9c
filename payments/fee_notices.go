package payments

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"civicdesk/jobs"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/routine"
	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

// A statement import books every line in one transaction but does not save
// the requests its lines pay there: a request save runs the whole workflow
// (the public `payment` event, the signed receipt, the push outbox rows) and
// PocketBase keeps every saved record of a transaction until the commit, so
// 50,000 of them would need gigabytes. Instead the import queues one notice
// per fee that became paid (or, by a reversal, due again) in the table
// fee_notices, in its own transaction, and applies them after the commit in
// transactions of noticeBatch, in order. Each notice is applied exactly once:
// it is deleted in the transaction that applies it. The job payments_notices
// applies what a crash between the two left. See docs/payments.md §6.

// JobNotices is the name of the job that applies queued payment notices.
const JobNotices = "payments_notices"

// Notice actions.
const (
	noticePaid   = "paid"   // the fee became paid: record the payment on the request
	noticeUnpaid = "unpaid" // a reversal made a paid fee due: clear it, revoke the receipt
)

const (
	// noticeBatch is the number of notices one transaction applies.
	noticeBatch = 200
	// noticeMaxAttempts is how often a failing notice is tried before it
	// waits for an operator (it stays in the table, with its error).
	noticeMaxAttempts = 5
)

type noticeQueue struct {
	insert *dbx.Query
}

func newNoticeQueue(tx core.App) (*noticeQueue, error) {
	q := tx.DB().NewQuery("INSERT INTO [[fee_notices]] ([[fee]], [[request]], [[action]], [[payment]], [[created]]) VALUES ({:fee}, {:request}, {:action}, {:payment}, {:created})").Prepare()
	if q.LastError != nil {
		return nil, fmt.Errorf("fee notices: %w", q.LastError)
	}
	return &noticeQueue{insert: q}, nil
}

func (q *noticeQueue) close() { q.insert.Close() }

func (q *noticeQueue) add(fee *core.Record, action string, p *workflow.Payment) error {
	payment := ""
	if p != nil {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("fee notice of %s: %w", fee.Id, err)
		}
		payment = string(b)
	}
	_, err := q.insert.Bind(dbx.Params{
		"fee": fee.Id, "request": fee.GetString("request"), "action": action, "payment": payment,
		"created": time.Now().UTC().Format(time.RFC3339Nano),
	}).Execute()
	if err != nil {
		return fmt.Errorf("fee notice of %s: %w", fee.Id, err)
	}
	return nil
}

type notice struct {
	ID      int64  `db:"id"`
	Fee     string `db:"fee"`
	Action  string `db:"action"`
	Payment string `db:"payment"`
}

// ApplyNotices applies the queued payment notices, oldest first, noticeBatch
// per transaction, and returns how many it applied. A batch that fails is
// retried one notice per transaction; a notice that fails is kept with its
// error and tried again by the next run, at most noticeMaxAttempts times.
func ApplyNotices(app core.App) (int, error) {
	applied := 0
	after := int64(0) // a notice that failed is not tried twice in one run
	var failed error
	for {
		var batch []notice
		err := app.DB().NewQuery("SELECT [[id]], [[fee]], [[action]], [[payment]] FROM [[fee_notices]] WHERE [[id]] > {:after} AND [[attempts]] < {:max} ORDER BY [[id]] LIMIT {:n}").
			Bind(dbx.Params{"after": after, "max": noticeMaxAttempts, "n": noticeBatch}).All(&batch)
		if err != nil {
			return applied, fmt.Errorf("fee notices: %w", err)
		}
		if len(batch) == 0 {
			return applied, failed
		}
		after = batch[len(batch)-1].ID
		err = app.RunInTransaction(func(tx core.App) error {
			for _, n := range batch {
				if err := applyNotice(tx, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			applied += len(batch)
		} else {
			for _, n := range batch { // find the failing ones; the others go through
				err := app.RunInTransaction(func(tx core.App) error { return applyNotice(tx, n) })
				if err == nil {
					applied++
					continue
				}
				failed = fmt.Errorf("fee notice %d (fee %s, %s): %w", n.ID, n.Fee, n.Action, err)
				app.Logger().Error("payments: fee notice failed", "notice", n.ID, "fee", n.Fee, "action", n.Action, "error", err.Error())
				if _, uerr := app.DB().NewQuery("UPDATE [[fee_notices]] SET [[attempts]] = [[attempts]] + 1, [[error]] = {:e} WHERE [[id]] = {:id}").
					Bind(dbx.Params{"e": truncate(err.Error(), 500), "id": n.ID}).Execute(); uerr != nil {
					return applied, fmt.Errorf("fee notice %d: %w", n.ID, uerr)
				}
			}
		}
		if len(batch) < noticeBatch {
			return applied, failed
		}
	}
}

// applyNotice records (or clears) the payment on the fee's request and
// deletes the notice, in tx. The delete comes first: a notice another run
// (the job, a second import) applied meanwhile is gone, and is skipped.
func applyNotice(tx core.App, n notice) error {
	res, err := tx.DB().NewQuery("DELETE FROM [[fee_notices]] WHERE [[id]] = {:id}").Bind(dbx.Params{"id": n.ID}).Execute()
	if err != nil {
		return fmt.Errorf("fee notice %d: %w", n.ID, err)
	}
	if k, err := res.RowsAffected(); err != nil || k == 0 {
		return err // applied by another run
	}
	fee, err := tx.FindRecordById(collFees, n.Fee)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // the request (and with it its fee) was erased meanwhile: nobody to tell
	case err != nil:
		return fmt.Errorf("fee notice %d: fee %s: %w", n.ID, n.Fee, err)
	}
	switch n.Action {
	case noticePaid:
		var p workflow.Payment
		if err := json.Unmarshal([]byte(n.Payment), &p); err != nil {
			return fmt.Errorf("fee notice %d: payment: %w", n.ID, err)
		}
		if err := markRequestPaid(tx, fee, &p); err != nil {
			return err
		}
	case noticeUnpaid:
		if err := unmarkRequestPaid(tx, fee); err != nil {
			return err
		}
	default:
		return fmt.Errorf("fee notice %d: unknown action %q", n.ID, n.Action)
	}
	return nil
}

// noticesJob applies what an import left queued (a crash after its commit).
func noticesJob(app core.App, _ time.Time) (jobs.Report, error) {
	n, err := ApplyNotices(app)
	return jobs.Report{"applied": int64(n)}, err
}

// pokeCitizens tells the phones of citizens whose fees changed as raw rows to
// pull, once each, after the commit, as the records' after-save hooks do for
// saved fees (mobile-api's realtime poke: topic "sync/{citizen}", data
// {"action":"pull"}; payments cannot import mobile-api, whose tests import it).
func pokeCitizens(app core.App, citizens map[string]struct{}) {
	broker := app.SubscriptionsBroker()
	if len(citizens) == 0 || broker.TotalClients() == 0 {
		return
	}
	for _, chunk := range broker.ChunkedClients(300) {
		for _, client := range chunk {
			for topic := range client.Subscriptions(pokeTopicPrefix) {
				if _, ok := citizens[strings.TrimPrefix(topic, pokeTopicPrefix)]; ok {
					c, msg := client, subscriptions.Message{Name: topic, Data: pokeData}
					routine.FireAndForget(func() { c.Send(msg) }) // a slow client never holds up the import
				}
			}
		}
	}
}

const pokeTopicPrefix = "sync/"

var pokeData = []byte(`{"action":"pull"}`)
