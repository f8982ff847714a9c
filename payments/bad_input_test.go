package payments_test

import (
	"strings"
	"testing"

	"civicdesk/city"
	"civicdesk/payments"
	"civicdesk/testkit"
	"civicdesk/workflow"
)

// Issue #14's "Bad input" list, each through the path it arrives by, with
// an error that names what is wrong (TestImportRefusesBadInput covers the
// statement's XML itself: not camt, bombs, entities, versions).
func TestBadInputNamesWhatIsWrong(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.FileCertificate(t, w.CitizenA)
	fee := feeOf(t, w.App, req.Id)
	sup := testkit.Token(t, w.Supervisor)

	t.Run("a wrong IBAN", func(t *testing.T) {
		// the statement's account: check digits (an IBAN that is valid but not the city's is refused too)
		bad := demoIBAN[:len(demoIBAN)-1] + "7"
		_, err := payments.Import(w.App, strings.NewReader(strings.ReplaceAll(oneLine(fee.GetString("reference"), "0.52", "IB-1"), demoIBAN, bad)), "x.xml", workflow.System)
		if err == nil || !strings.Contains(err.Error(), "not a valid IBAN") || !strings.Contains(err.Error(), "bad check digit") || !strings.Contains(err.Error(), bad) {
			t.Fatalf("statement for %s: %v", bad, err)
		}
		// the city's configuration stops the server at start
		cfg := city.PaymentProfiles["et"]
		r := cfg.Rails["EUR"]
		r.IBAN = "EE382200221020145686"
		cfg.Rails = map[string]city.Rail{"EUR": r}
		if err := payments.CheckConfig(cfg); err == nil || !strings.Contains(err.Error(), "IBAN") || !strings.Contains(err.Error(), "bad check digit") {
			t.Fatalf("config with a wrong IBAN: %v", err)
		}
		for lang, p := range city.PaymentProfiles {
			if err := payments.CheckConfig(p); err != nil {
				t.Errorf("demo profile %s: %v", lang, err)
			}
		}
	})

	t.Run("a wrong Bankgiro number", func(t *testing.T) {
		cfg := city.PaymentProfiles["sv"]
		r := cfg.Rails["SEK"]
		r.Bankgiro = "5050-1056"
		cfg.Rails = map[string]city.Rail{"SEK": r}
		if err := payments.CheckConfig(cfg); err == nil || !strings.Contains(err.Error(), "bankgiro number") || !strings.Contains(err.Error(), "bad check digit") {
			t.Fatalf("config with a wrong Bankgiro number: %v", err)
		}
	})

	t.Run("more decimals than the currency has", func(t *testing.T) {
		_, err := payments.Import(w.App, strings.NewReader(oneLine(fee.GetString("reference"), "0.525", "DEC-1")), "x.xml", workflow.System)
		if err == nil || !strings.Contains(err.Error(), "0.525") || !strings.Contains(err.Error(), "EUR has 2 decimals") {
			t.Fatalf("statement amount 0.525: %v", err)
		}
		r := w.Do(t, "POST", "/api/payments/fees/"+fee.Id+"/refund", sup, `{"amount":"0.005","note":"x"}`)
		if r.Status != 400 || !strings.Contains(r.Body, `"amount"`) || !strings.Contains(r.Body, "2 decimals") {
			t.Fatalf("refund of 0.005: %d %s", r.Status, r.Body)
		}
	})

	t.Run("a reference with a bad check digit", func(t *testing.T) {
		good := fee.GetString("reference") // RF + 2 check digits + base
		bad := good[:2] + map[bool]string{true: "01", false: "02"}[good[2:4] != "01"] + good[4:]
		res, err := payments.Import(w.App, strings.NewReader(oneLine(bad, "0.52", "CHK-1")), "x.xml", workflow.System)
		if err != nil || len(res.Items) != 1 {
			t.Fatalf("import: %+v %v", res, err)
		}
		it := res.Items[0]
		if it.Exception != payments.ExcUnknown || it.Fee != "" || !strings.Contains(it.Detail, "bad check digit") || !strings.Contains(it.Detail, bad) {
			t.Fatalf("line with reference %s: %+v", bad, it)
		}
		if s := state(t, w.App, fee); s != payments.StateDue {
			t.Fatalf("a bad reference paid the fee: %s", s)
		}
	})

	t.Run("a fee on a service without a currency", func(t *testing.T) {
		r := w.Do(t, "PATCH", "/api/collections/services/records/"+w.Services["residence_certificate"], testkit.Token(t, w.Superuser), `{"currency":""}`)
		if r.Status != 400 || !strings.Contains(r.Body, `"currency"`) || !strings.Contains(r.Body, "ISO 4217 currency") {
			t.Fatalf("service without a currency: %d %s", r.Status, r.Body)
		}
	})
}
