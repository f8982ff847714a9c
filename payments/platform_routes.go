package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"civicdesk/city"
	"civicdesk/jobs"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Route paths of the platforms (docs/payments.md "Platforms").
const (
	PathStartAttempt  = "/api/payments/fees/{id}/attempts"
	PathReturn        = "/api/payments/return/{token}"
	PathWebhook       = "/api/payments/webhooks/{provider}"
	PathPlatforms     = "/api/payments/platforms"
	PathRefundAttempt = "/api/payments/attempts/{id}/refund"
)

// Hook ids of the platforms.
const (
	HookIDPlatformRoutes  = "civicdeskPaymentsPlatformRoutes"
	HookIDPlatformWorker  = "civicdeskPaymentsPlatformWorker"
	HookIDPagoPAAttempt   = "civicdeskPaymentsPagoPAAttempt"
	HookIDPagoPAPublish   = "civicdeskPaymentsPagoPAPublish"
	HookIDPlatformGuard   = "civicdeskPaymentsPlatformGuard"
	HookIDPlatformSettled = "civicdeskPaymentsPlatformSettled"
)

// JobPlatformPoll is the poller of abandoned platform payments.
const JobPlatformPoll = "payments_platform_poll"

// registerPlatforms binds the platforms' routes, the inbox worker, the
// pagoPA position of each new pagoPA fee and the poller.
func registerPlatforms(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDPlatformRoutes,
		Func: func(se *core.ServeEvent) error {
			cfg := PlatformsOf(se.App)
			if cfg.PublicURL == "" {
				cfg.PublicURL = city.Of(se.App).PublicURL
				SetPlatforms(se.App, cfg)
			}
			se.Router.POST(PathStartAttempt, handleStartAttempt).Bind(apis.RequireAuth("citizens"), apis.BodyLimit(actionBodyLimit))
			se.Router.POST(PathReturn, handleReturn).Bind(apis.BodyLimit(actionBodyLimit))
			se.Router.POST(PathWebhook, handleWebhook)
			se.Router.GET(PathPlatforms, handlePlatforms)
			se.Router.POST(PathRefundAttempt, handleRefundAttempt).Bind(requireSupervisor(), apis.BodyLimit(actionBodyLimit))
			startWorker(se.App, 20*time.Second)
			return se.Next()
		},
	})
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: HookIDPlatformWorker,
		Func: func(e *core.TerminateEvent) error {
			stopWorker(e.App)
			return e.Next()
		},
	})
	app.OnRecordCreate(collAttempts, collInbox).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPlatformGuard, Func: guardPlatformWrite})
	app.OnRecordUpdate(collAttempts, collInbox).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPlatformGuard, Func: guardPlatformWrite})
	// a pagoPA fee gets its attempt (the debt position to publish) in the fee's own transaction
	app.OnRecordCreate(collFees).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPagoPAAttempt, Func: func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		if e.Record.GetString("rail") != KindPagoPA {
			return nil
		}
		_, err := newAttempt(e.App, e.Record, KindPagoPA, int64(e.Record.GetInt("amount")), e.Record.GetString("reference"), PlatformsOf(e.App).Mode(KindPagoPA) == ModeLive)
		return err
	}})
	app.OnRecordAfterUpdateSuccess(collFees).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPlatformSettled, Func: func(e *core.RecordEvent) error {
		if !IsOpen(e.Record.GetString("state")) {
			wakeWorker(e.App) // a card payment still in progress is cancelled, after the commit
		}
		return e.Next()
	}})
	app.OnRecordAfterCreateSuccess(collFees).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPagoPAPublish, Func: func(e *core.RecordEvent) error {
		if e.Record.GetString("rail") == KindPagoPA {
			wakeWorker(e.App) // publishes the position, after the commit
		}
		return e.Next()
	}})
	jobs.AddJob(app, jobs.Job{Name: JobPlatformPoll, Spec: "@every 5m", Run: PollAttempts})
}

func writeWebhookError(e *core.RequestEvent, kind string, we *WebhookError) error {
	e.App.Logger().Warn("payments: webhook refused", "provider", kind, "status", we.Status, "reason", we.Reason)
	return e.Error(we.Status, "Webhook refused: "+we.Reason, nil)
}

