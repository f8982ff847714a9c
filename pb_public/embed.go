// Package pbpublic embeds the web apps (citizen PWA at /, staff console at
// /staff/, receipt verifier at /verify/) and serves them from the binary.
package pbpublic

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

//go:embed all:*
var files embed.FS

// HookIDServe is the id of the OnServe handler that mounts the static files.
const HookIDServe = "civicdeskStaticFiles"

// FS returns the embedded files (without the Go sources).
func FS() fs.FS { return files }

// Register serves the embedded files on GET /{path...}, after every API route.
func Register(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id:       HookIDServe,
		Priority: 999, // late, so API routes registered by other packages win
		Func: func(se *core.ServeEvent) error {
			if !se.Router.HasRoute(http.MethodGet, "/{path...}") {
				// gzip cuts the PWA's first view about 3× on a phone's connection
				se.Router.GET("/{path...}", apis.Static(files, true)).BindFunc(cacheHeaders).
					Bind(apis.GzipWithConfig(apis.GzipConfig{MinLength: 1024}))
			}
			return se.Next()
		},
	})
}

// cacheHeaders keeps service workers and HTML always revalidated (so an update
// takes over cleanly) and hides the Go sources of this package.
func cacheHeaders(e *core.RequestEvent) error {
	p := e.Request.PathValue("path")
	if strings.HasSuffix(p, ".go") || strings.HasPrefix(p, "api/") {
		// an unknown API path is a JSON 404, not the citizen app's page
		return e.NotFoundError("", nil)
	}
	if p == "" || strings.HasSuffix(p, "/") || strings.HasSuffix(p, ".html") || strings.HasSuffix(p, "service-worker.js") || strings.HasSuffix(p, ".webmanifest") {
		e.Response.Header().Set("Cache-Control", "no-cache")
	}
	return e.Next()
}
