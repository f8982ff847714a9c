package payments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"civicdesk/city"
	"civicdesk/payments"
	"civicdesk/payments/fakeplatforms"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

const (
	govKey    = "api_test_fake_key"
	govSecret = "govuk-webhook-secret-1"
	strKey    = "sk_test_fake"
	strSecret = "whsec_fake_1"
	ppKey     = "gpd-subscription-key"
	ppToken   = "pagopa-receipt-token"
)

// platformWorld is a seeded city whose platforms are the loopback fakes,
// served over real HTTP so the fakes' webhooks reach civicdesk's route.
type platformWorld struct {
	*testkit.World
	fakes *fakeplatforms.Fakes
	api   string // civicdesk's base URL
}

func newPlatformWorld(t *testing.T, profile string, card string, pagopaRail bool) *platformWorld {
	t.Helper()
	cfg := city.Default()
	pay := city.PaymentProfiles[profile]
	rails := map[string]city.Rail{}
	for c, r := range pay.Rails {
		if pagopaRail && c == "EUR" {
			r.Kind, r.Scheme = payments.KindPagoPA, payments.SchemeIUV
		}
		rails[c] = r
	}
	pay.Rails = rails
	cfg.Payments = pay
	w := testkit.NewApp(t, testkit.WithCity(cfg))
	fk := fakeplatforms.New(fakeplatforms.Config{
		GOVUKPayKey: govKey, GOVUKPaySecrets: []string{govSecret}, StripeKey: strKey, StripeSecrets: []string{strSecret},
		PagoPAKey: ppKey, PagoPAToken: ppToken, Manual: true,
	})
	fsrv := httptest.NewServer(fk)
	t.Cleanup(fsrv.Close)
	fk.SetBase(fsrv.URL)
	pc := payments.PlatformConfig{
		Card:      map[string]string{},
		GOVUKPay:  payments.GOVUKPayConfig{BaseURL: fsrv.URL + "/govukpay", APIKey: govKey, WebhookSecrets: []string{govSecret}},
		Stripe:    payments.StripeConfig{BaseURL: fsrv.URL + "/stripe", SecretKey: strKey, WebhookSecrets: []string{strSecret}},
		PagoPA:    payments.PagoPAConfig{BaseURL: fsrv.URL + "/pagopa", APIKey: ppKey, ReceiptToken: ppToken},
		PublicURL: "http://civicdesk.test",
	}
	if card != "" {
		for c := range pay.Rails {
			pc.Card[c] = card
		}
	}
	payments.SetPlatforms(w.App, pc)
	api := httptest.NewServer(w.Handler(t))
	t.Cleanup(api.Close)
	t.Cleanup(func() { _ = w.App.OnTerminate().Trigger(&core.TerminateEvent{App: w.App}) })
	fk.SetServer(api.URL)
	return &platformWorld{World: w, fakes: fk, api: api.URL}
}

