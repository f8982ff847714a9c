package payments

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
)

func init() {
	RegisterProvider(KindPagoPA, func(rail city.Rail) Provider { return &pagoPA{rail: rail} })
}

// pagoPA is the Genoa adapter: debt positions at PagoPA's GPD API, the
// notice (number, IUV, QR) built offline from the fee, and receipts
// (paSendRT-shaped) posted by the city's pagoPA intermediary. The pagoPA
// receipt (ricevuta telematica) is the legal proof of payment; civicdesk's
// signed receipt references the IUV.
type pagoPA struct {
	rail city.Rail
	cfg  PagoPAConfig
	platformClient
}

func newPagoPA(cfg PagoPAConfig, rail city.Rail) *pagoPA {
	return &pagoPA{rail: rail, cfg: cfg, platformClient: newPlatformClient("pagoPA GPD")}
}

// pagoPARail is the city's pagoPA rail (zero when it has none).
func pagoPARail(app core.App) city.Rail {
	for _, r := range city.Of(app).Payments.Rails {
		if r.Kind == KindPagoPA {
			return r
		}
	}
	return city.Rail{}
}

// Kind implements Provider.
func (p *pagoPA) Kind() string { return KindPagoPA }

// Caps implements Provider.
func (p *pagoPA) Caps() Caps {
	return Caps{Currencies: []string{"EUR"}, OfflineInstruction: true, Async: true}
}

// Begin implements Provider: the notice, without the network (the position
// is published after the fee's transaction commits, with the same ids).
func (p *pagoPA) Begin(_ context.Context, fee FeeInfo, _ Attempt) (*Begun, error) {
	if fee.Currency != "EUR" {
		return nil, fmt.Errorf("pagoPA takes EUR only, not %s", fee.Currency)
	}
	iuv := fee.Reference
	if len(iuv) != 17 {
		var err error
		if iuv, err = IUVCreate(p.rail.Segregation, fee.Reference); err != nil {
			return nil, err
		}
	}
	notice, err := NoticeNumber(iuv)
	if err != nil {
		return nil, err
	}
	qr, err := PagoPAQR(notice, p.rail.FiscalCode, fee.Amount)
	if err != nil {
		return nil, err
	}
	in := &Instruction{
		Rail: KindPagoPA, QRKind: "pagopa", QR: qr, Creditor: p.rail.Creditor, Reference: iuv,
		ReferencePrinted: printNotice(notice), Scheme: SchemeIUV, Amount: fee.Amount,
		AmountText: FormatAmount(fee.Amount, "EUR"), Currency: "EUR",
	}
	if !fee.DueAt.IsZero() {
		in.DueAt = fee.DueAt.UTC().Format(time.RFC3339)
	}
	in.Text = fmt.Sprintf("%s\nCodice fiscale ente %s\nCodice avviso %s\nEUR %s", p.rail.Creditor, p.rail.FiscalCode, in.ReferencePrinted, in.AmountText)
	return &Begun{Instruction: in, ProviderRef: iuv, ExpiresAt: fee.DueAt}, nil
}

// gpdPosition is the GPD debt position (openapi_external_v1 PaymentPositionModel).
type gpdPosition struct {
	IUPD            string      `json:"iupd"`
	Type            string      `json:"type"`
	FiscalCode      string      `json:"fiscalCode"`
	FullName        string      `json:"fullName"`
	CompanyName     string      `json:"companyName"`
	SwitchToExpired bool        `json:"switchToExpired"`
	Status          string      `json:"status,omitempty"`
	PaymentOption   []gpdOption `json:"paymentOption"`
}

type gpdOption struct {
	IUV              string        `json:"iuv"`
	NAV              string        `json:"nav,omitempty"`
	Amount           int64         `json:"amount"`
	Description      string        `json:"description"`
	IsPartialPayment bool          `json:"isPartialPayment"`
	DueDate          string        `json:"dueDate"`
	Fee              int64         `json:"fee"`
	Status           string        `json:"status,omitempty"`
	Transfer         []gpdTransfer `json:"transfer"`
}

type gpdTransfer struct {
	IDTransfer             string `json:"idTransfer"`
	Amount                 int64  `json:"amount"`
	OrganizationFiscalCode string `json:"organizationFiscalCode"`
	RemittanceInformation  string `json:"remittanceInformation"`
	Category               string `json:"category"`
	IBAN                   string `json:"iban"`
}

// iupdOf is the client-chosen position id: a retry after a crash or a
// timeout meets GPD's 409 instead of creating a second position.
func iupdOf(iuv string) string { return "CIVICDESK-" + iuv }

