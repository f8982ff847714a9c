// Package open311 is civicdesk's Open311 GeoReport v2 endpoint at
// /open311/v2/, with the FixMyStreet extensions (servicerequestupdates), so
// existing civic tools file and follow requests without custom work. Every
// write goes through app.Save with the API client as the workflow's actor,
// so hooks/ decides exactly as it does for every other path (docs/open311.md).
package open311

import (
	"io"
	"net/http"
	"strings"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// HookIDServe is the id of the OnServe handler that mounts the routes.
const HookIDServe = "civicdeskOpen311Routes"

// Prefix is where the endpoint lives; every path under it answers in the spec's shape.
const Prefix = "/open311/"

// Register mounts /open311/ on app: every method and path below it is
// answered here (unknown ones with the spec's 404), never by the static apps.
func Register(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDServe,
		Func: func(se *core.ServeEvent) error {
			h := &handler{limiter: newLimiter()}
			se.Router.GET("/open311", h.serve)
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				se.Router.Route(m, Prefix+"{path...}", h.serve)
			}
			return se.Next()
		},
	})
}

// handler serves the endpoint; it holds the per-key rate limiter of one server.
type handler struct {
	limiter *limiter
}

// call is one request to the endpoint.
type call struct {
	e      *core.RequestEvent
	h      *handler
	cfg    city.Config
	format string
	lang   string
	query  map[string][]string
}

// q returns a query parameter ("" when absent or empty).
func (c *call) q(name string) string {
	if vs := c.query[name]; len(vs) > 0 {
		return strings.TrimSpace(vs[0])
	}
	return ""
}

// resources maps a resource to the methods it answers.
var resources = map[string][]string{
	"discovery":             {http.MethodGet},
	"services":              {http.MethodGet},
	"services/":             {http.MethodGet},
	"requests":              {http.MethodGet, http.MethodPost},
	"requests/":             {http.MethodGet},
	"tokens/":               {http.MethodGet},
	"servicerequestupdates": {http.MethodGet, http.MethodPost},
}

// parsePath splits "v2/services/pothole.json" into resource "services/",
// argument "pothole" and format "json". The format defaults to XML (the
// spec's required one) for the error of a path that has none.
func parsePath(p string) (resource, arg, format string, ae *apiError) {
	format = formatXML
	rest, ok := strings.CutPrefix(p, "v2/")
	if !ok {
		return "", "", format, notFound("Unknown path: the endpoint is at /open311/v2/ (start with discovery.xml).")
	}
	slash := strings.LastIndexByte(rest, '/')
	dot := strings.LastIndexByte(rest, '.')
	if dot <= slash {
		base := rest
		if _, known := resources[base]; !known && !strings.Contains(base, "/") {
			return "", "", format, notFound("Unknown resource " + quote(base) + ".")
		}
		return "", "", format, badParam("format", "add .xml or .json to the path (e.g. services.xml).")
	}
	ext := rest[dot+1:]
	rest = rest[:dot]
	switch ext {
	case formatXML, formatJSON:
		format = ext
	default:
		return "", "", format, badParam("format", "unknown format "+quote(ext)+"; use .xml or .json.")
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1:
		resource = parts[0]
	case len(parts) == 2 && parts[1] != "":
		resource, arg = parts[0]+"/", parts[1]
	default:
		return "", "", format, notFound("Unknown path " + quote(rest) + ".")
	}
	if _, ok := resources[resource]; !ok {
		return "", "", format, notFound("Unknown resource " + quote(rest) + ".")
	}
	return resource, arg, format, nil
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return "\"" + s + "\""
}

// serve dispatches one request under /open311/.
func (h *handler) serve(e *core.RequestEvent) error {
	resource, arg, format, ae := parsePath(e.Request.PathValue("path"))
	c := &call{e: e, h: h, cfg: city.Of(e.App), format: format, query: e.Request.URL.Query()}
	if ae != nil {
		return writeError(e, format, ae)
	}
	c.lang = c.cfg.MatchLang(c.q("locale"), c.q("lang"), e.Request.Header.Get("Accept-Language"))

	method := e.Request.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	allowed := resources[resource]
	ok := false
	for _, m := range allowed {
		ok = ok || m == method
	}
	if !ok {
		e.Response.Header().Set("Allow", strings.Join(allowed, ", "))
		return writeError(e, format, newError(http.StatusMethodNotAllowed, "This resource answers "+strings.Join(allowed, " and ")+" only."))
	}

	var err *apiError
	switch {
	case method == http.MethodPost:
		err = c.post(resource)
	case resource == "discovery":
		err = c.discovery()
	case resource == "services":
		err = c.services()
	case resource == "services/":
		err = c.serviceDefinition(arg)
	case resource == "requests":
		err = c.requests()
	case resource == "requests/":
		err = c.request(arg)
	case resource == "tokens/":
		err = c.token(arg)
	case resource == "servicerequestupdates":
		err = c.updates()
	}
	if err != nil {
		return writeError(e, format, err)
	}
	return nil
}

// post reads and parses a POST body, checks the key, and runs the write;
// every POST is logged with its key id and outcome.
func (c *call) post(resource string) *apiError {
	var clientID string
	ae := func() *apiError {
		if ae := checkContentType(c.e.Request.Header.Get("Content-Type")); ae != nil {
			return ae
		}
		body, err := io.ReadAll(io.LimitReader(c.e.Request.Body, maxBodyBytes+1))
		if err != nil {
			return badParam("body", "the request body could not be read.")
		}
		f, ae := parseForm(body, c.query)
		if ae != nil {
			return ae
		}
		if ae := c.checkJurisdiction(f.get("jurisdiction_id")); ae != nil {
			return ae
		}
		cl, ae := findClient(c.e.App, f.get("api_key"))
		if ae != nil {
			return ae
		}
		clientID = cl.ID
		if ae := c.h.limit(cl); ae != nil {
			return ae
		}
		if !cl.canWrite() {
			return forbidden("api_key: this key may only read; ask the city for a key that may post.")
		}
		if resource == "requests" {
			return c.createRequest(cl, f)
		}
		return c.postUpdate(cl, f)
	}()
	status := http.StatusOK
	msg := ""
	if ae != nil {
		status = ae.Status
		msg = ae.Error()
	}
	c.e.App.Logger().Info("open311 POST", "path", c.e.Request.URL.Path, "api_client", clientID, "status", status, "error", msg, "ip", c.e.RealIP())
	return ae
}

// checkJurisdiction accepts an absent jurisdiction_id (civicdesk serves one
// city) and refuses any other than the city's, as the spec's 404.
func (c *call) checkJurisdiction(j string) *apiError {
	if j == "" || strings.EqualFold(j, c.cfg.Jurisdiction) {
		return nil
	}
	return notFound("jurisdiction_id: unknown jurisdiction " + quote(j) + "; this endpoint serves " + quote(c.cfg.Jurisdiction) + ".")
}

// readKey checks an optional api_key on a GET: without one the public data is
// served; a given key must be valid and active, and its rate limit applies.
func (c *call) readKey() (*client, *apiError) {
	key := c.q("api_key")
	if key == "" {
		return nil, nil
	}
	cl, ae := findClient(c.e.App, key)
	if ae != nil {
		return nil, ae
	}
	if ae := c.h.limit(cl); ae != nil {
		return nil, ae
	}
	return cl, nil
}

// getPrologue is what every GET checks first: jurisdiction and an optional key.
func (c *call) getPrologue() (*client, *apiError) {
	if ae := c.checkJurisdiction(c.q("jurisdiction_id")); ae != nil {
		return nil, ae
	}
	return c.readKey()
}