func (pw *platformWorld) post(t *testing.T, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, pw.api+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// start files a certificate for citizen A and starts paying it by card.
func (pw *platformWorld) start(t *testing.T) (fee, att *core.Record, redirect string) {
	t.Helper()
	req := pw.World.FileCertificate(t, pw.CitizenA)
	fee = feeOf(t, pw.App, req.Id)
	st, out := pw.post(t, "/api/payments/fees/"+fee.Id+"/attempts", testkit.Token(t, pw.CitizenA), `{}`)
	if st != http.StatusOK {
		t.Fatalf("start attempt: %d %v", st, out)
	}
	att, err := pw.App.FindRecordById("payment_attempts", out["attempt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if att.GetString("state") != payments.AttemptRedirected || out["redirect"] == "" {
		t.Fatalf("attempt %s redirect %v", att.GetString("state"), out["redirect"])
	}
	return fee, att, out["redirect"].(string)
}

func (pw *platformWorld) reload(t *testing.T, rec *core.Record) *core.Record {
	t.Helper()
	r, err := pw.App.FindRecordById(rec.Collection().Name, rec.Id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (pw *platformWorld) process(t *testing.T) {
	t.Helper()
	if _, _, err := payments.ProcessEvents(context.Background(), pw.App); err != nil {
		t.Fatal(err)
	}
}

func (pw *platformWorld) ledgerCredits(t *testing.T, fee *core.Record) int {
	return count(t, pw.App, "SELECT COUNT(*) FROM fee_ledger WHERE fee = {:f} AND kind = 'credit'", dbx.Params{"f": fee.Id})
}

func (pw *platformWorld) paymentReceipts(t *testing.T, fee *core.Record) int {
	return count(t, pw.App, "SELECT COUNT(*) FROM receipts WHERE request = {:r} AND kind = 'payment'", dbx.Params{"r": fee.GetString("request")})
}

func TestIUVAndNoticeNumber(t *testing.T) {
	iuv, err := payments.IUVCreate("01", "2026000001")
	if err != nil {
		t.Fatal(err)
	}
	// "3" + "01" + "0002026000001" = 3010002026000001; mod 93 = 66
	if iuv != "01000202600000166" {
		t.Fatalf("IUV %s", iuv)
	}
	n, err := payments.NoticeNumber(iuv)
	if err != nil || n != "301000202600000166" || len(n) != 18 {
		t.Fatalf("notice %s %v", n, err)
	}
	if _, err := payments.IUVValidate("01000202600000167"); err == nil {
		t.Fatal("a wrong check digit passed")
	}
	if got, err := payments.NoticeValidate(n); err != nil || got != iuv {
		t.Fatalf("notice → IUV %s %v", got, err)
	}
	qr, err := payments.PagoPAQR(n, "00856930102", 52)
	if err != nil || qr != "PAGOPA|002|301000202600000166|00856930102|52" {
		t.Fatalf("QR %q %v", qr, err)
	}
	for _, bad := range [][3]string{{"1", "2026"}, {"01", "12345678901234"}, {"0x", "1"}} {
		if _, err := payments.IUVCreate(bad[0], bad[1]); err == nil {
			t.Errorf("IUVCreate(%q, %q) passed", bad[0], bad[1])
		}
	}
}

func TestGOVUKPayReturnWithoutWebhook(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, redirect := pw.start(t)
	if !strings.Contains(redirect, "/govukpay/pay/"+att.GetString("provider_ref")+"/") || pw.reload(t, fee).GetString("state") != payments.StatePending {
		t.Fatalf("redirect %q, fee %s", redirect, pw.reload(t, fee).GetString("state"))
	}
	tok := att.GetString("token")
	// the return before paying: still confirming, nothing booked
	st, out := pw.post(t, "/api/payments/return/"+tok, "", "")
	if st != 200 || out["state"] != payments.AttemptRedirected || out["finished"] != false {
		t.Fatalf("early return: %d %v", st, out)
	}
	ret := pw.fakes.GOVUK.Complete(att.GetString("provider_ref"), "success")
	if !strings.HasSuffix(ret, "/payments/return/"+tok) || strings.Contains(ret, att.GetString("provider_ref")) {
		t.Fatalf("return URL %q carries more than the token", ret)
	}
	for i := 0; i < 2; i++ { // a reload of the return page changes nothing
		st, out = pw.post(t, "/api/payments/return/"+tok, "", "")
		if st != 200 || out["state"] != payments.AttemptSucceeded || out["feeState"] != payments.StatePaid {
			t.Fatalf("return %d: %d %v", i, st, out)
		}
	}
	if pw.ledgerCredits(t, fee) != 1 || pw.paymentReceipts(t, fee) != 1 {
		t.Fatalf("credits %d receipts %d", pw.ledgerCredits(t, fee), pw.paymentReceipts(t, fee))
	}
	if st, _ := pw.post(t, "/api/payments/return/"+strings.Repeat("0", 48), "", ""); st != 404 {
		t.Fatalf("unknown token: %d", st)
	}
	// a paid fee cannot start another attempt
	if st, _ := pw.post(t, "/api/payments/fees/"+fee.Id+"/attempts", testkit.Token(t, pw.CitizenA), `{}`); st != http.StatusConflict {
		t.Fatalf("attempt on a paid fee: %d", st)
	}
}

func TestGOVUKPayWebhookWithoutReturnUnorderedAndDuplicated(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, _ := pw.start(t)
	id := att.GetString("provider_ref")
	started := pw.fakes.GOVUK.Event(id, "CARD_PAYMENT_STARTED")
	pw.fakes.GOVUK.Complete(id, "success")
	succeeded := pw.fakes.GOVUK.Event(id, "CARD_PAYMENT_SUCCEEDED")
	// the success first, twice (same event id), then the older event
	for _, b := range [][]byte{succeeded, succeeded, started} {
		if st, err := pw.fakes.GOVUK.Send(b, nil); err != nil || st != 200 {
			t.Fatalf("deliver: %d %v", st, err)
		}
	}
	if n := count(t, pw.App, "SELECT COUNT(*) FROM payment_events WHERE provider = 'govukpay'", nil); n != 2 {
		t.Fatalf("%d inbox rows, want 2 (one duplicate dropped)", n)
	}
	pw.process(t)
	pw.process(t)
	if s := pw.reload(t, fee).GetString("state"); s != payments.StatePaid {
		t.Fatalf("fee %s", s)
	}
	if pw.reload(t, att).GetString("state") != payments.AttemptSucceeded || pw.ledgerCredits(t, fee) != 1 || pw.paymentReceipts(t, fee) != 1 {
		t.Fatalf("attempt %s credits %d receipts %d", pw.reload(t, att).GetString("state"), pw.ledgerCredits(t, fee), pw.paymentReceipts(t, fee))
	}
	if n := count(t, pw.App, "SELECT COUNT(*) FROM payment_events WHERE status = 'processed'", nil); n != 2 {
		t.Fatalf("%d processed", n)
	}
	// the public timeline says it was paid (the request's payment event)
	if n := count(t, pw.App, "SELECT COUNT(*) FROM request_events WHERE request = {:r} AND public = true AND type = 'payment'", dbx.Params{"r": fee.GetString("request")}); n != 1 {
		t.Fatalf("%d payment events", n)
	}
}

func TestGOVUKPayWebhookRefusedOrParked(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, _ := pw.start(t)
	id := att.GetString("provider_ref")
	pw.fakes.GOVUK.Complete(id, "success")
	body := pw.fakes.GOVUK.Event(id, "CARD_PAYMENT_SUCCEEDED")
	wrong := "another-secret"
	send := func(b []byte, hdr map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, pw.api+"/api/payments/webhooks/govukpay", strings.NewReader(string(b)))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st, _ := pw.fakes.GOVUK.Send(body, &wrong); st != 401 {
		t.Fatalf("bad signature: %d", st)
	}
	if st := send(body, nil); st != 401 {
		t.Fatalf("no signature: %d", st)
	}
	big := append([]byte(`{"id":"x","pad":"`), []byte(strings.Repeat("a", payments.MaxWebhookBody))...)
	if st, _ := pw.fakes.GOVUK.Send(append(big, `"}`...), nil); st != 413 {
		t.Fatalf("body over the cap: %d", st)
	}
	if st, _ := pw.fakes.GOVUK.Send([]byte(`not json`), nil); st != 400 {
		t.Fatalf("malformed: %d", st)
	}
	if st, _ := pw.fakes.GOVUK.Send(pw.fakes.GOVUK.Event(id, "CARD_PAYMENT_TELEPORTED"), nil); st != 200 {
		t.Fatalf("unknown type: %d", st)
	}
	unknown := []byte(`{"id":"ev-unknown","event_type":"CARD_PAYMENT_SUCCEEDED","resource_id":"nosuchpayment","resource_type":"payment","resource":{}}`)
	if st, _ := pw.fakes.GOVUK.Send(unknown, nil); st != 200 {
		t.Fatalf("unknown payment: %d", st)
	}
	// the platform says a different amount was paid
	pw.fakes.GOVUK.SetAmount(id, int64(att.GetInt("amount"))+1)
	if st, _ := pw.fakes.GOVUK.Send(body, nil); st != 200 {
		t.Fatalf("valid: %d", st)
	}
	pw.process(t)
	if s := pw.reload(t, fee).GetString("state"); s != payments.StatePending || pw.ledgerCredits(t, fee) != 0 {
		t.Fatalf("fee %s, credits %d after a mismatched amount", s, pw.ledgerCredits(t, fee))
	}
	var reasons []string
	rows, _ := pw.App.FindRecordsByFilter("payment_events", "status = 'parked'", "reason", 0, 0)
	for _, r := range rows {
		reasons = append(reasons, r.GetString("reason"))
	}
	want := []string{"the platform reports", "unknown event type", "unknown payment"}
	if len(reasons) != 3 {
		t.Fatalf("parked %v", reasons)
	}
	for i, w := range want {
		if !strings.Contains(reasons[i], w) {
			t.Errorf("parked reason %q, want %q", reasons[i], w)
		}
	}
	// secret rotation: the server accepts the old and the new secret
	cfg := payments.PlatformsOf(pw.App)
	cfg.GOVUKPay.WebhookSecrets = []string{"govuk-webhook-secret-2", govSecret}
	payments.SetPlatforms(pw.App, cfg)
	pw.fakes.GOVUK.SetAmount(id, int64(att.GetInt("amount")))
	newSecret := "govuk-webhook-secret-2"
	for _, s := range []*string{nil, &newSecret} {
		if st, _ := pw.fakes.GOVUK.Send(pw.fakes.GOVUK.Event(id, "CARD_PAYMENT_CAPTURED"), s); st != 200 {
			t.Fatalf("during rotation: %d", st)
		}
	}
	pw.process(t)
	if s := pw.reload(t, fee).GetString("state"); s != payments.StatePaid || pw.ledgerCredits(t, fee) != 1 {
		t.Fatalf("after rotation: fee %s credits %d", s, pw.ledgerCredits(t, fee))
	}
}

func TestGOVUKPayPollerExpiresAbandoned(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, _ := pw.start(t)
	now := time.Now()
	// an hour later GOV.UK Pay still shows it in progress: nothing changes
	pw.fakes.SetClock(func() time.Time { return now.Add(60 * time.Minute) })
	if _, err := payments.PollAttempts(pw.App, now.Add(60*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s := pw.reload(t, att).GetString("state"); s != payments.AttemptRedirected {
		t.Fatalf("after 60 min: %s", s)
	}
	pw.fakes.SetClock(func() time.Time { return now.Add(91 * time.Minute) })
	rep, err := payments.PollAttempts(pw.App, now.Add(91*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	a := pw.reload(t, att)
	if a.GetString("state") != payments.AttemptExpired || a.GetString("failure_code") != "P0020" || rep[payments.ObsExpired] != 1 {
		t.Fatalf("after 91 min: %s %s %v", a.GetString("state"), a.GetString("failure_code"), rep)
	}
	if s := pw.reload(t, fee).GetString("state"); s != payments.StateDue {
		t.Fatalf("fee %s, want due again", s)
	}
	// a new attempt may start now (the live one ended)
	pw.fakes.SetClock(time.Now)
	if st, out := pw.post(t, "/api/payments/fees/"+fee.Id+"/attempts", testkit.Token(t, pw.CitizenA), `{}`); st != 200 || out["attempt"] == att.Id {
		t.Fatalf("new attempt: %d %v", st, out)
	}
}

func TestOneLiveAttemptPerFee(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, _ := pw.start(t)
	// starting again resumes the same attempt with a fresh next_url (single-use), no new payment
	st, out := pw.post(t, "/api/payments/fees/"+fee.Id+"/attempts", testkit.Token(t, pw.CitizenA), `{}`)
	if st != 200 || out["attempt"] != att.Id || pw.fakes.GOVUK.Count() != 1 {
		t.Fatalf("resume: %d %v, %d payments", st, out, pw.fakes.GOVUK.Count())
	}
	// the database refuses a second live attempt whatever the path
	_, err := pw.App.DB().NewQuery("INSERT INTO payment_attempts (id, fee, provider, state, token, currency) VALUES ('x2', {:f}, 'govukpay', 'created', 'tok2', 'GBP')").Bind(dbx.Params{"f": fee.Id}).Execute()
	if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("second live attempt: %v", err)
	}
	// who may start: the fee's citizen only
	for name, tok := range map[string]string{"citizenB": testkit.Token(t, pw.CitizenB), "anon": "", "clerk": testkit.Token(t, pw.ClerkRegistry)} {
		if st, _ := pw.post(t, "/api/payments/fees/"+fee.Id+"/attempts", tok, `{}`); st != 404 && st != 401 && st != 403 {
			t.Errorf("%s: %d", name, st)
		}
	}
	// the records API cannot write attempts
	if st, _ := pw.post(t, "/api/collections/payment_attempts/records", testkit.Token(t, pw.CitizenA), `{"fee":"`+fee.Id+`","provider":"govukpay","state":"succeeded","token":"t","currency":"GBP"}`); st/100 == 2 {
		t.Fatalf("records API created an attempt: %d", st)
	}
}

func TestSecondPaymentGoesToExceptions(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, _ := pw.start(t)
	id := att.GetString("provider_ref")
	pw.fakes.GOVUK.Complete(id, "success") // paid at GOV.UK Pay, not yet known here
	// the citizen also paid by bank transfer, booked first
	err := pw.App.RunInTransaction(func(tx core.App) error {
		f, err := tx.FindRecordById("fees", fee.Id)
		if err != nil {
			return err
		}
		_, err = payments.Book(tx, f, payments.Entry{Kind: payments.LedgerCredit, Amount: int64(f.GetInt("amount")), Currency: "GBP", SourceKey: "bank:test-1", Source: "statement", Method: "uk_fps"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := pw.fakes.GOVUK.Send(pw.fakes.GOVUK.Event(id, "CARD_PAYMENT_SUCCEEDED"), nil); st != 200 {
		t.Fatal(st)
	}
	pw.process(t)
	if pw.ledgerCredits(t, fee) != 1 {
		t.Fatalf("%d credits, want the first payment only", pw.ledgerCredits(t, fee))
	}
	exc, err := pw.App.FindFirstRecordByData("bank_entries", "entry_key", "platform:govukpay:"+id)
	if err != nil || exc.GetString("exception") != payments.ExcDuplicate || exc.GetString("outcome") != "exception" || exc.GetString("fee") != fee.Id {
		t.Fatalf("exception %v %v", exc, err)
	}
	// refund it through the platform: the exception is resolved, the ledger untouched
	sup := testkit.Token(t, pw.Supervisor)
	amt := payments.FormatAmount(int64(att.GetInt("amount")), "GBP")
	st, out := pw.post(t, "/api/payments/attempts/"+att.Id+"/refund", sup, `{"amount":"`+amt+`","note":"paid twice","key":"r1"}`)
	if st != 200 {
		t.Fatalf("refund: %d %v", st, out)
	}
	if pw.fakes.GOVUK.Refunded(id) != int64(att.GetInt("amount")) || pw.reload(t, exc).GetString("resolution") != "refund" {
		t.Fatalf("refunded %d, resolution %q", pw.fakes.GOVUK.Refunded(id), pw.reload(t, exc).GetString("resolution"))
	}
	if st, _ := pw.post(t, "/api/payments/attempts/"+att.Id+"/refund", testkit.Token(t, pw.CitizenA), `{"amount":"0.01","note":"x","key":"r2"}`); st != 403 {
		t.Fatalf("citizen refund: %d", st)
	}
}

func TestGOVUKPayRefundOptimisticConcurrency(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, _ := pw.start(t)
	id := att.GetString("provider_ref")
	pw.fakes.GOVUK.Complete(id, "success")
	pw.post(t, "/api/payments/return/"+att.GetString("token"), "", "")
	// a stale refund_amount_available is refused with 412 by the API
	req, _ := http.NewRequest(http.MethodPost, payments.PlatformsOf(pw.App).GOVUKPay.BaseURL+"/v1/payments/"+id+"/refunds", strings.NewReader(`{"amount":1,"refund_amount_available":1}`))
	req.Header.Set("Authorization", "Bearer "+govKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale availability: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	st, out := pw.post(t, "/api/payments/attempts/"+att.Id+"/refund", testkit.Token(t, pw.Supervisor), `{"amount":"0.01","note":"part","key":"k1"}`)
	if st != 200 || pw.fakes.GOVUK.Refunded(id) != 1 {
		t.Fatalf("refund: %d %v", st, out)
	}
	if n := count(t, pw.App, "SELECT COUNT(*) FROM fee_ledger WHERE fee = {:f} AND kind = 'refund'", dbx.Params{"f": fee.Id}); n != 1 {
		t.Fatalf("%d refund rows", n)
	}
}

func TestStripeCheckoutFromWebhooksOnly(t *testing.T) {
	pw := newPlatformWorld(t, "it", payments.KindStripe, false)
	fee, att, redirect := pw.start(t)
	id := att.GetString("provider_ref")
	if !strings.HasPrefix(id, "cs_") || !strings.Contains(redirect, "/stripe/pay/") {
		t.Fatalf("session %s %s", id, redirect)
	}
	// the citizen pays by a delayed method and lands on the return page
	pw.fakes.Stripe.Settle(id, "delayed")
	if _, out := pw.post(t, "/api/payments/return/"+att.GetString("token"), "", ""); out["state"] != payments.AttemptRedirected {
		t.Fatalf("return proves nothing: %v", out)
	}
	// a stale signature, and a signature by an unknown secret, are refused
	completed := pw.fakes.Stripe.Event(id, "checkout.session.completed")
	if st, _ := pw.fakes.Stripe.Send(completed, -301*time.Second, nil); st != 400 {
		t.Fatalf("stale: %d", st)
	}
	if st, _ := pw.fakes.Stripe.Send(completed, 0, []string{"whsec_other"}); st != 401 {
		t.Fatalf("unknown secret: %d", st)
	}
	// during a rotation the header carries two v1 values: one matching is enough
	if st, _ := pw.fakes.Stripe.Send(completed, 0, []string{"whsec_next", strSecret}); st != 200 {
		t.Fatalf("rotation: %d", st)
	}
	pw.process(t)
	if s := pw.reload(t, att).GetString("state"); s != payments.AttemptRedirected || pw.ledgerCredits(t, fee) != 0 {
		t.Fatalf("delayed method booked early: %s", s)
	}
	pw.fakes.Stripe.Settle(id, "async_ok")
	if st, _ := pw.fakes.Stripe.Send(pw.fakes.Stripe.Event(id, "checkout.session.async_payment_succeeded"), 0, nil); st != 200 {
		t.Fatal(st)
	}
	pw.process(t)
	if s := pw.reload(t, fee).GetString("state"); s != payments.StatePaid || pw.ledgerCredits(t, fee) != 1 || pw.paymentReceipts(t, fee) != 1 {
		t.Fatalf("fee %s credits %d", s, pw.ledgerCredits(t, fee))
	}
}

func TestStripeExpiryAndAsyncFailure(t *testing.T) {
	pw := newPlatformWorld(t, "it", payments.KindStripe, false)
	fee, att, _ := pw.start(t)
	id := att.GetString("provider_ref")
	pw.fakes.Stripe.Settle(id, "expire")
	if st, _ := pw.fakes.Stripe.Send(pw.fakes.Stripe.Event(id, "checkout.session.expired"), 0, nil); st != 200 {
		t.Fatal(st)
	}
	pw.process(t)
	if s := pw.reload(t, att).GetString("state"); s != payments.AttemptExpired || pw.reload(t, fee).GetString("state") != payments.StateDue {
		t.Fatalf("expired: %s, fee %s", s, pw.reload(t, fee).GetString("state"))
	}
	st, out := pw.post(t, "/api/payments/fees/"+fee.Id+"/attempts", testkit.Token(t, pw.CitizenA), `{}`)
	if st != 200 {
		t.Fatalf("second attempt: %d %v", st, out)
	}
	att2, _ := pw.App.FindRecordById("payment_attempts", out["attempt"].(string))
	id2 := att2.GetString("provider_ref")
	pw.fakes.Stripe.Settle(id2, "delayed")
	pw.fakes.Stripe.Settle(id2, "async_fail")
	if st, _ := pw.fakes.Stripe.Send(pw.fakes.Stripe.Event(id2, "checkout.session.async_payment_failed"), 0, nil); st != 200 {
		t.Fatal(st)
	}
	pw.process(t)
	if s := pw.reload(t, att2).GetString("state"); s != payments.AttemptFailed || pw.ledgerCredits(t, fee) != 0 {
		t.Fatalf("async failure: %s", s)
	}
}

func TestPagoPANoticePositionAndReceipts(t *testing.T) {
	pw := newPlatformWorld(t, "it", "", true)
	req := pw.World.FileCertificate(t, pw.CitizenA)
	fee := feeOf(t, pw.App, req.Id)
	iuv := fee.GetString("reference")
	if _, err := payments.IUVValidate(iuv); err != nil || len(iuv) != 17 || fee.GetString("rail") != payments.KindPagoPA {
		t.Fatalf("fee reference %q rail %s: %v", iuv, fee.GetString("rail"), err)
	}
	var in payments.Instruction
	if err := fee.UnmarshalJSONField("instruction", &in); err != nil {
		t.Fatal(err)
	}
	wantQR := "PAGOPA|002|3" + iuv + "|00856930102|" + fee.GetString("amount")
	if in.QR != wantQR || in.QRKind != "pagopa" {
		t.Fatalf("QR %q, want %q", in.QR, wantQR)
	}
	att, err := pw.App.FindFirstRecordByData("payment_attempts", "provider_ref", iuv)
	if err != nil || !payments.AttemptIsLive(att.GetString("state")) {
		t.Fatalf("attempt %v %v", att, err) // created; redirected once the worker published it
	}
	// publishing twice (a retry after a timeout) makes one position (client-chosen ids, 409)
	for i := 0; i < 2; i++ {
		if _, err := payments.PollAttempts(pw.App, time.Now()); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if pw.reload(t, att).GetString("state") != payments.AttemptRedirected {
				t.Fatal("the position was not published")
			}
			// as if the answer had been lost: published again with the same ids
			_, _ = pw.App.DB().NewQuery("UPDATE payment_attempts SET state = 'created' WHERE id = {:id}").Bind(dbx.Params{"id": att.Id}).Execute()
		}
	}
	if pw.fakes.PagoPA.Count() != 1 || pw.reload(t, att).GetString("state") != payments.AttemptRedirected {
		t.Fatalf("%d positions, attempt %s", pw.fakes.PagoPA.Count(), pw.reload(t, att).GetString("state"))
	}
	// a KO receipt changes nothing; a bad token is refused
	ko := pw.fakes.PagoPA.Pay(iuv, "KO", "rcpt-ko")
	if st, _ := pw.fakes.PagoPA.Send(ko, "wrong"); st != 401 {
		t.Fatalf("bad token: %d", st)
	}
	if st, _ := pw.fakes.PagoPA.Send(ko, ""); st != 200 {
		t.Fatal(st)
	}
	pw.process(t)
	if pw.reload(t, fee).GetString("state") != payments.StateDue {
		t.Fatal("a KO receipt changed the fee")
	}
	ok := pw.fakes.PagoPA.Pay(iuv, "OK", "rcpt-1")
	st, out := pw.post(t, "/api/payments/webhooks/pagopa", "Bearer "+ppToken, string(ok))
	if st != 200 || out["outcome"] != "OK" {
		t.Fatalf("receipt: %d %v", st, out)
	}
	pw.process(t)
	f := pw.reload(t, fee)
	if f.GetString("state") != payments.StatePaid || pw.ledgerCredits(t, fee) != 1 || pw.paymentReceipts(t, fee) != 1 {
		t.Fatalf("fee %s credits %d", f.GetString("state"), pw.ledgerCredits(t, fee))
	}
	if n := count(t, pw.App, "SELECT COUNT(*) FROM fee_ledger WHERE fee = {:f} AND evidence = 'rcpt-1' AND method = 'pagopa'", dbx.Params{"f": fee.Id}); n != 1 {
		t.Fatal("the ledger does not carry the receipt id")
	}
	// a second receipt for the same notice: acknowledged, nothing changes
	again := pw.fakes.PagoPA.Pay(iuv, "OK", "rcpt-2")
	if st, _ := pw.fakes.PagoPA.Send(again, ""); st != 200 {
		t.Fatal(st)
	}
	pw.process(t)
	if pw.ledgerCredits(t, fee) != 1 || pw.paymentReceipts(t, fee) != 1 || count(t, pw.App, "SELECT COUNT(*) FROM bank_entries", nil) != 0 {
		t.Fatal("a second receipt for the notice changed something")
	}
	// a receipt for a notice of another creditor is refused
	bad := strings.Replace(string(ok), "00856930102", "00000000000", -1)
	if st, _ := pw.fakes.PagoPA.Send([]byte(bad), ""); st != 400 {
		t.Fatalf("other creditor: %d", st)
	}
}

func TestPlatformsRouteShowsModesWithoutSecrets(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	resp, err := http.Get(pw.api + "/api/payments/platforms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Card  map[string]map[string]string `json:"card"`
		Modes map[string]string            `json:"modes"`
	}
	raw := new(strings.Builder)
	_ = json.NewDecoder(resp.Body).Decode(&out)
	b, _ := json.Marshal(out)
	raw.Write(b)
	if out.Card["GBP"]["provider"] != payments.KindGOVUKPay || out.Card["GBP"]["mode"] != payments.ModeTest || out.Modes[payments.KindGOVUKPay] != payments.ModeTest {
		t.Fatalf("platforms %s", raw)
	}
	for _, secret := range []string{govKey, govSecret, strKey, ppToken} {
		if strings.Contains(raw.String(), secret) {
			t.Fatalf("a secret is shown: %s", raw)
		}
	}
}

func TestPlatformRecordsAccessMatrix(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	_, att, _ := pw.start(t)
	pw.fakes.GOVUK.Complete(att.GetString("provider_ref"), "success")
	if st, _ := pw.fakes.GOVUK.Send(pw.fakes.GOVUK.Event(att.GetString("provider_ref"), "CARD_PAYMENT_SUCCEEDED"), nil); st != 200 {
		t.Fatal(st)
	}
	tokens := map[string]string{
		"anon": "", "citizenA": testkit.Token(t, pw.CitizenA), "citizenB": testkit.Token(t, pw.CitizenB),
		"clerkRegistry": testkit.Token(t, pw.ClerkRegistry), "clerkRoads": testkit.Token(t, pw.ClerkRoads),
		"supervisor": testkit.Token(t, pw.Supervisor),
	}
	// who sees the attempt (the residence certificate is the registry's) and the inbox
	want := map[string][2]int{ // attempts, events
		"anon": {0, 0}, "citizenA": {1, 0}, "citizenB": {0, 0}, "clerkRegistry": {1, 0}, "clerkRoads": {0, 0}, "supervisor": {1, 1},
	}
	for who, tok := range tokens {
		for i, coll := range []string{"payment_attempts", "payment_events"} {
			req, _ := http.NewRequest(http.MethodGet, pw.api+"/api/collections/"+coll+"/records", nil)
			if tok != "" {
				req.Header.Set("Authorization", tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Items []map[string]any `json:"items"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if len(out.Items) != want[who][i] {
				t.Errorf("%s lists %d %s, want %d", who, len(out.Items), coll, want[who][i])
			}
			for _, it := range out.Items {
				if _, ok := it["token"]; ok {
					t.Errorf("%s sees an attempt's token", who)
				}
				if _, ok := it["body"]; ok {
					t.Errorf("%s sees an event's body", who)
				}
			}
		}
	}
}

func TestPollerEndsAttemptNeverBegun(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	req := pw.World.FileCertificate(t, pw.CitizenA)
	fee := feeOf(t, pw.App, req.Id)
	// a crash between the attempt's commit and the platform call leaves it created, without a payment id
	col, _ := pw.App.FindCollectionByNameOrId("payment_attempts")
	att := core.NewRecord(col)
	att.Load(map[string]any{"fee": fee.Id, "provider": "govukpay", "state": "created", "token": strings.Repeat("ab", 24), "currency": "GBP", "amount": fee.GetInt("amount")})
	if err := pw.App.Save(att); err == nil {
		t.Fatal("a write outside payments/ (the dashboard) created an attempt")
	}
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000Z")
	if _, err := pw.App.DB().NewQuery("INSERT INTO payment_attempts (id, fee, provider, state, token, currency, amount, created, updated) VALUES ('neverbegun00001', {:f}, 'govukpay', 'created', {:t}, 'GBP', {:a}, {:n}, {:n})").
		Bind(dbx.Params{"f": fee.Id, "t": strings.Repeat("ab", 24), "a": fee.GetInt("amount"), "n": now}).Execute(); err != nil {
		t.Fatal(err)
	}
	att, _ = pw.App.FindRecordById("payment_attempts", "neverbegun00001")
	if _, err := payments.PollAttempts(pw.App, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := pw.reload(t, att).GetString("state"); s != payments.AttemptCreated {
		t.Fatalf("a fresh attempt ended: %s", s)
	}
	if _, err := payments.PollAttempts(pw.App, time.Now().Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	a := pw.reload(t, att)
	if a.GetString("state") != payments.AttemptExpired || a.GetString("failure_code") != "never_begun" || pw.fakes.GOVUK.Count() != 0 {
		t.Fatalf("attempt %s %s", a.GetString("state"), a.GetString("failure_code"))
	}
}

func TestCardPaymentCancelledWhenFeePaidOtherwise(t *testing.T) {
	pw := newPlatformWorld(t, "en", payments.KindGOVUKPay, false)
	fee, att, _ := pw.start(t)
	err := pw.App.RunInTransaction(func(tx core.App) error {
		f, err := tx.FindRecordById("fees", fee.Id)
		if err != nil {
			return err
		}
		_, err = payments.Book(tx, f, payments.Entry{Kind: payments.LedgerCredit, Amount: int64(f.GetInt("amount")), Currency: "GBP", SourceKey: "bank:test-2", Source: "statement", Method: "uk_fps"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := payments.PollAttempts(pw.App, time.Now()); err != nil {
		t.Fatal(err)
	}
	a := pw.reload(t, att)
	if a.GetString("state") != payments.AttemptCancelled || a.GetString("failure_code") != "P0040" {
		t.Fatalf("attempt %s %s", a.GetString("state"), a.GetString("failure_code"))
	}
	// the citizen can no longer pay it at GOV.UK Pay: no second payment, no exception
	pw.fakes.GOVUK.Complete(att.GetString("provider_ref"), "success")
	if _, err := payments.PollAttempts(pw.App, time.Now()); err != nil {
		t.Fatal(err)
	}
	if pw.ledgerCredits(t, fee) != 1 || count(t, pw.App, "SELECT COUNT(*) FROM bank_entries", nil) != 0 || pw.reload(t, fee).GetString("state") != payments.StatePaid {
		t.Fatal("a cancelled card payment changed the ledger")
	}
}

func TestStripeSessionExpiredWhenFeeWaived(t *testing.T) {
	pw := newPlatformWorld(t, "it", payments.KindStripe, false)
	fee, att, _ := pw.start(t)
	st, out := pw.post(t, "/api/payments/fees/"+fee.Id+"/waive", testkit.Token(t, pw.Supervisor), `{"reason":"hardship"}`)
	if st != 200 {
		t.Fatalf("waive: %d %v", st, out)
	}
	if _, err := payments.PollAttempts(pw.App, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := pw.reload(t, att).GetString("state"); s != payments.AttemptExpired {
		t.Fatalf("attempt %s, want expired at Stripe", s)
	}
	if s := pw.reload(t, fee).GetString("state"); s != payments.StateWaived {
		t.Fatalf("fee %s", s)
	}
}