func (p *pagoPA) do(ctx context.Context, method, path string, body any, reqID string) (int, []byte, error) {
	return p.callJSON(ctx, method, p.cfg.BaseURL, path, body, http.Header{"Ocp-Apim-Subscription-Key": {p.cfg.APIKey}, "X-Request-Id": {reqID}})
}

// Publish creates and publishes the fee's debt position (idempotent: a 409
// for the same ids means it exists).
func (p *pagoPA) Publish(ctx context.Context, fee FeeInfo, a Attempt) error {
	iuv := a.ProviderRef
	due := fee.DueAt
	if due.IsZero() {
		due = time.Now().AddDate(0, 0, 30)
	}
	pos := gpdPosition{
		IUPD: iupdOf(iuv), Type: "F", FiscalCode: "ANONIMO", FullName: "Cittadino", CompanyName: p.rail.Creditor,
		PaymentOption: []gpdOption{{
			IUV: iuv, Amount: fee.Amount, Description: "Diritti di segreteria " + fee.Reference, DueDate: due.UTC().Format("2006-01-02T15:04:05.000Z"),
			Transfer: []gpdTransfer{{IDTransfer: "1", Amount: fee.Amount, OrganizationFiscalCode: p.rail.FiscalCode,
				RemittanceInformation: "civicdesk " + iuv, Category: "9/0101108TS/", IBAN: p.rail.IBAN}},
		}},
	}
	path := "/organizations/" + url.PathEscape(p.rail.FiscalCode) + "/debtpositions?toPublish=true"
	st, body, err := p.do(ctx, http.MethodPost, path, pos, a.ID)
	if err != nil {
		return err
	}
	switch st {
	case http.StatusCreated, http.StatusConflict:
		return nil
	}
	return fmt.Errorf("pagoPA GPD create position %s: %d %s", pos.IUPD, st, clip(body, 200))
}

// Status implements Provider: the position's state at GPD.
func (p *pagoPA) Status(ctx context.Context, a Attempt) (*Observed, error) {
	st, body, err := p.do(ctx, http.MethodGet, "/organizations/"+url.PathEscape(p.rail.FiscalCode)+"/debtpositions/"+url.PathEscape(iupdOf(a.ProviderRef)), nil, a.ID)
	if err != nil {
		return nil, err
	}
	if st == http.StatusNotFound {
		return &Observed{Status: ObsCreated}, nil
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("pagoPA GPD get position: %d %s", st, clip(body, 200))
	}
	var pos gpdPosition
	if err := json.Unmarshal(body, &pos); err != nil || len(pos.PaymentOption) == 0 {
		return nil, fmt.Errorf("pagoPA GPD position: unreadable answer")
	}
	o := &Observed{Amount: pos.PaymentOption[0].Amount, Currency: "EUR", Code: pos.Status}
	switch pos.Status {
	case "PAID", "REPORTED":
		// the receipt is the evidence; a lookup alone never books money
		o.Status = ObsPending
	case "EXPIRED", "INVALID":
		o.Status = ObsExpired
	default:
		o.Status = ObsPending
	}
	return o, nil
}

// PaSendRT is a receipt as the city's intermediary forwards it (the fields
// of pagoPA's paSendRT/paSendRTV2 receipt, as JSON).
type PaSendRT struct {
	IDPA    string `json:"idPA"`
	Receipt struct {
		ReceiptID           string `json:"receiptId"`
		NoticeNumber        string `json:"noticeNumber"`
		FiscalCode          string `json:"fiscalCode"`
		Outcome             string `json:"outcome"`
		CreditorReferenceID string `json:"creditorReferenceId"`
		PaymentAmount       string `json:"paymentAmount"`
		Description         string `json:"description"`
		CompanyName         string `json:"companyName"`
		IDPSP               string `json:"idPSP"`
		PSPCompanyName      string `json:"PSPCompanyName"`
		PaymentMethod       string `json:"paymentMethod"`
		Fee                 string `json:"fee"`
		PaymentDateTime     string `json:"paymentDateTime"`
		ApplicationDate     string `json:"applicationDate"`
		TransferDate        string `json:"transferDate"`
	} `json:"receipt"`
}