// handleWebhook: POST /api/payments/webhooks/{govukpay|stripe|pagopa}.
func handleWebhook(e *core.RequestEvent) error {
	kind := e.Request.PathValue("provider")
	n, err := ReceiveWebhook(e.App, kind, e.Request)
	if err != nil {
		var we *WebhookError
		if errors.As(err, &we) {
			return writeWebhookError(e, kind, we)
		}
		return e.InternalServerError("The event could not be stored; send it again.", err)
	}
	if n > 0 {
		wakeWorker(e.App)
	}
	p, _ := platform(e.App, kind)
	return p.Ack(e.Response)
}

// handleStartAttempt: a citizen starts paying their fee by card:
// {"provider": "govukpay"|"stripe"} → {"attempt", "state", "redirect"}.
func handleStartAttempt(e *core.RequestEvent) error {
	fee, err := loadFeeFor(e, e.App, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	var body struct {
		Provider string `json:"provider"`
	}
	if err := readJSON(e, &body); err != nil {
		return err
	}
	if body.Provider == "" {
		body.Provider = PlatformsOf(e.App).Card[fee.GetString("currency")]
	}
	ctx, cancel := context.WithTimeout(e.Request.Context(), 30*time.Second)
	defer cancel()
	att, url, err := StartAttempt(ctx, e.App, fee.Id, body.Provider)
	if err != nil {
		var fe *FieldError
		var ce *ConflictError
		switch {
		case errors.As(err, &fe):
			return fieldError(e, fe.Field, "validation_"+fe.Code, fe.Msg)
		case errors.As(err, &ce):
			return e.Error(http.StatusConflict, ce.Msg, nil)
		}
		e.App.Logger().Error("payments: start attempt", "fee", fee.Id, "error", err.Error())
		return e.Error(http.StatusBadGateway, "The payment service did not answer; try again in a moment.", nil)
	}
	return e.JSON(http.StatusOK, map[string]any{"attempt": att.Id, "state": att.GetString("state"), "redirect": url, "provider": att.GetString("provider")})
}

// handleReturn: the citizen app posts the token of the return URL and gets
// the attempt's true state (asked from the platform, not from the URL).
func handleReturn(e *core.RequestEvent) error {
	ctx, cancel := context.WithTimeout(e.Request.Context(), 20*time.Second)
	defer cancel()
	att, err := ReturnFromPlatform(ctx, e.App, e.Request.PathValue("token"))
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return e.NotFoundError(fe.Msg, nil)
		}
		return e.InternalServerError("", err)
	}
	fee, err := e.App.FindRecordById(collFees, att.GetString("fee"))
	if err != nil {
		return e.InternalServerError("", err)
	}
	req, _ := e.App.FindRecordById(collRequests, fee.GetString("request"))
	out := map[string]any{
		"state": att.GetString("state"), "provider": att.GetString("provider"), "fee": fee.Id,
		"feeState": fee.GetString("state"), "amount": att.GetInt("amount"), "currency": att.GetString("currency"),
		"finished": attemptRank[att.GetString("state")] == 2,
	}
	if req != nil {
		out["request"] = req.Id
		out["number"] = req.GetString("number")
	}
	return e.JSON(http.StatusOK, out)
}

// handlePlatforms: what the citizen app and the staff console show — the
// card platform per currency, each platform's mode (test or live), and
// the rail of each currency. No secret is in it.
func handlePlatforms(e *core.RequestEvent) error {
	cfg := PlatformsOf(e.App)
	card := map[string]any{}
	for cur, kind := range cfg.Card {
		card[cur] = map[string]string{"provider": kind, "mode": cfg.Mode(kind)}
	}
	rails := map[string]any{}
	for cur, r := range city.Of(e.App).Payments.Rails {
		m := map[string]string{"provider": r.Kind}
		if r.Kind == KindPagoPA {
			m["mode"] = cfg.Mode(KindPagoPA)
			m["checkout"] = cfg.PagoPA.CheckoutURL
		}
		rails[cur] = m
	}
	var configured []string
	for _, k := range []string{KindGOVUKPay, KindPagoPA, KindStripe} {
		if cfg.Mode(k) != "" {
			configured = append(configured, k)
		}
	}
	sort.Strings(configured)
	modes := map[string]string{}
	for _, k := range configured {
		modes[k] = cfg.Mode(k)
	}
	return e.JSON(http.StatusOK, map[string]any{"card": card, "rails": rails, "modes": modes})
}

