package push

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// RecordSize is the aes128gcm record size of every push body: Firefox for
// Android (via FCM) refuses bodies over ~3 KB, and webpush-go pads to it.
const RecordSize = 2048

// HTTP timeouts of the push client: a slow push service must not hold a worker.
const (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 5 * time.Second
	responseHeaderTimeout = 10 * time.Second
	requestTimeout        = 15 * time.Second
)

// ErrRedirect is returned for a 3xx answer: redirects are never followed, so
// an allowed push host can not bounce the server to another host.
var ErrRedirect = errors.New("push service answered with a redirect, which is not followed")

// NewHTTPClient returns the client used for pushes: timeouts on every phase,
// no redirects, and a transport that re-checks every request against allow.
func NewHTTPClient(allow AllowList, workers int) *http.Client {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment, // a city's egress proxy, if any
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          2 * workers,
		MaxIdleConnsPerHost:   workers,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: &allowTransport{next: tr, allow: allow},
		Timeout:   requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// allowTransport refuses any request whose URL is off the allow-list: the last
// line of defence should a row's endpoint bypass the data-layer check.
type allowTransport struct {
	next  http.RoundTripper
	allow AllowList
}

// RoundTrip implements http.RoundTripper.
func (t *allowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.allow.Check(r.URL.String()); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(r)
}

// Sender encrypts and signs one push (RFC 8291, RFC 8292) with webpush-go.
type Sender struct {
	Client  *http.Client
	Keys    Keys
	Subject string // VAPID contact: an email address (no "mailto:") or an https URL
}

// Delivery is what one POST to a push service produced.
type Delivery struct {
	Status     int           // HTTP status, 0 when no response
	RetryAfter time.Duration // parsed Retry-After, 0 when absent
	Detail     string        // a short excerpt of the error body or the transport error
	Err        error         // transport or encryption error
}

// Send posts payload to sub. payload is copied: webpush-go writes its padding
// into the caller's slice when it has spare capacity.
func (s *Sender) Send(ctx context.Context, sub webpush.Subscription, payload []byte, topic, urgency string, ttl int, now time.Time) Delivery {
	msg := make([]byte, len(payload))
	copy(msg, payload)
	resp, err := webpush.SendNotificationWithContext(ctx, msg, &sub, &webpush.Options{
		HTTPClient:      s.Client,
		RecordSize:      RecordSize,
		Subscriber:      strings.TrimPrefix(s.Subject, "mailto:"), // webpush-go prepends mailto: itself
		Topic:           topic,
		TTL:             ttl,
		Urgency:         webpush.Urgency(urgency),
		VAPIDPublicKey:  s.Keys.PublicKey,
		VAPIDPrivateKey: s.Keys.PrivateKey,
	})
	if err != nil {
		return Delivery{Err: err, Detail: truncate(err.Error(), 200)}
	}
	defer resp.Body.Close()
	d := Delivery{Status: resp.StatusCode, RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), now)}
	if resp.StatusCode >= 300 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		d.Detail = truncate(strings.TrimSpace(string(body)), 200)
		if resp.StatusCode < 400 {
			d.Err = ErrRedirect
		}
	}
	// drain a little so the connection can be reused
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return d
}

// maxRetryAfter caps a push service's Retry-After (any TTL is far shorter).
const maxRetryAfter = 365 * 24 * time.Hour

// RetryAfter reads a Retry-After value, delta-seconds or an HTTP-date (RFC 9110
// §10.2.3), as a wait from now: 0 when absent, malformed or past, at most a year.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		// Sub saturates for dates centuries away: cap like delta-seconds
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
