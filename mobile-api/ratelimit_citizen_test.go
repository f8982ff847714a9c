package mobileapi_test

import (
	"bytes"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"civicdesk/testkit"
)

// One account hammering the sync API is throttled with 429 and Retry-After;
// another account at the same time (same IP) is not.
func TestRateLimitPerCitizen(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	if !w.App.Settings().RateLimits.Enabled {
		t.Fatal("rate limits are off in the migrated settings")
	}
	a, b := newClient(t, base, w.CitizenA), newClient(t, base, w.CitizenB)
	var limited, retryAfter atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 120; i++ {
				req, _ := http.NewRequest(http.MethodPost, base+"/api/mobile/sync/pull", bytes.NewReader([]byte(`{"clientID":"`+a.id+`","cursor":"0","limit":1}`)))
				req.Header.Set("Authorization", a.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					limited.Add(1)
					if resp.Header.Get("Retry-After") != "" {
						retryAfter.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	if limited.Load() == 0 || retryAfter.Load() != limited.Load() {
		t.Fatalf("480 pulls: %d limited, %d with Retry-After", limited.Load(), retryAfter.Load())
	}
	if code, _ := b.pull(nil, 10); code != http.StatusOK {
		t.Fatalf("another citizen was limited too: %d", code)
	}
}
