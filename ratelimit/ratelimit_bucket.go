// Package ratelimit is the in-memory token bucket per key that the citizen
// API (mobile-api) and the sign-in limits (websec) share. Written here rather
// than taken from golang.org/x/time/rate because it keys many buckets in one
// map, forgets idle keys, and can give back a token (a sign-in that did not
// count); x/time/rate has one bucket per Limiter and no give-back.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter is a token bucket per key: burst tokens at once, refilled at rate
// per second. Keys idle for longer than a full refill are forgotten (their
// bucket would be full again), so the map stays the size of the active
// population.
type Limiter struct {
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

// New returns a limiter refilling rate tokens per second up to burst.
func New(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// Take removes a token for key; when none is left it returns false and the
// wait until one is.
func (l *Limiter) Take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	idle := time.Duration(l.burst / l.rate * float64(time.Second))
	if now.Sub(l.swept) > idle {
		for k, b := range l.buckets {
			if now.Sub(b.last) > idle {
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

// Give returns a token taken for an attempt that did not count (a correct
// password, a code that was accepted).
func (l *Limiter) Give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.tokens = min(l.burst, b.tokens+1)
	}
}
