package payments

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"civicdesk/changelog"
	"civicdesk/city"
	"civicdesk/jobs"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/spf13/cobra"
)

// Hook ids, so tests and plugins can find or Unbind them.
const (
	HookIDCheckConfig   = "civicdeskPaymentsConfig"
	HookIDRoutes        = "civicdeskPaymentsRoutes"
	HookIDAccepted      = "civicdeskPaymentsAccepted"
	HookIDPayment       = "civicdeskPaymentsManualPayment"
	HookIDBlock         = "civicdeskPaymentsBlock"
	HookIDGuard         = "civicdeskPaymentsGuard"
	HookIDFollowRequest = "civicdeskPaymentsFollowRequest"
	HookIDServiceFee    = "civicdeskPaymentsServiceFee"
)

// JobExpiry is the name of the fee expiry job.
const JobExpiry = "payments_expiry"

// Fee modes of a service (services.fee_mode).
const (
	ModeNone     = "none"
	ModeOnFiling = "on_filing"
	ModeAssessed = "assessed"
)

// Register binds the payments room: fees created by the workflow on every
// path, the manual-payment bridge, the "waits for payment" rule, the
// server-only guard on fees and ledger, routes, the import command and the
// expiry job.
func Register(app core.App, rootCmd *cobra.Command) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDCheckConfig,
		Func: func(se *core.ServeEvent) error {
			if err := CheckConfig(city.Of(se.App).Payments); err != nil {
				return fmt.Errorf("civicdesk payments: %w", err)
			}
			warnUnpayableServices(se.App)
			for _, stmt := range changelog.ChildTriggersSQL(collFees) {
				if _, err := se.App.DB().NewQuery(stmt).Execute(); err != nil {
					return fmt.Errorf("civicdesk payments: fee change triggers: %w", err)
				}
			}
			return se.Next()
		},
	})
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDRoutes,
		Func: func(se *core.ServeEvent) error {
			bindRoutes(se)
			return se.Next()
		},
	})

	wf := workflow.Of(app)
	wf.OnAccepted.Bind(&hook.Handler[*workflow.Event]{Id: HookIDAccepted, Func: onAccepted})
	// before receipts (priority 0): the receipt reads the payment attached here
	wf.OnPaymentRecorded.Bind(&hook.Handler[*workflow.Event]{Id: HookIDPayment, Func: onManualPayment, Priority: -10})
	wf.OnStatusChanged.Bind(&hook.Handler[*workflow.Event]{Id: HookIDBlock, Func: onStatusChanged, Priority: -10})

	app.OnRecordCreate(collFees, collLedger).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDGuard, Func: guardServerWrite})
	app.OnRecordUpdate(collFees, collLedger).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDGuard, Func: guardServerWrite})
	app.OnRecordUpdate(collRequests).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDFollowRequest, Func: followRequest})
	app.OnRecordValidate(collServices).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDServiceFee, Func: validateServiceFee})

	jobs.AddJob(app, jobs.Job{Name: JobExpiry, Spec: "5 * * * *", Run: ExpireFees})
	jobs.AddJob(app, jobs.Job{Name: JobNotices, Spec: "* * * * *", Run: noticesJob})
	registerPlatforms(app)

	if rootCmd != nil {
		rootCmd.AddCommand(Command(app))
	}
}

// CheckConfig validates every configured rail.
func CheckConfig(p city.PaymentConfig) error {
	currencies := make([]string, 0, len(p.Rails))
	for c := range p.Rails {
		currencies = append(currencies, c)
	}
	sort.Strings(currencies)
	for _, c := range currencies {
		if err := ValidateRail(c, p.Rails[c]); err != nil {
			return err
		}
		if bg := p.Rails[c].Bankgiro; bg != "" {
			if _, err := BankgiroValidate(bg); err != nil {
				return fmt.Errorf("%s rail: %w", c, err)
			}
		}
	}
	return nil
}

// feeMode is a service's effective fee mode: an explicit fee_mode, else
// on_filing when the service has a fee.
func feeMode(svc *core.Record) string {
	return effectiveFeeMode(svc.GetString("fee_mode"), svc.GetInt("fee"))
}

// effectiveFeeMode is feeMode of a service's fee_mode and fee.
func effectiveFeeMode(mode string, fee int) string {
	switch mode {
	case ModeOnFiling, ModeAssessed, ModeNone:
		return mode
	}
	if fee > 0 {
		return ModeOnFiling
	}
	return ModeNone
}

