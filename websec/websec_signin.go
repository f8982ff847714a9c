package websec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"civicdesk/ratelimit"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

// SignInLimits are the sign-in limits of every auth collection (citizens,
// staff, superusers). They are sized for a city: 40 clerks behind the city
// hall's one address all sign in at 09:00 (password, code request, code =
// 120 requests), while one account guessed at from any number of addresses
// gets a handful of tries and then one a minute. docs/security.md explains
// the figures.
type SignInLimits struct {
	// IPBurst sign-in requests at once from one address, refilled at IPRate per second.
	IPBurst int
	IPRate  float64
	// AccountBurst failed sign-ins (wrong password or code) of one account, from
	// any address, refilled at AccountRate per second.
	AccountBurst int
	AccountRate  float64
	// CodeBurst one-time codes mailed to one address at once, refilled at CodeRate per second.
	CodeBurst int
	CodeRate  float64
}

// DefaultSignInLimits are the limits civicdesk ships with.
var DefaultSignInLimits = SignInLimits{
	IPBurst: 150, IPRate: 1,
	AccountBurst: 5, AccountRate: 1.0 / 60,
	CodeBurst: 5, CodeRate: 1.0 / 60,
}

// maxSignInBody bounds what the limiter reads to find the account: PocketBase
// caps identity and password at 255 characters each.
const maxSignInBody = 16 << 10

var signInPath = regexp.MustCompile(`^/api/collections/([^/]+)/(auth-with-password|request-otp|auth-with-otp)$`)

type signIn struct {
	limits   SignInLimits
	ip       *ratelimit.Limiter
	accounts *ratelimit.Limiter
	codes    *ratelimit.Limiter
	now      func() time.Time
}

func newSignIn(l SignInLimits) *signIn {
	return &signIn{
		limits:   l,
		ip:       ratelimit.New(l.IPRate, l.IPBurst),
		accounts: ratelimit.New(l.AccountRate, l.AccountBurst),
		codes:    ratelimit.New(l.CodeRate, l.CodeBurst),
		now:      time.Now,
	}
}

// addressKey is the per-address limiter's key: an IPv4 address, or the /64
// network of an IPv6 one (a single host usually holds a whole /64, so per
// address would let it rotate through 2^64 keys).
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// signInBody holds the fields of the three sign-in forms that name the account.
type signInBody struct {
	Identity string `json:"identity"`
	Email    string `json:"email"`
	OTPId    string `json:"otpId"`
}

// tooMany is the 429 every limit answers: Retry-After in seconds, and the
// same figure in the message and in data.retryAfter for apps to show.
// scope is "address" or "account".
func tooMany(e *core.RequestEvent, wait time.Duration, scope string) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	e.Response.Header().Set("Retry-After", strconv.Itoa(secs))
	what := "from this address"
	if scope == "account" {
		what = "for this account"
	}
	err := router.NewTooManyRequestsError(fmt.Sprintf("Too many sign-in attempts %s. Try again in %d seconds.", what, secs), nil)
	err.Data = map[string]any{"retryAfter": secs, "scope": scope}
	return err
}

// handler limits the three sign-in routes of every auth collection.
func (s *signIn) handler() *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id: HookIDSignIn,
		// after the auth token is loaded, before PocketBase's own per-IP limiter
		Priority: apis.DefaultRateLimitMiddlewarePriority - 1,
		Func: func(e *core.RequestEvent) error {
			m := signInPath.FindStringSubmatch(e.Request.URL.Path)
			if m == nil || e.Request.Method != http.MethodPost || !e.App.Settings().RateLimits.Enabled {
				return e.Next()
			}
			collection, err := e.App.FindCachedCollectionByNameOrId(m[1])
			if err != nil || !collection.IsAuth() {
				return e.Next()
			}
			now := s.now()
			if ok, wait := s.ip.Take(addressKey(e.RealIP()), now); !ok {
				return tooMany(e, wait, "address")
			}
			body, err := readSignInBody(e)
			if err != nil {
				return err
			}
			switch m[2] {
			case "request-otp":
				// every request mails a code: count them all, per address mailed
				key := collection.Id + "|" + strings.ToLower(strings.TrimSpace(body.Email))
				if ok, wait := s.codes.Take(key, now); !ok {
					return tooMany(e, wait, "account")
				}
				return e.Next()
			case "auth-with-password":
				// keyed by what was typed, known account or not, so the limit reveals nothing
				return s.attempt(e, "pw|"+collection.Id+"|"+strings.ToLower(strings.TrimSpace(body.Identity)), now)
			default:
				otp, err := e.App.FindOTPById(body.OTPId)
				if err != nil || otp.CollectionRef() != collection.Id {
					return e.Next() // PocketBase answers "Invalid or expired OTP"
				}
				return s.attempt(e, "otp|"+collection.Id+"|"+otp.RecordRef(), now)
			}
		},
	}
}

// attempt takes one of the account's failure tokens before the check (so
// parallel guesses cannot all slip through) and gives it back unless the
// credentials were wrong: a correct password that still needs its second
// factor (401 with mfaId) does not count.
func (s *signIn) attempt(e *core.RequestEvent, key string, now time.Time) error {
	if ok, wait := s.accounts.Take(key, now); !ok {
		return tooMany(e, wait, "account")
	}
	err := e.Next()
	var apiErr *router.ApiError
	if err == nil || !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		s.accounts.Give(key)
	}
	return err
}

// readSignInBody reads the (small) sign-in body; PocketBase's router keeps a
// copy, so the handler reads it again in full.
func readSignInBody(e *core.RequestEvent) (signInBody, error) {
	var b signInBody
	if e.Request.Body == nil {
		return b, nil
	}
	data, err := io.ReadAll(io.LimitReader(e.Request.Body, maxSignInBody+1))
	if err != nil {
		return b, e.BadRequestError("Could not read the request body.", err)
	}
	if len(data) > maxSignInBody {
		return b, router.NewApiError(http.StatusRequestEntityTooLarge, fmt.Sprintf("A sign-in request is at most %d bytes.", maxSignInBody), nil)
	}
	if rr, ok := e.Request.Body.(router.Rereader); ok {
		rr.Reread() // the body ended: make the handler's read start again
	}
	mediaType, params, _ := mime.ParseMediaType(e.Request.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		_ = json.Unmarshal(data, &b) // a malformed body is PocketBase's 400 to give
		return b, nil
	case "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(data), params["boundary"]).ReadForm(maxSignInBody)
		if err == nil {
			defer func() { _ = form.RemoveAll() }()
			first := func(k string) string {
				if v := form.Value[k]; len(v) > 0 {
					return v[0]
				}
				return ""
			}
			b = signInBody{Identity: first("identity"), Email: first("email"), OTPId: first("otpId")}
		}
		return b, nil
	}
	if q, err := url.ParseQuery(string(data)); err == nil {
		b = signInBody{Identity: q.Get("identity"), Email: q.Get("email"), OTPId: q.Get("otpId")}
	}
	return b, nil
}
