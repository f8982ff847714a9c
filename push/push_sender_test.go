package push_test

import (
	"crypto/ecdh"
	"net/http"
	"testing"
	"time"

	"civicdesk/push"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"99999999999", 365 * 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Thu, 26 Nov 2026 10:00:30 GMT", 30 * time.Second},
		{"tomorrow", 0},
		{"Thu, 01 Nov 7000 0:00:00 GMT", 365 * 24 * time.Hour}, // found by FuzzRetryAfter: Sub saturated
	}
	for _, tc := range cases {
		if got := push.RetryAfter(tc.in, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzRetryAfter: a push service's header never yields a negative or unbounded wait.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "120", "-1", "Thu, 26 Nov 2026 10:00:30 GMT", "9223372036854775807"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := push.RetryAfter(s, now); d < 0 || d > 366*24*time.Hour {
			t.Fatalf("RetryAfter(%q) = %v", s, d)
		}
	})
}

// FuzzSubscriptionKeys: whatever a client sends, accepted keys are a P-256 point and a 16-byte secret.
func FuzzSubscriptionKeys(f *testing.F) {
	f.Add("BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "tBHItJI5svbpez7KI4CCXg")
	f.Add("", "")
	f.Add("BAAA", "AAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, p256dh, auth string) {
		k := push.SubscriptionKeys{P256dh: p256dh, Auth: auth}
		if k.Validate() != nil {
			return
		}
		raw, ok := decodeAny(p256dh)
		if !ok {
			t.Fatalf("accepted undecodable p256dh %q", p256dh)
		}
		if _, err := ecdh.P256().NewPublicKey(raw); err != nil {
			t.Fatalf("accepted p256dh %q that is not a point: %v", p256dh, err)
		}
		if a, ok := decodeAny(auth); !ok || len(a) != 16 {
			t.Fatalf("accepted auth %q", auth)
		}
	})
}
