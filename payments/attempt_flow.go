package payments

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

const collAttempts = "payment_attempts"

// attemptOf is the Attempt an adapter sees.
func attemptOf(rec *core.Record, publicURL string) Attempt {
	return Attempt{
		ID: rec.Id, FeeID: rec.GetString("fee"), ProviderRef: rec.GetString("provider_ref"),
		ReturnURL: publicURL + "/payments/return/" + rec.GetString("token"),
	}
}

// feeInfoOf is the FeeInfo of a fee record; amount is what is still owed.
func feeInfoOf(fee *core.Record, amount int64) FeeInfo {
	return FeeInfo{
		ID: fee.Id, RequestID: fee.GetString("request"), Reference: fee.GetString("reference"),
		Currency: fee.GetString("currency"), Amount: amount, DueAt: fee.GetDateTime("due_at").Time(),
	}
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// liveAttempt returns fee's live attempt, or nil.
func liveAttempt(tx core.App, feeID string) (*core.Record, error) {
	rec, err := tx.FindFirstRecordByFilter(collAttempts, "fee = {:f} && (state = 'created' || state = 'redirected')", dbx.Params{"f": feeID})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("live attempt of fee %s: %w", feeID, err)
	}
	return rec, nil
}

// newAttempt inserts a created attempt of fee through provider kind.
func newAttempt(tx core.App, fee *core.Record, kind string, amount int64, ref string, live bool) (*core.Record, error) {
	col, err := tx.FindCachedCollectionByNameOrId(collAttempts)
	if err != nil {
		return nil, fmt.Errorf("new attempt: %w", err)
	}
	a := core.NewRecord(col)
	a.Set("fee", fee.Id)
	a.Set("provider", kind)
	a.Set("state", AttemptCreated)
	a.Set("token", newToken())
	a.Set("provider_ref", ref)
	a.Set("amount", amount)
	a.Set("currency", fee.GetString("currency"))
	a.Set("live_mode", live)
	if err := saveServer(tx, a); err != nil {
		return nil, fmt.Errorf("new attempt of fee %s: %w", fee.Id, err)
	}
	return a, nil
}

