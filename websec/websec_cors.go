package websec

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// OpenRoutes answer browsers of any origin: third parties verify receipts
// (the JWKS and the verify route) and Open311 clients are other sites by
// design (they authenticate with an api_key, never a citizen's token).
var OpenRoutes = []string{
	"/.well-known/receipt-keys",
	"/api/receipts/verify",
	"/open311/",
}

// corsMethods are the methods the API accepts from the city's origins.
var corsMethods = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodPost, http.MethodDelete}

// CityOrigins returns the origins whose browsers may call the whole API: the
// public URL's origin plus CIVICDESK_CORS_ORIGINS (PocketBase's wildcard
// syntax, e.g. https://*.city.example) plus `serve --origins` when given.
func CityOrigins(cfg city.Config, extra ...string) []string {
	var out []string
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		out = append(out, u.Scheme+"://"+u.Host)
	}
	for _, o := range append(slices.Clone(cfg.CORSOrigins), extra...) {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

func isOpenRoute(path string) bool {
	for _, r := range OpenRoutes {
		if path == r || (strings.HasSuffix(r, "/") && strings.HasPrefix(path, r)) {
			return true
		}
	}
	return false
}

// sameHost reports whether origin names the host the request was sent to (a
// page of this server calling its own API, whatever name it was reached by).
func sameHost(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// corsHandler replaces PocketBase's CORS middleware (which answers every
// origin with `*` unless `serve --origins` is given): the city's origins for
// the API, any origin for OpenRoutes. An API call that carries a foreign
// Origin is refused with 403 before it reaches a handler, so a page on
// another site cannot even trigger a write it could not read.
func corsHandler(origins []string) *hook.Handler[*core.RequestEvent] {
	closed := apis.CORS(apis.CORSConfig{AllowOrigins: origins, AllowMethods: corsMethods, MaxAge: 600})
	open := apis.CORS(apis.CORSConfig{AllowOrigins: []string{"*"}, AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost}, MaxAge: 86400})
	allowed := func(origin string) bool {
		for _, o := range origins {
			if o == "*" || o == origin || wildcardMatch(o, origin) {
				return true
			}
		}
		return false
	}
	return &hook.Handler[*core.RequestEvent]{
		Id:       HookIDCORS,
		Priority: apis.DefaultCorsMiddlewarePriority,
		Func: func(e *core.RequestEvent) error {
			path := e.Request.URL.Path
			if isOpenRoute(path) {
				return open.Func(e)
			}
			origin := e.Request.Header.Get("Origin")
			if origin != "" && e.Request.Method != http.MethodOptions && strings.HasPrefix(path, "/api/") &&
				!allowed(origin) && !sameHost(origin, e.Request) {
				e.Response.Header().Add("Vary", "Origin")
				return e.ForbiddenError("Requests from "+origin+" are not allowed; the API answers only the city's own web apps.", nil)
			}
			return closed.Func(e)
		},
	}
}

// wildcardMatch matches PocketBase's origin patterns: "*" for any run of
// characters, "?" for one (e.g. https://*.city.example). Linear-time glob
// matching with one backtrack point, so no pattern can make it slow.
func wildcardMatch(pattern, origin string) bool {
	if !strings.ContainsAny(pattern, "*?") || len(origin) > 261 {
		return false
	}
	p, s := 0, 0
	starP, starS := -1, 0
	for s < len(origin) || p < len(pattern) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starS = p, s
				p++
				continue
			case '?':
				if s < len(origin) {
					p++
					s++
					continue
				}
			default:
				if s < len(origin) && origin[s] == c {
					p++
					s++
					continue
				}
			}
		}
		if starP >= 0 && starS < len(origin) {
			// let the last star swallow one more character and retry
			starS++
			p, s = starP+1, starS
			continue
		}
		return false
	}
	return true
}
