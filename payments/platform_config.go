package payments

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// Platform kinds (the provider kinds of the payment platforms).
const (
	KindPagoPA   = "pagopa"
	KindGOVUKPay = "govukpay"
	KindStripe   = "stripe"
)

// Modes of a platform account.
const (
	ModeTest = "test"
	ModeLive = "live"
)

// PlatformConfig is how the city reaches its payment platforms. It comes
// from the environment only (docs/payments.md "Platforms"): keys and secrets
// are never stored in the database.
type PlatformConfig struct {
	// Card is the card platform per currency (govukpay or stripe): the
	// citizen app shows a "pay by card" button for fees in that currency.
	Card map[string]string

	GOVUKPay GOVUKPayConfig
	Stripe   StripeConfig
	PagoPA   PagoPAConfig

	// PublicURL is where the citizen app lives (return URLs point at it).
	PublicURL string
}

// GOVUKPayConfig is a GOV.UK Pay service account.
type GOVUKPayConfig struct {
	BaseURL string // https://publicapi.payments.service.gov.uk
	APIKey  string // api_test_… or api_live_…: the key chooses the mode
	// WebhookSecrets: the current signing secret, then the previous one
	// while a rotation is under way (either verifies).
	WebhookSecrets []string
}

// StripeConfig is a Stripe account.
type StripeConfig struct {
	BaseURL        string // https://api.stripe.com
	SecretKey      string // sk_test_… or sk_live_…
	WebhookSecrets []string
}

// PagoPAConfig is the creditor body's access to the GPD debt-position API
// and the shared secret of the receipt endpoint.
type PagoPAConfig struct {
	BaseURL string // https://api.platform.pagopa.it/gpd/debt-positions-service/v1 (UAT: api.uat.platform.pagopa.it)
	APIKey  string // Ocp-Apim-Subscription-Key
	// ReceiptToken authenticates receipts (paSendRT) posted to civicdesk by
	// the city's pagoPA intermediary.
	ReceiptToken string
	Live         bool
	// CheckoutURL is where the citizen app sends a citizen to pay a notice
	// online ({notice} is replaced by the notice number), e.g. pagoPA's checkout.
	CheckoutURL string
}

// Mode reports test or live for a platform kind ("" when not configured).
func (c PlatformConfig) Mode(kind string) string {
	switch kind {
	case KindGOVUKPay:
		if c.GOVUKPay.APIKey == "" {
			return ""
		}
		if strings.HasPrefix(c.GOVUKPay.APIKey, "api_live_") {
			return ModeLive
		}
	case KindStripe:
		if c.Stripe.SecretKey == "" {
			return ""
		}
		if strings.HasPrefix(c.Stripe.SecretKey, "sk_live_") || strings.HasPrefix(c.Stripe.SecretKey, "rk_live_") {
			return ModeLive
		}
	case KindPagoPA:
		if c.PagoPA.BaseURL == "" {
			return ""
		}
		if c.PagoPA.Live {
			return ModeLive
		}
	default:
		return ""
	}
	return ModeTest
}

