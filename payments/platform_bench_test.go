package payments_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"

	"civicdesk/city"
	"civicdesk/payments"
	"civicdesk/testkit"
)

func signedGOVUK(i int) ([]byte, string) {
	body := []byte(fmt.Sprintf(`{"id":"bench-%d","api_version":1,"event_type":"CARD_PAYMENT_SUCCEEDED","resource_id":"pay%d","resource_type":"payment","resource":{"amount":3500,"state":{"status":"success","finished":true}}}`, i, i))
	m := hmac.New(sha256.New, []byte(govSecret))
	m.Write(body)
	return body, hex.EncodeToString(m.Sum(nil))
}

// BenchmarkWebhookVerify is the baseline: the Pay-Signature check alone.
func BenchmarkWebhookVerify(b *testing.B) {
	body, sig := signedGOVUK(1)
	for i := 0; i < b.N; i++ {
		if !payments.VerifyPaySignature(body, sig, []string{govSecret}) {
			b.Fatal("signature")
		}
	}
}

// BenchmarkWebhookStore is one delivery as the route handles it: read with
// the cap, verify, deduplicate and commit to the inbox (synchronous=FULL
// is the server's; the test app's SQLite settings are PocketBase's defaults).
func BenchmarkWebhookStore(b *testing.B) {
	cfg := city.Default()
	cfg.Payments = city.PaymentProfiles["en"]
	w := testkit.NewApp(b, testkit.WithCity(cfg))
	payments.SetPlatforms(w.App, payments.PlatformConfig{GOVUKPay: payments.GOVUKPayConfig{BaseURL: "http://127.0.0.1:9", APIKey: govKey, WebhookSecrets: []string{govSecret}}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body, sig := signedGOVUK(i)
		r, _ := http.NewRequest(http.MethodPost, "/api/payments/webhooks/govukpay", bytes.NewReader(body))
		r.Header.Set("Pay-Signature", sig)
		if n, err := payments.ReceiveWebhook(w.App, payments.KindGOVUKPay, r); err != nil || n != 1 {
			b.Fatal(n, err)
		}
	}
}