// ParsePaSendRT parses and checks a receipt of creditor fiscalCode.
func ParsePaSendRT(body []byte, fiscalCode string) (*PaSendRT, error) {
	var rt PaSendRT
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&rt); err != nil {
		return nil, fmt.Errorf("receipt: not JSON: %w", err)
	}
	r := &rt.Receipt
	switch {
	case r.ReceiptID == "" || len(r.ReceiptID) > 200:
		return nil, errors.New("receipt: receiptId is required (at most 200 characters)")
	case r.Outcome != "OK" && r.Outcome != "KO":
		return nil, fmt.Errorf("receipt: outcome %q: want OK or KO", r.Outcome)
	case r.FiscalCode != fiscalCode:
		return nil, fmt.Errorf("receipt: fiscalCode %q is not this creditor's", r.FiscalCode)
	}
	iuv, err := NoticeValidate(r.NoticeNumber)
	if err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	if r.CreditorReferenceID != iuv {
		return nil, fmt.Errorf("receipt: creditorReferenceId %q does not match the notice number", r.CreditorReferenceID)
	}
	if r.Outcome == "OK" {
		if _, err := ParseAmount(r.PaymentAmount, "EUR"); err != nil {
			return nil, fmt.Errorf("receipt: paymentAmount: %w", err)
		}
	}
	return &rt, nil
}

// Webhook implements Provider: a receipt, authenticated by the shared
// token of the intermediary (compared in constant time).
func (p *pagoPA) Webhook(r *http.Request) ([]ProviderEvent, error) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if p.cfg.ReceiptToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(p.cfg.ReceiptToken)) != 1 {
		return nil, &WebhookError{Status: http.StatusUnauthorized, Reason: "missing or bad receipt token"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	rt, err := ParsePaSendRT(body, p.rail.FiscalCode)
	if err != nil {
		return nil, &WebhookError{Status: http.StatusBadRequest, Reason: err.Error()}
	}
	return []ProviderEvent{{Provider: KindPagoPA, EventID: rt.Receipt.ReceiptID, ProviderRef: rt.Receipt.CreditorReferenceID, Type: "paSendRT", Raw: body}}, nil
}

// Observe implements Platform: the receipt itself (it is the legal proof).
// A KO receipt changes nothing: the notice stays payable.
func (p *pagoPA) Observe(_ context.Context, _ Attempt, ev ProviderEvent) (*Observed, error) {
	rt, err := ParsePaSendRT(ev.Raw, p.rail.FiscalCode)
	if err != nil {
		return nil, &ParkError{Reason: err.Error()}
	}
	if rt.Receipt.Outcome != "OK" {
		return nil, nil
	}
	amount, _ := ParseAmount(rt.Receipt.PaymentAmount, "EUR")
	at, err := time.Parse(time.RFC3339, rt.Receipt.PaymentDateTime)
	if err != nil {
		at, _ = time.ParseInLocation("2006-01-02T15:04:05", rt.Receipt.PaymentDateTime, time.UTC)
	}
	return &Observed{Status: ObsSucceeded, Amount: amount, Currency: "EUR", Evidence: rt.Receipt.ReceiptID, At: at, Code: "OK"}, nil
}

// Cancel implements Platform: not used for pagoPA (the position stays;
// docs/payments.md §12.10).
func (p *pagoPA) Cancel(context.Context, Attempt) error { return nil }

// Handles implements Platform.
func (p *pagoPA) Handles(t string) bool { return t == "paSendRT" }

// Ack implements Platform: the outcome pagoPA's primitive expects.
func (p *pagoPA) Ack(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write([]byte(`{"outcome":"OK"}`))
	return err
}

// Refund implements Provider: pagoPA has no refund API for the creditor body.
func (p *pagoPA) Refund(context.Context, FeeInfo, int64, string) (*Observed, error) {
	return nil, ErrManualRefund
}

// RefundAttempt implements Platform.
func (p *pagoPA) RefundAttempt(context.Context, Attempt, int64, string) (*Observed, error) {
	return nil, ErrManualRefund
}

// publishPositions publishes the debt positions of new pagoPA fees (attempts
// still `created`) and moves them to `redirected` (payable at any PSP).
func publishPositions(ctx context.Context, app core.App) (int, error) {
	if PlatformsOf(app).PagoPA.BaseURL == "" {
		return 0, nil
	}
	recs, err := app.FindRecordsByFilter(collAttempts, "provider = 'pagopa' && state = 'created'", "created", 100, 0)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	pl, err := platform(app, KindPagoPA)
	if err != nil {
		return 0, err
	}
	p := pl.(*pagoPA)
	n := 0
	for _, att := range recs {
		fee, err := app.FindRecordById(collFees, att.GetString("fee"))
		if err != nil {
			continue
		}
		if err := p.Publish(ctx, feeInfoOf(fee, int64(att.GetInt("amount"))), attemptOf(att, "")); err != nil {
			app.Logger().Warn("payments: pagoPA position not published yet", "fee", fee.Id, "error", err.Error())
			continue
		}
		if err := ApplyObservation(app, att.Id, &Observed{Status: ObsPending}, ""); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