// PlatformConfigFromLookup reads the CIVICDESK_GOVUKPAY_*, CIVICDESK_STRIPE_*,
// CIVICDESK_PAGOPA_* and CIVICDESK_CARD_PLATFORM variables.
func PlatformConfigFromLookup(lookup func(string) (string, bool)) (PlatformConfig, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	list := func(name string) []string {
		var out []string
		for _, p := range strings.Split(get(name), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	c := PlatformConfig{
		Card: map[string]string{},
		GOVUKPay: GOVUKPayConfig{
			BaseURL: get("CIVICDESK_GOVUKPAY_URL"), APIKey: get("CIVICDESK_GOVUKPAY_API_KEY"),
			WebhookSecrets: list("CIVICDESK_GOVUKPAY_WEBHOOK_SECRETS"),
		},
		Stripe: StripeConfig{
			BaseURL: get("CIVICDESK_STRIPE_URL"), SecretKey: get("CIVICDESK_STRIPE_SECRET_KEY"),
			WebhookSecrets: list("CIVICDESK_STRIPE_WEBHOOK_SECRETS"),
		},
		PagoPA: PagoPAConfig{
			BaseURL: get("CIVICDESK_PAGOPA_GPD_URL"), APIKey: get("CIVICDESK_PAGOPA_API_KEY"),
			ReceiptToken: get("CIVICDESK_PAGOPA_RECEIPT_TOKEN"), Live: get("CIVICDESK_PAGOPA_MODE") == ModeLive,
			CheckoutURL: get("CIVICDESK_PAGOPA_CHECKOUT_URL"),
		},
		PublicURL: strings.TrimRight(get("CIVICDESK_PUBLIC_URL"), "/"),
	}
	if c.GOVUKPay.BaseURL == "" && c.GOVUKPay.APIKey != "" {
		c.GOVUKPay.BaseURL = "https://publicapi.payments.service.gov.uk"
	}
	if c.Stripe.BaseURL == "" && c.Stripe.SecretKey != "" {
		c.Stripe.BaseURL = "https://api.stripe.com"
	}
	for _, u := range []struct{ name, v string }{
		{"CIVICDESK_GOVUKPAY_URL", c.GOVUKPay.BaseURL}, {"CIVICDESK_STRIPE_URL", c.Stripe.BaseURL}, {"CIVICDESK_PAGOPA_GPD_URL", c.PagoPA.BaseURL},
	} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || p.Host == "" || (p.Scheme != "https" && !isLoopback(p.Hostname())) {
			return c, fmt.Errorf("%s %q: want an https URL (plain http only on loopback, for the fakes)", u.name, u.v)
		}
	}
	// CIVICDESK_CARD_PLATFORM=govukpay or stripe[:CUR,CUR]: the card button
	if v := get("CIVICDESK_CARD_PLATFORM"); v != "" {
		kind, curs, _ := strings.Cut(v, ":")
		var def []string
		switch kind {
		case KindGOVUKPay:
			def = []string{"GBP"}
			if c.GOVUKPay.APIKey == "" || len(c.GOVUKPay.WebhookSecrets) == 0 {
				return c, fmt.Errorf("CIVICDESK_CARD_PLATFORM=govukpay needs CIVICDESK_GOVUKPAY_API_KEY and CIVICDESK_GOVUKPAY_WEBHOOK_SECRETS")
			}
		case KindStripe:
			def = []string{"EUR"}
			if c.Stripe.SecretKey == "" || len(c.Stripe.WebhookSecrets) == 0 {
				return c, fmt.Errorf("CIVICDESK_CARD_PLATFORM=stripe needs CIVICDESK_STRIPE_SECRET_KEY and CIVICDESK_STRIPE_WEBHOOK_SECRETS")
			}
		default:
			return c, fmt.Errorf("CIVICDESK_CARD_PLATFORM %q: want govukpay or stripe (optionally :CUR,CUR)", v)
		}
		if curs != "" {
			def = strings.Split(strings.ToUpper(curs), ",")
		}
		for _, cur := range def {
			if _, err := CurrencyExponent(cur); err != nil {
				return c, fmt.Errorf("CIVICDESK_CARD_PLATFORM: %w", err)
			}
			if kind == KindGOVUKPay && cur != "GBP" {
				return c, fmt.Errorf("CIVICDESK_CARD_PLATFORM: GOV.UK Pay takes GBP only, not %s", cur)
			}
			c.Card[cur] = kind
		}
	}
	return c, nil
}

func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

const platformStoreKey = "civicdesk.payments.platforms"

// SetPlatforms makes cfg app's platform configuration (Register reads the
// environment; tests point it at the fakes).
func SetPlatforms(app core.App, cfg PlatformConfig) {
	app.Store().Set(platformStoreKey, cfg)
}

// PlatformsOf returns app's platform configuration.
func PlatformsOf(app core.App) PlatformConfig {
	if v, ok := app.Store().GetOk(platformStoreKey); ok {
		if c, ok := v.(PlatformConfig); ok {
			return c
		}
	}
	c, err := PlatformConfigFromLookup(os.LookupEnv)
	if err != nil {
		app.Logger().Error("payments: platform configuration", "error", err.Error())
	}
	app.Store().Set(platformStoreKey, c)
	return c
}

// platform returns the adapter of a platform kind, configured for app.
func platform(app core.App, kind string) (Platform, error) {
	cfg := PlatformsOf(app)
	switch kind {
	case KindGOVUKPay:
		if cfg.GOVUKPay.APIKey == "" {
			return nil, fmt.Errorf("GOV.UK Pay is not configured (CIVICDESK_GOVUKPAY_API_KEY)")
		}
		return newGOVUKPay(cfg.GOVUKPay), nil
	case KindStripe:
		if cfg.Stripe.SecretKey == "" {
			return nil, fmt.Errorf("stripe is not configured (CIVICDESK_STRIPE_SECRET_KEY)")
		}
		return newStripe(cfg.Stripe), nil
	case KindPagoPA:
		if cfg.PagoPA.BaseURL == "" {
			return nil, fmt.Errorf("pagoPA is not configured (CIVICDESK_PAGOPA_GPD_URL)")
		}
		return newPagoPA(cfg.PagoPA, pagoPARail(app)), nil
	}
	return nil, fmt.Errorf("no payment platform %q", kind)
}
