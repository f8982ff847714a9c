package open311

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"civicdesk/ratelimit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Scopes of an api_clients key.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// DefaultRateLimit is a key's requests per minute when its rate_limit is 0.
const DefaultRateLimit = 120

// client is an api_clients record, as far as Open311 needs it.
type client struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	Active       bool   `db:"active"`
	Scope        string `db:"scope"`
	RateLimit    int    `db:"rate_limit"`
	LinkCitizens bool   `db:"link_citizens"`
}

// canWrite reports whether the key may POST.
func (c *client) canWrite() bool { return c.Scope == ScopeWrite }

// findClient looks up an api_key. A missing, unknown or inactive key is a 403
// with the same answer for unknown and inactive, so keys cannot be probed.
func findClient(app core.App, key string) (*client, *apiError) {
	if key == "" {
		return nil, forbidden("api_key: an API key is required (ask the city for one).")
	}
	c := &client{}
	err := app.DB().NewQuery("SELECT [[id]], [[name]], COALESCE([[active]], FALSE) AS [[active]], COALESCE([[scope]], '') AS [[scope]], " +
		"COALESCE([[rate_limit]], 0) AS [[rate_limit]], COALESCE([[link_citizens]], FALSE) AS [[link_citizens]] FROM [[api_clients]] WHERE [[key]] = {:k}").
		Bind(dbx.Params{"k": key}).One(c)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !c.Active) {
		return nil, forbidden("api_key: invalid or inactive API key.")
	}
	if err != nil {
		app.Logger().Error("open311: api key lookup", "error", err)
		return nil, newError(http.StatusInternalServerError, "The server could not check the API key.")
	}
	if c.RateLimit <= 0 {
		c.RateLimit = DefaultRateLimit
	}
	return c, nil
}

// limiter keeps one ratelimit.Limiter per distinct rate_limit (keys vary
// in their limit, the shared bucket has one rate): rate_limit tokens a
// minute, bursts up to one minute's worth. A key whose limit changes starts
// in its new limiter with a full bucket. In memory: a restart refills every
// bucket, which errs on the side of the client.
type limiter struct {
	mu     sync.Mutex
	byRate map[int]*ratelimit.Limiter
	now    func() time.Time
}

func newLimiter() *limiter {
	return &limiter{byRate: map[int]*ratelimit.Limiter{}, now: time.Now}
}

// allow takes one token for key; when none is left it returns the whole
// seconds until the next one (for Retry-After), at least 1.
func (l *limiter) allow(key string, perMinute int) (bool, int) {
	l.mu.Lock()
	rl := l.byRate[perMinute]
	if rl == nil {
		rl = ratelimit.New(float64(perMinute)/60, perMinute)
		l.byRate[perMinute] = rl
	}
	l.mu.Unlock()
	ok, wait := rl.Take(key, l.now())
	if ok {
		return true, 0
	}
	return false, max(1, int(math.Ceil(wait.Seconds())))
}

// limit applies the key's rate limit: a 429 with Retry-After when exhausted.
func (h *handler) limit(c *client) *apiError {
	ok, wait := h.limiter.allow(c.ID, c.RateLimit)
	if ok {
		return nil
	}
	ae := newError(http.StatusTooManyRequests, fmt.Sprintf("api_key: rate limit of %d requests a minute reached; retry in %d s.", c.RateLimit, wait))
	ae.RetryAfter = wait
	return ae
}
