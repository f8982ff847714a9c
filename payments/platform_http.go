package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// platformClient is the HTTP side the platform adapters share: one client
// with a timeout, a call whose answer is capped, errors naming the platform.
// Written here rather than taken from each platform's SDK: three small REST
// calls each, and the SDKs would pull whole client modules into the build.
type platformClient struct {
	name string // names the platform in errors ("GOV.UK Pay", "stripe", ...)
	hc   *http.Client
}

func newPlatformClient(name string) platformClient {
	return platformClient{name: name, hc: &http.Client{Timeout: 15 * time.Second}}
}

// maxPlatformAnswer caps what is read of a platform's answer.
const maxPlatformAnswer = 1 << 20

// call sends body (nil for none) of contentType to base+path with header
// and returns the status and the answer.
func (c platformClient) call(ctx context.Context, method, base, path, contentType string, body []byte, header http.Header) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s %s: %w", c.name, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPlatformAnswer))
	return resp.StatusCode, b, err
}

// callJSON is call with v encoded as JSON (nil for no body).
func (c platformClient) callJSON(ctx context.Context, method, base, path string, v any, header http.Header) (int, []byte, error) {
	var body []byte
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, nil, err
		}
		body = b
	}
	return c.call(ctx, method, base, path, "application/json", body, header)
}

// cardPlatform is what the card platforms (GOV.UK Pay, Stripe) answer alike:
// a webhook is acknowledged by a bare 200, and a refund goes through
// RefundAttempt on the attempt, never through Provider.Refund.
type cardPlatform struct{}

// Ack implements Platform.
func (cardPlatform) Ack(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusOK)
	return nil
}

// Refund implements Provider (platform refunds go through RefundAttempt).
func (cardPlatform) Refund(context.Context, FeeInfo, int64, string) (*Observed, error) {
	return nil, ErrManualRefund
}