// handleRefundAttempt: a supervisor refunds a succeeded platform payment
// through the platform: {"amount": "0.52", "note": "...", "key": "..."}. A
// payment booked to its fee books the refund in the ledger; a second payment
// (an exception) is resolved as refunded.
func handleRefundAttempt(e *core.RequestEvent) error {
	att, err := e.App.FindRecordById(collAttempts, e.Request.PathValue("id"))
	if err != nil {
		return e.NotFoundError("No such payment attempt.", nil)
	}
	var body struct {
		Amount string `json:"amount"`
		Note   string `json:"note"`
		Key    string `json:"key"`
	}
	if err := readJSON(e, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Note) == "" || len(body.Note) > 500 {
		return fieldError(e, "note", "validation_required", "A refund needs a note (at most 500 characters).")
	}
	if body.Key == "" || len(body.Key) > 100 {
		return fieldError(e, "key", "validation_required", "Give an idempotency key (1-100 characters) so a retried refund is made once.")
	}
	amount, err := ParseAmount(body.Amount, att.GetString("currency"))
	if err != nil || amount <= 0 {
		return fieldError(e, "amount", "validation_invalid_amount", "The refund must be an amount above zero.")
	}
	if att.GetString("state") != AttemptSucceeded {
		return e.Error(http.StatusConflict, "Only a succeeded payment can be refunded; this one is "+att.GetString("state")+".", nil)
	}
	if amount > int64(att.GetInt("amount")-att.GetInt("refunded")) {
		return fieldError(e, "amount", "validation_refund_too_large", "At most "+FormatAmount(int64(att.GetInt("amount")-att.GetInt("refunded")), att.GetString("currency"))+" can be refunded.")
	}
	p, err := platform(e.App, att.GetString("provider"))
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	ctx, cancel := context.WithTimeout(e.Request.Context(), 30*time.Second)
	defer cancel()
	obs, err := p.RefundAttempt(ctx, attemptOf(att, PlatformsOf(e.App).PublicURL), amount, body.Key)
	if err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) {
			return e.Error(http.StatusConflict, ce.Msg, nil)
		}
		if errors.Is(err, ErrManualRefund) {
			return e.BadRequestError(err.Error()+" (use /api/payments/fees/{id}/refund).", nil)
		}
		e.App.Logger().Error("payments: platform refund", "attempt", att.Id, "error", err.Error())
		return e.Error(http.StatusBadGateway, "The payment service refused or did not answer: "+err.Error(), nil)
	}
	actor := workflow.ActorFromAuth(e.Auth)
	err = e.App.RunInTransaction(func(tx core.App) error {
		a, err := tx.FindRecordById(collAttempts, att.Id)
		if err != nil {
			return err
		}
		fee, err := tx.FindRecordById(collFees, a.GetString("fee"))
		if err != nil {
			return err
		}
		key := "platform:" + a.GetString("provider") + ":" + a.GetString("provider_ref")
		booked, err := countWhere(tx, "SELECT COUNT(*) FROM [[fee_ledger]] WHERE [[source_key]] = {:k}", dbx.Params{"k": key})
		if err != nil {
			return err
		}
		refKey := "refund:" + key + ":" + body.Key
		if n, err := countWhere(tx, "SELECT COUNT(*) FROM [[fee_ledger]] WHERE [[source_key]] = {:k}", dbx.Params{"k": refKey}); err != nil || n > 0 {
			return err // a retried refund: booked before
		}
		a.Set("refunded", a.GetInt("refunded")+int(amount))
		if err := saveServer(tx, a); err != nil {
			return err
		}
		if booked > 0 {
			if _, err := Book(tx, fee, Entry{Kind: LedgerRefund, Amount: amount, Currency: a.GetString("currency"), SourceKey: refKey,
				Source: "provider", Method: "card", Evidence: obs.Evidence, Note: body.Note, Actor: actor}); err != nil {
				return err
			}
		} else if exc, err := tx.FindFirstRecordByData(collEntries, "entry_key", key); err == nil && exc.GetString("resolution") == "" {
			exc.Set("resolution", "refund")
			exc.Set("resolution_note", "refunded through "+a.GetString("provider")+": "+body.Note)
			exc.Set("resolved_by", actor.ID)
			exc.Set("resolved_at", time.Now().UTC())
			if err := tx.Save(exc); err != nil {
				return err
			}
		}
		return addFeeEvent(tx, fee.GetString("request"), actor, fmt.Sprintf("Refund of %s %s through %s by %s: %s", a.GetString("currency"), FormatAmount(amount, a.GetString("currency")), a.GetString("provider"), actor.ID, body.Note), false)
	})
	if err != nil {
		return actionError(e, err)
	}
	rec, _ := e.App.FindRecordById(collAttempts, att.Id)
	return e.JSON(http.StatusOK, rec)
}

