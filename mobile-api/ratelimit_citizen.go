package mobileapi

import (
	"strconv"
	"time"

	"civicdesk/ratelimit"

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

// rateLimitCitizen is route middleware applying l per authenticated citizen.
func rateLimitCitizen(l *ratelimit.Limiter) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		if e.Auth == nil || !e.App.Settings().RateLimits.Enabled {
			return e.Next()
		}
		ok, wait := l.Take(e.Auth.Id, time.Now())
		if !ok {
			e.Response.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			return router.NewTooManyRequestsError("Too many requests from this account; retry shortly.", nil)
		}
		return e.Next()
	}
}
