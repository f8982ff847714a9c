package payments

import (
	"fmt"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// Resolutions of an exception.
const (
	ResolveMatch  = "match"
	ResolveRefund = "refund"
	ResolveAccept = "accept"
)

// FieldError is a refused resolution naming the request field.
type FieldError struct{ Field, Code, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// booked reports whether an exception's money is already on a fee's ledger.
func booked(exc string) bool { return exc == ExcPartial || exc == ExcOver }

// Resolve settles one exception line (a bank_entries record with outcome
// `exception`) as a supervisor decided, in one transaction:
//   - match: book the line's money to the fee given (unknown reference, after
//     expiry, a fee that was not open, another currency's fee is refused);
//   - refund: the money goes back to the payer (the supervisor records the
//     refund itself with the fee's refund route once the bank paid it);
//   - accept: keep it as it is; a partial payment accepted settles the fee
//     (an adjustment of the rest), a payment after expiry pays the late fee.
func Resolve(app core.App, entryID, action, feeID, note string, actor workflow.Actor) (*core.Record, error) {
	var out *core.Record
	err := app.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindRecordById(collEntries, entryID)
		if err != nil {
			return &FieldError{Field: "id", Code: "not_found", Msg: "No such statement line."}
		}
		if rec.GetString("outcome") != outcomeExc {
			return &FieldError{Field: "id", Code: "not_exception", Msg: "This line is not an exception."}
		}
		if rec.GetString("resolution") != "" {
			return &ConflictError{Msg: "This exception was already resolved (" + rec.GetString("resolution") + ")."}
		}
		exc := rec.GetString("exception")
		credit := func(fee *core.Record, note string) error {
			if fee.GetString("currency") != rec.GetString("currency") {
				return &FieldError{Field: "fee", Code: "currency", Msg: "The fee is in " + fee.GetString("currency") + ", the payment in " + rec.GetString("currency") + "."}
			}
			if st := fee.GetString("state"); !IsOpen(st) && st != StateExpired {
				return &FieldError{Field: "fee", Code: "not_open", Msg: "The fee is " + st + "; match the payment to an open or expired fee, or mark it for refund."}
			}
			fee.Set("expired_at", "")
			fee.Set("pending_since", "")
			_, err := Book(tx, fee, Entry{
				Kind: LedgerCredit, Amount: int64(rec.GetInt("amount")), Currency: rec.GetString("currency"),
				SourceKey: "bank:" + rec.GetString("entry_key"), Source: "exception", Method: bankMethod(rec.GetString("currency")),
				Evidence: rec.GetString("acct_svcr_ref"), BookedAt: rec.GetDateTime("booked_at").Time(), Note: note, Actor: actor,
			})
			return err
		}
		switch action {
		case ResolveMatch:
			if booked(exc) {
				return &FieldError{Field: "action", Code: "already_booked", Msg: "This payment is already booked to its fee; accept it or mark it for refund."}
			}
			if feeID == "" {
				return &FieldError{Field: "fee", Code: "required", Msg: "Name the fee to match this payment to."}
			}
			fee, err := tx.FindRecordById(collFees, feeID)
			if err != nil {
				return &FieldError{Field: "fee", Code: "not_found", Msg: "No such fee."}
			}
			if err := credit(fee, "matched by a supervisor: "+note); err != nil {
				return err
			}
			rec.Set("fee", fee.Id)
		case ResolveRefund:
			if note == "" {
				return &FieldError{Field: "note", Code: "required", Msg: "Say how the payer is refunded."}
			}
		case ResolveAccept:
			feeID := rec.GetString("fee")
			switch {
			case exc == ExcPartial && feeID != "":
				fee, err := tx.FindRecordById(collFees, feeID)
				if err != nil {
					return err
				}
				s, err := sums(tx, fee.Id)
				if err != nil {
					return err
				}
				if rest := int64(fee.GetInt("amount")) - s.Settled(); rest > 0 {
					if _, err := Book(tx, fee, Entry{Kind: LedgerAdjustment, Amount: rest, Currency: fee.GetString("currency"),
						SourceKey: "accept:" + rec.Id, Source: "exception", Method: bankMethod(fee.GetString("currency")),
						Evidence: rec.GetString("acct_svcr_ref"), BookedAt: rec.GetDateTime("booked_at").Time(),
						Note: "short payment accepted: " + note, Actor: actor}); err != nil {
						return err
					}
				}
			case exc == ExcAfterExp && feeID != "":
				fee, err := tx.FindRecordById(collFees, feeID)
				if err != nil {
					return err
				}
				if err := credit(fee, "late payment accepted: "+note); err != nil {
					return err
				}
			}
		default:
			return &FieldError{Field: "action", Code: "invalid", Msg: "action must be match, refund or accept."}
		}
		rec.Set("resolution", map[string]string{ResolveMatch: "matched", ResolveRefund: "refund", ResolveAccept: "accepted"}[action])
		rec.Set("resolution_note", note)
		rec.Set("resolved_by", actor.ID)
		rec.Set("resolved_at", time.Now().UTC())
		if err := tx.Save(rec); err != nil {
			return fmt.Errorf("resolve: %w", err)
		}
		if id := rec.GetString("fee"); id != "" {
			if fee, err := tx.FindRecordById(collFees, id); err == nil {
				msg := fmt.Sprintf("Statement exception %s (%s %s) resolved by %s: %s. %s", exc, rec.GetString("currency"), FormatAmount(int64(rec.GetInt("amount")), rec.GetString("currency")), actor.ID, action, note)
				if err := addFeeEvent(tx, fee.GetString("request"), actor, msg, false); err != nil {
					return err
				}
			}
		}
		out = rec
		return nil
	})
	return out, err
}

// reopen makes an expired or waived fee due again with the same reference and
// a new due date (and a new HCT valid-until).
func reopen(tx core.App, fee *core.Record) error {
	fee.Set("expired_at", "")
	fee.Set("waived_at", "")
	fee.Set("waived_reason", "")
	return Recompute(tx, fee, nil)
}