// serviceFee is what filing needs of a service: its fee fields, read
// narrowly (the service record also carries large localized texts, and
// every accepted request reads it).
type serviceFee struct {
	Mode     string `db:"fee_mode"`
	Fee      int    `db:"fee"`
	Currency string `db:"currency"`
	DueDays  int    `db:"fee_due_days"`
}

// loadServiceFee reads service id's fee fields in app (the write's
// transaction, so they are the values the request was stamped with).
func loadServiceFee(app core.App, id string) (*serviceFee, error) {
	f := &serviceFee{}
	// COALESCE and CAST: NULL in a column added later, numbers as GetInt reads them
	err := app.DB().NewQuery("SELECT COALESCE([[fee_mode]], '') AS [[fee_mode]], CAST(COALESCE([[fee]], 0) AS INTEGER) AS [[fee]], " +
		"COALESCE([[currency]], '') AS [[currency]], CAST(COALESCE([[fee_due_days]], 0) AS INTEGER) AS [[fee_due_days]] " +
		"FROM {{" + collServices + "}} WHERE [[id]] = {:id}").Bind(dbx.Params{"id": id}).One(f)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// onAccepted creates the fee of a service whose fee is due on filing, on
// every path that accepts a request (records API, sync, Open311, office).
func onAccepted(e *workflow.Event) error {
	if e.Request.GetInt("fee") <= 0 {
		// hooks stamped the service's fee on the request in this transaction:
		// without one there is nothing due on filing, and no service to read
		return e.Next()
	}
	svc, err := loadServiceFee(e.App, e.Request.GetString("service"))
	if err != nil {
		return fmt.Errorf("payments: service of request %s: %w", e.Request.Id, err)
	}
	if effectiveFeeMode(svc.Mode, svc.Fee) == ModeOnFiling && svc.Fee > 0 {
		if _, err := CreateFee(e.App, e.Request, int64(svc.Fee), svc.Currency, svc.DueDays, workflow.System); err != nil {
			return fmt.Errorf("payments: fee of request %s: %w", e.Request.Id, err)
		}
	}
	return e.Next()
}

// onManualPayment books a payment a clerk recorded by hand (paid_at and
// payment_ref on the request, e.g. cash at the counter) into the ledger, so
// both paths end in the same ledger and the same receipt.
func onManualPayment(e *workflow.Event) error {
	if workflow.PaymentOf(e.Request) != nil {
		return e.Next() // from the ledger itself
	}
	fee, err := feeOfRequest(e.App, e.Request.Id)
	if err != nil {
		return err
	}
	if fee == nil || !IsOpen(fee.GetString("state")) && fee.GetString("state") != StateExpired {
		return e.Next()
	}
	s, err := sums(e.App, fee.Id)
	if err != nil {
		return err
	}
	paidAt := e.Request.GetDateTime("paid_at").Time()
	entry := Entry{
		Kind: LedgerCredit, Amount: int64(fee.GetInt("amount")) - s.Settled(), Currency: fee.GetString("currency"),
		SourceKey: "manual:" + e.Request.Id + ":" + strconv.FormatInt(paidAt.UnixMilli(), 10), Source: "manual",
		Method: "counter", Evidence: e.Request.GetString("payment_ref"), BookedAt: paidAt, Actor: e.Actor,
		Note: "recorded on the request by staff",
	}
	if entry.Amount <= 0 {
		return e.Next()
	}
	fee.Set("expired_at", "") // paying at the counter settles an expired fee too
	if _, err := Book(e.App, fee, entry); err != nil {
		return err
	}
	after, err := sums(e.App, fee.Id)
	if err != nil {
		return err
	}
	p := paymentOf(fee, after, &entry)
	if ref := e.Request.GetString("payment_ref"); ref != "" {
		p.Reference = ref // the clerk's reference (a counter receipt, an IUV) is the payment's
	}
	workflow.AttachPayment(e.Request, p)
	return e.Next()
}

// onStatusChanged holds processing of a request whose service waits for
// payment until its fee is paid or waived.
func onStatusChanged(e *workflow.Event) error {
	if e.To != workflow.StatusInProgress && e.To != workflow.StatusResolved {
		return e.Next()
	}
	svc, err := e.App.FindRecordById(collServices, e.Request.GetString("service"))
	if err != nil {
		return fmt.Errorf("payments: service of request %s: %w", e.Request.Id, err)
	}
	if !svc.GetBool("fee_blocks") || feeMode(svc) == ModeNone {
		return e.Next()
	}
	fee, err := feeOfRequest(e.App, e.Request.Id)
	if err != nil {
		return err
	}
	switch {
	case fee == nil && feeMode(svc) == ModeAssessed:
		return validation.Errors{"status": validation.NewError("validation_fee_not_assessed", "This service waits for payment: assess the fee first.")}
	case fee != nil && !IsSettled(fee.GetString("state")):
		return validation.Errors{"status": validation.NewError("validation_fee_unpaid", "This service waits for payment: the fee is "+fee.GetString("state")+", not paid or waived.")}
	}
	return e.Next()
}

// guardServerWrite refuses writes to fees and the ledger that do not come
// from this package (the records API, the dashboard), and any change to a
// ledger row: the ledger is append-only.
func guardServerWrite(e *core.RecordEvent) error {
	ok, _ := e.Record.GetRaw(ledgerWriteKey).(bool)
	if !ok {
		return validation.Errors{"id": validation.NewError("validation_server_only", "Fees and their ledger are written by the server only (use the /api/payments routes).")}
	}
	if e.Record.Collection().Name == collLedger && !e.Record.IsNew() {
		return validation.Errors{"id": validation.NewError("validation_append_only", "The fee ledger is append-only.")}
	}
	return e.Next()
}

// followRequest keeps a fee's citizen and department (its access rule) equal
// to its request's, in the same write.
func followRequest(e *core.RecordEvent) error {
	if err := e.Next(); err != nil {
		return err
	}
	// most updates (a status, a payment) move neither: two columns, not the fee record
	var cur struct {
		Department string `db:"department"`
		Citizen    string `db:"citizen"`
	}
	err := e.App.DB().NewQuery("SELECT [[department]], [[citizen]] FROM [[fees]] WHERE [[request]] = {:r}").Bind(dbx.Params{"r": e.Record.Id}).One(&cur)
	if errors.Is(err, sql.ErrNoRows) || err == nil && cur.Department == e.Record.GetString("department") && cur.Citizen == e.Record.GetString("citizen") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fee of request %s: %w", e.Record.Id, err)
	}
	fee, err := feeOfRequest(e.App, e.Record.Id)
	if err != nil || fee == nil {
		return err
	}
	if fee.GetString("department") == e.Record.GetString("department") && fee.GetString("citizen") == e.Record.GetString("citizen") {
		return nil
	}
	fee.Set("department", e.Record.GetString("department"))
	fee.Set("citizen", e.Record.GetString("citizen"))
	return saveFee(e.App, fee)
}

