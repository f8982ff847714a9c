package payments_test

import (
	"strings"
	"testing"

	"civicdesk/payments"
)

func TestPlatformConfigFromEnvironment(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	gov := []string{"CIVICDESK_GOVUKPAY_API_KEY", "api_live_abc", "CIVICDESK_GOVUKPAY_WEBHOOK_SECRETS", "a, b"}
	for _, tc := range []struct {
		name    string
		lookup  func(string) (string, bool)
		errPart string
		check   func(t *testing.T, c payments.PlatformConfig)
	}{
		{"nothing configured", env(), "", func(t *testing.T, c payments.PlatformConfig) {
			if c.Mode(payments.KindGOVUKPay) != "" || c.Mode(payments.KindStripe) != "" || c.Mode(payments.KindPagoPA) != "" || len(c.Card) != 0 {
				t.Fatalf("%+v", c)
			}
		}},
		{"GOV.UK Pay live, the key decides; default URL; two secrets", env(append(gov, "CIVICDESK_CARD_PLATFORM", "govukpay")...), "", func(t *testing.T, c payments.PlatformConfig) {
			if c.Mode(payments.KindGOVUKPay) != payments.ModeLive || c.GOVUKPay.BaseURL != "https://publicapi.payments.service.gov.uk" || len(c.GOVUKPay.WebhookSecrets) != 2 || c.Card["GBP"] != payments.KindGOVUKPay {
				t.Fatalf("%+v", c)
			}
		}},
		{"stripe test for two currencies", env("CIVICDESK_STRIPE_SECRET_KEY", "sk_test_1", "CIVICDESK_STRIPE_WEBHOOK_SECRETS", "whsec", "CIVICDESK_CARD_PLATFORM", "stripe:eur,sek"), "", func(t *testing.T, c payments.PlatformConfig) {
			if c.Mode(payments.KindStripe) != payments.ModeTest || c.Card["EUR"] != payments.KindStripe || c.Card["SEK"] != payments.KindStripe {
				t.Fatalf("%+v", c)
			}
		}},
		{"card platform without its key", env("CIVICDESK_CARD_PLATFORM", "govukpay"), "needs CIVICDESK_GOVUKPAY_API_KEY", nil},
		{"GOV.UK Pay in euros", env(append(gov, "CIVICDESK_CARD_PLATFORM", "govukpay:EUR")...), "GBP only", nil},
		{"unknown platform", env("CIVICDESK_CARD_PLATFORM", "paypal"), "want govukpay or stripe", nil},
		{"plain http off loopback", env("CIVICDESK_PAGOPA_GPD_URL", "http://api.uat.platform.pagopa.it/gpd"), "https", nil},
		{"pagoPA live", env("CIVICDESK_PAGOPA_GPD_URL", "https://api.platform.pagopa.it/gpd/debt-positions-service/v1", "CIVICDESK_PAGOPA_MODE", "live"), "", func(t *testing.T, c payments.PlatformConfig) {
			if c.Mode(payments.KindPagoPA) != payments.ModeLive {
				t.Fatalf("%+v", c)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := payments.PlatformConfigFromLookup(tc.lookup)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("error %v, want %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestAttemptStatesOnlyMoveForward(t *testing.T) {
	all := []string{payments.AttemptCreated, payments.AttemptRedirected, payments.AttemptSucceeded, payments.AttemptFailed, payments.AttemptCancelled, payments.AttemptExpired}
	final := map[string]bool{payments.AttemptSucceeded: true, payments.AttemptFailed: true, payments.AttemptCancelled: true, payments.AttemptExpired: true}
	for _, from := range all {
		for _, to := range all {
			want := from == to || (!final[from] && (final[to] || (from == payments.AttemptCreated && to == payments.AttemptRedirected)))
			if got := payments.AttemptCanMove(from, to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
	}
	if payments.AttemptCanMove("bogus", payments.AttemptSucceeded) {
		t.Error("an unknown state moved")
	}
}