// StartAttempt begins (or resumes) paying fee through card platform kind
// and returns the attempt and the page to send the citizen to. The attempt
// row is committed before the platform is called (its id is the
// Idempotency-Key, so a retry after a crash creates no second payment), and
// the platform is called outside any transaction.
func StartAttempt(ctx context.Context, app core.App, feeID, kind string) (*core.Record, string, error) {
	p, err := platform(app, kind)
	if err != nil {
		return nil, "", err
	}
	cfg := PlatformsOf(app)
	var att *core.Record
	var owed int64
	var fee *core.Record
	err = app.RunInTransaction(func(tx core.App) error {
		f, err := tx.FindRecordById(collFees, feeID)
		if err != nil {
			return &FieldError{Field: "fee", Code: "not_found", Msg: "No such fee."}
		}
		fee = f
		if !IsOpen(f.GetString("state")) {
			return &ConflictError{Msg: "This fee is " + f.GetString("state") + ": there is nothing to pay."}
		}
		if cfg.Card[f.GetString("currency")] != kind {
			return &FieldError{Field: "provider", Code: "not_offered", Msg: "The city takes no " + f.GetString("currency") + " payments through " + kind + "."}
		}
		s, err := sums(tx, f.Id)
		if err != nil {
			return err
		}
		owed = int64(f.GetInt("amount")) - s.Settled()
		if att, err = liveAttempt(tx, f.Id); err != nil || att != nil {
			if att != nil && att.GetString("provider") != kind {
				return &ConflictError{Msg: "A payment through " + att.GetString("provider") + " is under way for this fee."}
			}
			return err
		}
		att, err = newAttempt(tx, f, kind, owed, "", cfg.Mode(kind) == ModeLive)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	a := attemptOf(att, cfg.PublicURL)
	if a.ProviderRef != "" {
		// resume: a fresh payment page (GOV.UK Pay's are single-use)
		obs, err := p.Status(ctx, a)
		if err != nil {
			return nil, "", fmt.Errorf("resume payment: %w", err)
		}
		if err := ApplyObservation(app, att.Id, obs, ""); err != nil {
			return nil, "", err
		}
		if obs.Status == ObsCreated || obs.Status == ObsPending {
			url := obs.NextURL
			if url == "" {
				url = att.GetString("next_url")
			}
			return att, url, nil
		}
		return StartAttempt(ctx, app, feeID, kind) // that one ended: a new attempt
	}
	begun, err := p.Begin(ctx, feeInfoOf(fee, int64(att.GetInt("amount"))), a)
	if err != nil {
		// nothing was taken: the attempt ends so the citizen can try again
		_ = app.RunInTransaction(func(tx core.App) error {
			r, err := tx.FindRecordById(collAttempts, att.Id)
			if err != nil || !AttemptIsLive(r.GetString("state")) || r.GetString("provider_ref") != "" {
				return err
			}
			r.Set("state", AttemptFailed)
			r.Set("failure_code", "begin_failed")
			r.Set("finished_at", time.Now().UTC())
			return saveServer(tx, r)
		})
		return nil, "", fmt.Errorf("%s: %w", kind, err)
	}
	err = app.RunInTransaction(func(tx core.App) error {
		r, err := tx.FindRecordById(collAttempts, att.Id)
		if err != nil {
			return err
		}
		if !AttemptIsLive(r.GetString("state")) {
			return &ConflictError{Msg: "This payment attempt ended meanwhile (" + r.GetString("state") + ")."}
		}
		r.Set("state", AttemptRedirected)
		r.Set("provider_ref", begun.ProviderRef)
		r.Set("next_url", begun.RedirectURL)
		if !begun.ExpiresAt.IsZero() {
			r.Set("expires_at", begun.ExpiresAt.UTC())
		}
		if err := saveServer(tx, r); err != nil {
			return fmt.Errorf("attempt %s redirected: %w", r.Id, err)
		}
		att = r
		f, err := tx.FindRecordById(collFees, fee.Id)
		if err != nil {
			return err
		}
		if IsOpen(f.GetString("state")) {
			f.Set("pending_since", time.Now().UTC())
			return Recompute(tx, f, nil)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return att, begun.RedirectURL, nil
}

// ApplyObservation moves attempt to what its platform reported, in one
// transaction: on success the ledger credit (written once, keyed by the
// platform's payment id), the fee state, and through them the request's
// payment, its public timeline event, the signed receipt and the push; a
// payment for a fee that is no longer open goes to the exceptions list for a
// refund. eventID, when set, marks that inbox event processed in the same
// transaction, so a crash applies it fully or not at all.
func ApplyObservation(app core.App, attemptID string, obs *Observed, eventID string) error {
	return app.RunInTransaction(func(tx core.App) error {
		if err := applyObservation(tx, attemptID, obs); err != nil {
			return err
		}
		if eventID != "" {
			return markEvent(tx, eventID, eventProcessed, "")
		}
		return nil
	})
}

func applyObservation(tx core.App, attemptID string, obs *Observed) error {
	att, err := tx.FindRecordById(collAttempts, attemptID)
	if err != nil {
		return fmt.Errorf("attempt %s: %w", attemptID, err)
	}
	from := att.GetString("state")
	to := attemptStateOf(obs.Status)
	att.Set("provider_status", obs.Status)
	if obs.Status == ObsSucceeded {
		if obs.Currency != att.GetString("currency") || obs.Amount != int64(att.GetInt("amount")) {
			return &ParkError{Reason: fmt.Sprintf("the platform reports %s %d, the attempt asked %s %d", obs.Currency, obs.Amount, att.GetString("currency"), att.GetInt("amount"))}
		}
	}
	if from == to {
		return nil // a repeated or reordered notification: nothing changes
	}
	fee, err := tx.FindRecordById(collFees, att.GetString("fee"))
	if err != nil {
		return fmt.Errorf("fee of attempt %s: %w", att.Id, err)
	}
	if !AttemptCanMove(from, to) {
		if to == AttemptSucceeded {
			// money arrived on an attempt that had ended: never lose it
			return platformException(tx, att, fee, obs, ExcNotOpen)
		}
		return nil // an older state reported late (unordered delivery)
	}
	att.Set("state", to)
	if obs.Code != "" {
		att.Set("failure_code", obs.Code)
	}
	if attemptRank[to] == 2 {
		att.Set("finished_at", time.Now().UTC())
		att.Set("next_url", "")
	}
	if obs.Evidence != "" {
		att.Set("evidence", obs.Evidence)
	}
	if err := saveServer(tx, att); err != nil {
		return fmt.Errorf("attempt %s → %s: %w", att.Id, to, err)
	}
	if attemptRank[to] < 2 {
		return nil
	}
	fee.Set("pending_since", "")
	if to != AttemptSucceeded {
		if err := Recompute(tx, fee, nil); err != nil {
			return err
		}
		if att.GetString("provider") == KindPagoPA {
			return nil
		}
		return addFeeEvent(tx, fee.GetString("request"), workflow.System, "The card payment was not completed ("+to+"); nothing was charged. You can try again.", true)
	}
	st := fee.GetString("state")
	if !IsOpen(st) && st != StateExpired {
		// a second payment of a paid (or waived) fee: listed for a refund
		return platformException(tx, att, fee, obs, ExcDuplicate)
	}
	fee.Set("expired_at", "") // the platform took the money: it pays the fee
	at := obs.At
	if at.IsZero() {
		at = time.Now()
	}
	method := "card"
	if att.GetString("provider") == KindPagoPA {
		method = "pagopa"
	}
	_, err = Book(tx, fee, Entry{
		Kind: LedgerCredit, Amount: obs.Amount, Currency: obs.Currency,
		SourceKey: "platform:" + att.GetString("provider") + ":" + att.GetString("provider_ref"), Source: "provider",
		Method: method, Evidence: firstNonEmpty(obs.Evidence, att.GetString("provider_ref")), BookedAt: at,
		Note: att.GetString("provider") + " payment " + att.GetString("provider_ref"), Actor: workflow.System,
	})
	return err
}

// platformException lists a platform payment the fee cannot take (a second
// payment, money on an ended attempt) for a supervisor to refund.
func platformException(tx core.App, att, fee *core.Record, obs *Observed, exc string) error {
	key := "platform:" + att.GetString("provider") + ":" + att.GetString("provider_ref")
	if n, err := countWhere(tx, "SELECT COUNT(*) FROM [[bank_entries]] WHERE [[entry_key]] = {:k}", dbx.Params{"k": key}); err != nil || n > 0 {
		return err
	}
	col, err := tx.FindCachedCollectionByNameOrId(collEntries)
	if err != nil {
		return err
	}
	at := obs.At
	if at.IsZero() {
		at = time.Now()
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"entry_key": key, "provider": att.GetString("provider"), "acct_svcr_ref": att.GetString("provider_ref"),
		"amount": obs.Amount, "currency": obs.Currency, "direction": "CRDT", "status": "BOOK", "booked_at": at.UTC(),
		"reference": fee.GetString("reference"), "remittance": "evidence " + obs.Evidence, "fee": fee.Id,
		"outcome": outcomeExc, "exception": exc,
	})
	if err := tx.Save(rec); err != nil {
		return fmt.Errorf("platform exception: %w", err)
	}
	if AttemptIsLive(att.GetString("state")) {
		att.Set("state", AttemptSucceeded)
		att.Set("finished_at", time.Now().UTC())
		att.Set("evidence", obs.Evidence)
		if err := saveServer(tx, att); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("A second payment of %s %s arrived through %s (%s) for a fee that is %s: listed in the exceptions for a refund.",
		obs.Currency, FormatAmount(obs.Amount, obs.Currency), att.GetString("provider"), att.GetString("provider_ref"), fee.GetString("state"))
	tx.Logger().Warn("payments: "+msg, "fee", fee.Id, "attempt", att.Id)
	return addFeeEvent(tx, fee.GetString("request"), workflow.System, msg, false)
}

func countWhere(tx core.App, q string, p dbx.Params) (int, error) {
	var n int
	if err := tx.DB().NewQuery(q).Bind(p).Row(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ReturnFromPlatform handles the citizen coming back with an attempt's
// token: the redirect proves nothing, so the platform is asked (outside a
// transaction) and its answer applied. It returns the attempt as stored.
func ReturnFromPlatform(ctx context.Context, app core.App, token string) (*core.Record, error) {
	att, err := app.FindFirstRecordByData(collAttempts, "token", token)
	if err != nil || len(token) < 32 {
		return nil, &FieldError{Field: "token", Code: "not_found", Msg: "No such payment."}
	}
	if !AttemptIsLive(att.GetString("state")) || att.GetString("provider_ref") == "" {
		return att, nil
	}
	if att.GetString("provider") == KindStripe {
		return att, nil // Stripe: fulfilment from webhooks only (the landing page proves nothing)
	}
	p, err := platform(app, att.GetString("provider"))
	if err != nil {
		return att, nil // not configured any more: show what is known
	}
	obs, err := p.Status(ctx, attemptOf(att, PlatformsOf(app).PublicURL))
	if err != nil {
		app.Logger().Warn("payments: status lookup on return failed", "attempt", att.Id, "error", err.Error())
		return att, nil // "we are confirming your payment": the webhook or the poller will know
	}
	if err := ApplyObservation(app, att.Id, obs, ""); err != nil {
		var pe *ParkError
		if !errors.As(err, &pe) {
			return nil, err
		}
		app.Logger().Error("payments: return refused", "attempt", att.Id, "reason", pe.Reason)
	}
	return app.FindRecordById(collAttempts, att.Id)
}
