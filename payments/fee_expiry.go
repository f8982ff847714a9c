package payments

import (
	"fmt"
	"time"

	"civicdesk/jobs"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// expiryBatch bounds one transaction of the expiry job.
const expiryBatch = 200

// ExpireFees is the expiry job: every open fee whose due date (the end of its
// last day in the city's time zone) has passed becomes `expired`; its request
// is cancelled when the service says so and the request is still received,
// and otherwise stays open for a clerk. Each fee commits on its own.
func ExpireFees(app core.App, now time.Time) (jobs.Report, error) {
	rep := jobs.Report{"expired": 0, "cancelled": 0}
	for {
		var ids []string
		err := app.DB().NewQuery("SELECT [[id]] FROM [[fees]] WHERE [[state]] IN ('due', 'pending') AND [[due_at]] != '' AND [[due_at]] < {:now} ORDER BY [[due_at]] LIMIT {:n}").
			Bind(dbx.Params{"now": now.UTC().Format("2006-01-02 15:04:05.000Z"), "n": expiryBatch}).Column(&ids)
		if err != nil {
			return rep, fmt.Errorf("expiry: list fees: %w", err)
		}
		for _, id := range ids {
			cancelled, err := ExpireFee(app, id, now)
			if err != nil {
				return rep, err
			}
			rep["expired"]++
			if cancelled {
				rep["cancelled"]++
			}
		}
		if len(ids) < expiryBatch {
			return rep, nil
		}
	}
}

// ExpireFee expires one open fee (the job's step, also for tests and tools)
// and reports whether its request was cancelled.
func ExpireFee(app core.App, feeID string, now time.Time) (bool, error) {
	cancelled := false
	err := app.RunInTransaction(func(tx core.App) error {
		fee, err := tx.FindRecordById(collFees, feeID)
		if err != nil {
			return fmt.Errorf("expiry: fee %s: %w", feeID, err)
		}
		if !IsOpen(fee.GetString("state")) {
			return nil // paid meanwhile
		}
		fee.Set("expired_at", now.UTC())
		fee.Set("pending_since", "")
		if err := Recompute(tx, fee, nil); err != nil {
			return err
		}
		if err := addFeeEvent(tx, fee.GetString("request"), workflow.System, "The fee was not paid by its due date and has expired.", true); err != nil {
			return err
		}
		req, err := tx.FindRecordById(collRequests, fee.GetString("request"))
		if err != nil {
			return fmt.Errorf("expiry: request of fee %s: %w", feeID, err)
		}
		svc, err := tx.FindRecordById(collServices, req.GetString("service"))
		if err != nil {
			return fmt.Errorf("expiry: service of request %s: %w", req.Id, err)
		}
		if svc.GetString("fee_on_expiry") != "cancel" || !canCancel(req.GetString("status")) {
			return nil
		}
		req.Set("status", workflow.StatusCancelled)
		req.Set("status_note", "Cancelled: the fee was not paid in time.")
		workflow.AttachActor(req, workflow.System)
		if err := tx.Save(req); err != nil {
			return fmt.Errorf("expiry: cancel request %s: %w", req.Id, err)
		}
		cancelled = true
		return nil
	})
	return cancelled, err
}
