package mobileapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// Per-citizen rate limit of the mobile API: PocketBase's limiter is per IP,
// and phones behind carrier NAT share addresses, so the settings give
// /api/mobile/ a high per-IP ceiling (see the sync migration) and this limiter
// bounds what one account can do from any number of addresses.
const (
	citizenRate  = 20.0 // requests per second, sustained
	citizenBurst = 300  // requests at once (an outbox flush plus a photo's chunks)
)

// limiter is a token bucket per key.
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes a token for key; when none is left it returns the wait until one is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// forget idle keys, so the map stays the size of the active population
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// rateLimitCitizen is route middleware applying l per authenticated citizen.
func rateLimitCitizen(l *limiter) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		if e.Auth == nil || !e.App.Settings().RateLimits.Enabled {
			return e.Next()
		}
		ok, wait := l.allow(e.Auth.Id, time.Now())
		if !ok {
			e.Response.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			return router.NewTooManyRequestsError("Too many requests from this account; retry shortly.", nil)
		}
		return e.Next()
	}
}
