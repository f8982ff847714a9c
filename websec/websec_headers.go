package websec

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"mime"
	"regexp"
	"slices"
	"strings"

	"civicdesk/city"
	pbpublic "civicdesk/pb_public"

	"github.com/pocketbase/pocketbase/core"
)

// Policy is the set of security headers for every response under one path
// prefix. The table below is the one place these headers are defined: each
// embedded app (and every API group) is a row, so a new app is a new row.
type Policy struct {
	// Prefix selects the responses (the longest matching prefix wins).
	Prefix string
	// CSP is the Content-Security-Policy. Empty leaves it to the handler
	// (PocketBase's dashboard sets its own on /_/).
	CSP string
	// Permissions is the Permissions-Policy.
	Permissions string
	// Referrer is the Referrer-Policy.
	Referrer string
	// FrameOptions is X-Frame-Options (the legacy twin of frame-ancestors).
	FrameOptions string
	// CORP is Cross-Origin-Resource-Policy ("" omits it).
	CORP string
	// NoStoreWithAuth makes answers to requests with an Authorization header
	// `Cache-Control: no-store` unless the handler sets its own.
	NoStoreWithAuth bool
	// App marks an embedded web app: inline import maps in its HTML files
	// are hashed into script-src at start (the only inline script allowed).
	App bool
}

// appCSP is the policy of every embedded web app: nothing inline, nothing
// from another origin (blob: URLs are made by the app's own scripts, e.g. a
// receipt's QR image read back). %s takes the hashes of the app's import maps.
const appCSP = "default-src 'self'; script-src 'self'%s; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self' blob:; font-src 'self'; media-src 'self' blob:; worker-src 'self'; manifest-src 'self'; " +
	"frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// apiCSP is the policy of API answers and served files: none of them is a page,
// so a JSON body, a photo or a stored upload opened as a document runs nothing.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"

// permissions builds a Permissions-Policy denying every powerful feature except
// the ones granted to this origin. Only features Chromium knows are named:
// an unknown one is logged as a console error on every page.
func permissions(granted ...string) string {
	features := []string{"accelerometer", "autoplay", "bluetooth", "camera", "display-capture", "encrypted-media",
		"fullscreen", "geolocation", "gyroscope", "hid", "magnetometer", "microphone", "midi", "payment",
		"picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking"}
	parts := make([]string, 0, len(features))
	for _, f := range features {
		if slices.Contains(granted, f) {
			parts = append(parts, f+"=(self)")
		} else {
			parts = append(parts, f+"=()")
		}
	}
	return strings.Join(parts, ", ")
}

// Policies is the header table, one row per route group. Camera only where a
// page scans QR codes (/verify/, the front desk of /staff/); geolocation only
// in the citizen app, which places a report on the map.
var Policies = []Policy{
	{Prefix: "/", App: true, CSP: appCSP, Permissions: permissions("geolocation"), Referrer: "same-origin", FrameOptions: "DENY", CORP: "same-origin"},
	{Prefix: "/verify/", App: true, CSP: appCSP, Permissions: permissions("camera"), Referrer: "same-origin", FrameOptions: "DENY", CORP: "same-origin"},
	{Prefix: "/staff/", App: true, CSP: appCSP, Permissions: permissions("camera"), Referrer: "same-origin", FrameOptions: "DENY", CORP: "same-origin"},
	// PocketBase's dashboard keeps its own CSP (it needs inline styles and map tiles)
	{Prefix: "/_/", Permissions: permissions(), Referrer: "same-origin", FrameOptions: "DENY", CORP: "same-origin"},
	{Prefix: "/api/", CSP: apiCSP, Permissions: permissions(), Referrer: "no-referrer", FrameOptions: "DENY", NoStoreWithAuth: true},
	// stored uploads: never embeddable by another site, never a page
	{Prefix: "/api/files/", CSP: apiCSP, Permissions: permissions(), Referrer: "no-referrer", FrameOptions: "DENY", CORP: "same-origin"},
	{Prefix: "/.well-known/", CSP: apiCSP, Permissions: permissions(), Referrer: "no-referrer", FrameOptions: "DENY"},
	{Prefix: "/open311/", CSP: apiCSP, Permissions: permissions(), Referrer: "no-referrer", FrameOptions: "DENY"},
}

// hstsValue is sent when the city's public URL is https (two years; the
// browser then refuses plain http to this host and its subdomains).
const hstsValue = "max-age=63072000; includeSubDomains"

func init() {
	// Go's table lacks the manifest type; without it the PWA manifest would go
	// out as text/plain, which nosniff makes unusable
	_ = mime.AddExtensionType(".webmanifest", "application/manifest+json")
}

// headerSet is the table resolved for one app: policies sorted longest prefix
// first, import-map hashes filled in.
type headerSet struct {
	policies []Policy
	hsts     bool
}

var importMapRe = regexp.MustCompile(`(?is)<script\s+type=["']?importmap["']?\s*>(.*?)</script>`)

// newHeaderSet resolves Policies for app: the hashes of inline import maps in
// each app's HTML (files under a more specific app prefix belong to that app).
func newHeaderSet(app core.App, files fs.FS) headerSet {
	ps := slices.Clone(Policies)
	slices.SortFunc(ps, func(a, b Policy) int { return len(b.Prefix) - len(a.Prefix) })
	hashes := map[string][]string{}
	_ = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return nil
		}
		data, err := fs.ReadFile(files, path)
		if err != nil {
			return nil
		}
		for _, m := range importMapRe.FindAllSubmatch(data, -1) {
			sum := sha256.Sum256(m[1])
			p := match(ps, "/"+path)
			hashes[p.Prefix] = append(hashes[p.Prefix], " 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return nil
	})
	for i := range ps {
		if ps[i].App {
			ps[i].CSP = strings.Replace(ps[i].CSP, "%s", strings.Join(hashes[ps[i].Prefix], ""), 1)
		}
	}
	return headerSet{policies: ps, hsts: strings.HasPrefix(city.Of(app).PublicURL, "https://")}
}

// match returns the policy of the longest prefix of path (ps sorted longest first).
func match(ps []Policy, path string) Policy {
	for _, p := range ps {
		if strings.HasPrefix(path, p.Prefix) || path+"/" == p.Prefix {
			return p
		}
	}
	return ps[len(ps)-1]
}

// middleware sets the headers of the request's path before any handler runs,
// so errors, redirects and preflights carry them too.
func (hs headerSet) middleware(e *core.RequestEvent) error {
	p := match(hs.policies, e.Request.URL.Path)
	h := e.Response.Header()
	if p.CSP != "" {
		h.Set("Content-Security-Policy", p.CSP)
	}
	h.Set("Permissions-Policy", p.Permissions)
	h.Set("Referrer-Policy", p.Referrer)
	h.Set("X-Frame-Options", p.FrameOptions)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if p.CORP != "" {
		h.Set("Cross-Origin-Resource-Policy", p.CORP)
	}
	if hs.hsts {
		h.Set("Strict-Transport-Security", hstsValue)
	}
	if p.NoStoreWithAuth && e.Request.Header.Get("Authorization") != "" {
		// an answer to a signed-in caller is personal: no cache keeps it unless
		// the handler says otherwise (the catalogue, a receipt's QR)
		h.Set("Cache-Control", "no-store")
	}
	return e.Next()
}

// appFiles is the embedded file tree the import maps are read from.
func appFiles() fs.FS { return pbpublic.FS() }
