// Package cityweb is the city's public face in the citizen app: the web app
// manifest rendered with the city's name and arms, and the arms image, so an
// installed app and its header name the city (from city/, not a fixed text);
// the city's map file; public requests (no personal data) for the public map
// and "already reported nearby"; pushes to the followers of a request.
package cityweb

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"

	"civicdesk/city"
	pbpublic "civicdesk/pb_public"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// HookIDServe is the id of the OnServe handler that mounts the routes.
const HookIDServe = "civicdeskCityWeb"

// Paths served by this package.
const (
	PathManifest = "/manifest.webmanifest"
	PathArms     = "/city/arms"
)

// Register mounts the manifest and arms routes (before the static files).
func Register(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDServe,
		Func: func(se *core.ServeEvent) error {
			se.Router.GET(PathManifest, handleManifest)
			se.Router.GET(PathArms, handleArms)
			registerPublic(se)
			return se.Next()
		},
	})
	bindFollowerPushes(app)
}

// Manifest renders the embedded manifest with the city's name, short name
// and arms (an extra "any"-size icon beside the PNG launcher icons).
func Manifest(cfg city.Config) ([]byte, error) {
	raw, err := fs.ReadFile(pbpublic.FS(), "manifest.webmanifest")
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if cfg.Name != "" {
		m["name"] = cfg.Name
	}
	if cfg.ShortName != "" {
		m["short_name"] = cfg.ShortName
	}
	m["lang"] = cfg.DefaultLang
	if _, ct, err := cfg.Arms(); err == nil {
		icons, _ := m["icons"].([]any)
		m["icons"] = append(icons, map[string]any{"src": PathArms, "sizes": "any", "type": ct, "purpose": "any"})
	}
	return json.MarshalIndent(m, "", "  ")
}

func handleManifest(e *core.RequestEvent) error {
	body, err := Manifest(city.Of(e.App))
	if err != nil {
		return e.InternalServerError("Failed to render the manifest.", err)
	}
	e.Response.Header().Set("Cache-Control", "no-cache")
	return e.Blob(http.StatusOK, "application/manifest+json", body)
}

func handleArms(e *core.RequestEvent) error {
	b, ct, err := city.Of(e.App).Arms()
	if err != nil {
		e.App.Logger().Error("city arms", "error", err)
		return e.NotFoundError("The city's arms are not configured correctly.", nil)
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := e.Response.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if ct == "image/svg+xml" {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'") // an SVG opened directly runs no script
	}
	if e.Request.Header.Get("If-None-Match") == etag {
		return e.NoContent(http.StatusNotModified)
	}
	return e.Blob(http.StatusOK, ct, b)
}