// validateServiceFee refuses a fee the city cannot take: an amount without a
// currency, or a currency without a configured rail.
func validateServiceFee(e *core.RecordEvent) error {
	svc := e.Record
	mode := feeMode(svc)
	if mode == ModeNone {
		return e.Next()
	}
	cur := svc.GetString("currency")
	if cur == "" {
		return validation.Errors{"currency": validation.NewError("validation_fee_currency", "A service with a fee needs its currency (ISO 4217, e.g. EUR).")}
	}
	if _, err := CurrencyExponent(cur); err != nil {
		return validation.Errors{"currency": validation.NewError("validation_fee_currency", err.Error())}
	}
	// a currency without a rail is allowed here (a city may configure the rail
	// later); filing then fails with a message naming it, and serve logs it
	if mode == ModeOnFiling && svc.GetInt("fee") <= 0 {
		return validation.Errors{"fee": validation.NewError("validation_fee_amount", "A fee due on filing needs an amount in minor units.")}
	}
	return e.Next()
}

// canCancel reports whether the expiry job may cancel a request in status
// (the system cancels only what a citizen could: a request still received).
func canCancel(status string) bool {
	return workflow.CanTransition(workflow.System, status, workflow.StatusCancelled) == nil
}

// warnUnpayableServices logs services whose fee currency has no rail: filing
// them fails until the city configures one.
func warnUnpayableServices(app core.App) {
	svcs, err := app.FindAllRecords(collServices)
	if err != nil {
		return
	}
	pay := city.Of(app).Payments
	for _, s := range svcs {
		if feeMode(s) == ModeNone || !s.GetBool("active") {
			continue
		}
		if _, err := pay.RailFor(s.GetString("currency")); err != nil {
			app.Logger().Warn("payments: service "+s.GetString("code")+" cannot take its fee", "error", err.Error())
		}
	}
}
