// Package websec is the web surface's security: the response headers of every
// route group (CSP, Permissions-Policy, HSTS, ...) from one table, CORS limited
// to the city's own origins, sign-in limits per address and per account, the
// password policy, "sign out everywhere", and cache rules for protected files.
// docs/security.md is the ASVS 5.0 checklist these controls answer.
package websec

import (
	"civicdesk/city"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/spf13/cobra"
)

// Hook ids, so tests and plugins can find or Unbind them.
const (
	HookIDServe      = "civicdeskWebsecServe"
	HookIDHeaders    = "civicdeskSecurityHeaders"
	HookIDCORS       = "civicdeskCors"
	HookIDSignIn     = "civicdeskSignInLimits"
	HookIDPassword   = "civicdeskPasswordPolicy"
	HookIDFileCache  = "civicdeskProtectedFileCache"
	HookIDURLFields  = "civicdeskURLFields"
	serveCommandName = "serve"
)

// Register binds the headers, CORS and sign-in middlewares on every route,
// the sign-out-everywhere route, the password policy and the file cache rule.
// rootCmd is read for an explicit `serve --origins`.
func Register(app core.App, rootCmd *cobra.Command) {
	signIn := newSignIn(DefaultSignInLimits)
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDServe,
		Func: func(se *core.ServeEvent) error {
			hs := newHeaderSet(se.App, appFiles())
			se.Router.Bind(&hook.Handler[*core.RequestEvent]{
				Id: HookIDHeaders,
				// right after PocketBase's own security headers, so ours win
				Priority: apis.DefaultSecurityHeadersMiddlewarePriority + 1,
				Func:     hs.middleware,
			})
			se.Router.Unbind(apis.DefaultCorsMiddlewareId)
			se.Router.Bind(corsHandler(CityOrigins(city.Of(se.App), serveOrigins(rootCmd)...)))
			se.Router.Bind(signIn.handler())
			se.Router.POST(PathSignOutEverywhere, handleSignOutEverywhere).Bind(apis.RequireAuth("citizens"))
			return se.Next()
		},
	})
	app.OnRecordValidate("citizens", "staff").Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPassword, Func: validatePassword})
	app.OnRecordValidate().Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDURLFields, Func: validateURLFields})
	app.OnFileDownloadRequest().Bind(&hook.Handler[*core.FileDownloadRequestEvent]{Id: HookIDFileCache, Func: protectedFileHeaders})
}

// serveOrigins returns `serve --origins` when the operator gave it (its
// default "*" is PocketBase's open door, which civicdesk does not keep).
func serveOrigins(rootCmd *cobra.Command) []string {
	if rootCmd == nil {
		return nil
	}
	for _, c := range rootCmd.Commands() {
		if c.Name() != serveCommandName {
			continue
		}
		if f := c.PersistentFlags().Lookup("origins"); f != nil && f.Changed {
			if v, err := c.PersistentFlags().GetStringSlice("origins"); err == nil {
				return v
			}
		}
	}
	return nil
}

// protectedFileHeaders keeps protected files (request photos) out of shared
// caches (PocketBase's default is public caching for 30 days) and no file
// framed by another site. PocketBase already serves anything but images,
// video, audio and PDF as an attachment, under a sandbox CSP.
func protectedFileHeaders(e *core.FileDownloadRequestEvent) error {
	h := e.Response.Header()
	h.Set("X-Frame-Options", "DENY") // PocketBase clears it for files; no other site may frame ours
	if e.FileField != nil && e.FileField.Protected {
		h.Set("Cache-Control", "private, no-store")
	}
	return e.Next()
}
