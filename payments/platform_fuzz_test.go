package payments

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParsePaSendRT feeds arbitrary receipts to the pagoPA receipt parser:
// an accepted one names a valid notice whose IUV is its creditorReferenceId.
func FuzzParsePaSendRT(f *testing.F) {
	f.Add([]byte(`{"receipt":{"receiptId":"r1","noticeNumber":"301000202600000166","fiscalCode":"00856930102","outcome":"OK","creditorReferenceId":"01000202600000166","paymentAmount":"0.52","paymentDateTime":"2026-12-01T10:00:00Z"}}`))
	f.Add([]byte(`{"receipt":{"receiptId":"r1","noticeNumber":"301000202600000167","fiscalCode":"00856930102","outcome":"KO","creditorReferenceId":"01000202600000167"}}`))
	f.Add([]byte(`{"receipt":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rt, err := ParsePaSendRT(data, "00856930102")
		if err != nil {
			return
		}
		iuv, err := NoticeValidate(rt.Receipt.NoticeNumber)
		if err != nil || iuv != rt.Receipt.CreditorReferenceID {
			t.Fatalf("accepted a receipt with notice %q / IUV %q", rt.Receipt.NoticeNumber, rt.Receipt.CreditorReferenceID)
		}
		if rt.Receipt.Outcome == "OK" {
			if _, err := ParseAmount(rt.Receipt.PaymentAmount, "EUR"); err != nil {
				t.Fatalf("accepted amount %q", rt.Receipt.PaymentAmount)
			}
		}
	})
}

// FuzzStripeSignature: any header either verifies (then one v1 is the HMAC
// of t.body with the secret) or is refused; never a panic.
func FuzzStripeSignature(f *testing.F) {
	now := time.Unix(1764600000, 0)
	body := []byte(`{"id":"evt_1"}`)
	m := hmac.New(sha256.New, []byte("whsec_x"))
	m.Write([]byte("1764600000." + string(body)))
	good := hex.EncodeToString(m.Sum(nil))
	f.Add("t=1764600000,v1="+good, body)
	f.Add("t=1764600000,v1=00,v1="+good+",v0=ab", body)
	f.Add("t=,v1=", body)
	f.Add("t=99999999999999999999,v1="+good, body)
	f.Add("t=1764600000,v1="+strings.ToUpper(good), body) // CI's fuzzer found upper-case hex: it verifies, as in stripe-go
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if err := VerifyStripeSignature(body, header, []string{"whsec_x"}, now, stripeTolerance); err != nil {
			return
		}
		// it verified: recompute from the header's own t and find a v1
		// that decodes to that MAC (hex is case-insensitive, as in
		// stripe-go, which hex-decodes each v1 before hmac.Equal)
		var ts string
		var sigs [][]byte
		for _, p := range bytes.Split([]byte(header), []byte(",")) {
			p = bytes.TrimSpace(p)
			switch {
			case bytes.HasPrefix(p, []byte("t=")):
				ts = string(bytes.TrimPrefix(p, []byte("t=")))
			case bytes.HasPrefix(p, []byte("v1=")):
				if b, err := hex.DecodeString(string(bytes.TrimPrefix(p, []byte("v1=")))); err == nil {
					sigs = append(sigs, b)
				}
			}
		}
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || now.Sub(time.Unix(n, 0)).Abs() > stripeTolerance {
			t.Fatalf("verified a header with t=%q", ts)
		}
		mac := hmac.New(sha256.New, []byte("whsec_x"))
		mac.Write([]byte(strconv.FormatInt(n, 10) + "." + string(body)))
		want := mac.Sum(nil)
		for _, sig := range sigs {
			if bytes.Equal(sig, want) {
				return
			}
		}
		t.Fatalf("verified header %q without the right v1", header)
	})
}

// FuzzGOVUKPayWebhook: arbitrary bodies with a correct Pay-Signature parse
// or are refused with a 4xx; never a panic, never an event without an id.
func FuzzGOVUKPayWebhook(f *testing.F) {
	f.Add([]byte(`{"id":"e1","event_type":"CARD_PAYMENT_SUCCEEDED","resource_id":"p1","resource_type":"payment","resource":{}}`))
	f.Add([]byte(`{"id":"e2","event_type":"CARD_PAYMENT_REFUNDED","resource_id":"r1","resource_type":"REFUND","resource":{"payment_id":"p1"}}`))
	f.Add([]byte(`[]`))
	g := newGOVUKPay(GOVUKPayConfig{WebhookSecrets: []string{"s"}})
	f.Fuzz(func(t *testing.T, body []byte) {
		m := hmac.New(sha256.New, []byte("s"))
		m.Write(body)
		r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Pay-Signature", hex.EncodeToString(m.Sum(nil)))
		evs, err := g.Webhook(r)
		if err != nil {
			return
		}
		if len(evs) != 1 || evs[0].EventID == "" {
			t.Fatalf("events %v", evs)
		}
	})
}
