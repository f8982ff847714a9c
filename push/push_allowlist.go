package push

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// MaxEndpointLength bounds a subscription endpoint (real ones are 150-500 characters).
const MaxEndpointLength = 1024

// serviceHosts are the push services browsers use. An entry starting with a dot
// matches any subdomain (Apple and Windows shard their endpoints by host).
var serviceHosts = []string{
	"fcm.googleapis.com",                // Chrome, Edge on Android, Firefox for Android
	"android.googleapis.com",            // legacy GCM-style endpoints of older Chrome builds
	"updates.push.services.mozilla.com", // Firefox (autopush)
	".push.apple.com",                   // Safari (web.push.apple.com and shards)
	".notify.windows.com",               // Edge on Windows (WNS)
}

// ErrEndpointRefused wraps every reason an endpoint is not allowed.
var ErrEndpointRefused = errors.New("push endpoint refused")

// AllowList decides which push endpoints the server may contact. The zero value
// allows only the built-in push services over https on the default port.
type AllowList struct {
	// Extra are "host" or "host:port" entries (CIVICDESK_PUSH_ALLOW_HOSTS) for which
	// plain http, IP literals and the given port are allowed too: local push services in tests.
	Extra []string
}

// Check returns nil when endpoint may be contacted, else an error wrapping ErrEndpointRefused
// whose message says why (it is shown to API clients, so it names no internals).
func (l AllowList) Check(endpoint string) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrEndpointRefused, fmt.Sprintf(format, args...))
	}
	if endpoint == "" {
		return refuse("the endpoint is empty")
	}
	if len(endpoint) > MaxEndpointLength {
		return refuse("the endpoint is longer than %d characters", MaxEndpointLength)
	}
	for _, r := range endpoint {
		// control characters, spaces and backslashes are where URL parsers disagree
		if r <= ' ' || r == 0x7f || r == '\\' {
			return refuse("the endpoint contains a forbidden character")
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return refuse("the endpoint is not a URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return refuse("the endpoint is not an absolute URL")
	}
	if u.User != nil {
		return refuse("the endpoint must not contain user information")
	}
	if u.Fragment != "" || strings.Contains(endpoint, "#") {
		return refuse("the endpoint must not contain a fragment")
	}
	scheme := u.Scheme // url.Parse lowercases the scheme
	if scheme != "https" && scheme != "http" {
		return refuse("the endpoint must use https")
	}
	host, port := u.Hostname(), u.Port()
	if strings.Contains(u.Host, ":") && port == "" && !strings.HasPrefix(u.Host, "[") {
		return refuse("the endpoint has an empty port")
	}
	lhost := strings.ToLower(host)

	// operator-added hosts: exact host (and port when given), any scheme
	for _, entry := range l.Extra {
		eh, ep := splitHostPort(strings.ToLower(strings.TrimSpace(entry)))
		if eh == "" || eh != lhost {
			continue
		}
		want := ep
		if want == "" {
			want = defaultPort(scheme)
		}
		got := port
		if got == "" {
			got = defaultPort(scheme)
		}
		if got == want {
			return nil
		}
	}

	if scheme != "https" {
		return refuse("the endpoint must use https")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return refuse("the endpoint must name a push service, not an IP address")
	}
	if port != "" && port != "443" {
		return refuse("the endpoint must use the default https port")
	}
	if host != lhost || strings.HasSuffix(host, ".") {
		// push services hand out canonical lowercase names; anything else is a crafted URL
		return refuse("the endpoint host is not in canonical form")
	}
	if !isServiceHost(lhost) {
		return refuse("%s is not a known push service", lhost)
	}
	return nil
}

// Host returns the lowercase host of endpoint for logs (never the path: it identifies a device).
func Host(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

func isServiceHost(host string) bool {
	for _, h := range serviceHosts {
		if strings.HasPrefix(h, ".") {
			// a subdomain of the suffix, with a non-empty label before it
			if strings.HasSuffix(host, h) && len(host) > len(h) {
				return true
			}
			continue
		}
		if host == h {
			return true
		}
	}
	return false
}

func splitHostPort(s string) (string, string) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return strings.Trim(h, "[]"), p
	}
	return strings.Trim(s, "[]"), ""
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}