// abandonAfter is when the poller starts asking about a redirected
// attempt; an attempt never begun at its platform ends after it.
const abandonAfter = 15 * time.Minute

// PollAttempts asks the platforms about attempts the citizen left (no
// return, no webhook yet) and applies the answer: GOV.UK Pay expires an
// abandoned payment after 90 minutes (P0020), Stripe at the session's
// expires_at. An attempt whose platform call never happened (a crash
// before Begin) ends as expired.
func PollAttempts(app core.App, now time.Time) (jobs.Report, error) {
	rep := jobs.Report{}
	cut := now.Add(-abandonAfter).UTC().Format("2006-01-02 15:04:05.000Z")
	recs, err := app.FindRecordsByFilter(collAttempts, "(state = 'created' || state = 'redirected') && provider != 'pagopa' && created < {:cut}", "created", 200, 0, dbx.Params{"cut": cut})
	if err != nil {
		return rep, fmt.Errorf("poll attempts: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, att := range recs {
		if att.GetString("provider_ref") == "" {
			obs := &Observed{Status: ObsExpired, Code: "never_begun"}
			if err := ApplyObservation(app, att.Id, obs, ""); err != nil {
				return rep, err
			}
			rep["expired"]++
			continue
		}
		p, err := platform(app, att.GetString("provider"))
		if err != nil {
			rep["unconfigured"]++
			continue
		}
		obs, err := p.Status(ctx, attemptOf(att, PlatformsOf(app).PublicURL))
		if err != nil {
			rep["errors"]++
			continue
		}
		if err := ApplyObservation(app, att.Id, obs, ""); err != nil {
			var pe *ParkError
			if errors.As(err, &pe) {
				app.Logger().Error("payments: poller refused an observation", "attempt", att.Id, "reason", pe.Reason)
				rep["parked"]++
				continue
			}
			return rep, err
		}
		rep[obs.Status]++
	}
	c, err := cancelOrphans(ctx, app)
	rep["cancelled_settled"] = int64(c)
	if err != nil {
		return rep, err
	}
	n, err := publishPositions(ctx, app)
	rep["published"] = int64(n)
	return rep, err
}

// cancelOrphans ends card payments still in progress for fees that are no
// longer open (paid by transfer or at the counter, waived), so the citizen
// cannot pay twice; the platform's answer is then applied as usual — if the
// citizen paid meanwhile, that payment goes to the exceptions for a refund.
func cancelOrphans(ctx context.Context, app core.App) (int, error) {
	var ids []string
	err := app.DB().NewQuery("SELECT a.[[id]] FROM [[payment_attempts]] a JOIN [[fees]] f ON f.[[id]] = a.[[fee]] " +
		"WHERE a.[[state]] IN ('created', 'redirected') AND a.[[provider]] IN ('govukpay', 'stripe') AND a.[[provider_ref]] != '' " +
		"AND f.[[state]] NOT IN ('due', 'pending') LIMIT 100").Column(&ids)
	if err != nil {
		return 0, fmt.Errorf("attempts of settled fees: %w", err)
	}
	n := 0
	for _, id := range ids {
		att, err := app.FindRecordById(collAttempts, id)
		if err != nil {
			continue
		}
		p, err := platform(app, att.GetString("provider"))
		if err != nil {
			continue
		}
		a := attemptOf(att, PlatformsOf(app).PublicURL)
		if err := p.Cancel(ctx, a); err != nil {
			app.Logger().Warn("payments: cancel of a settled fee's payment refused", "attempt", id, "error", err.Error())
		}
		obs, err := p.Status(ctx, a)
		if err != nil {
			continue
		}
		if err := ApplyObservation(app, id, obs, ""); err != nil {
			var pe *ParkError
			if !errors.As(err, &pe) {
				return n, err
			}
			continue
		}
		n++
	}
	return n, nil
}
