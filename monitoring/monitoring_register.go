// Package monitoring is what an operator watches: the readiness probe
// GET /api/ready, the Prometheus endpoint GET /api/metrics (bearer token from
// CIVICDESK_METRICS_TOKEN), and a request id on every request (the
// X-Request-Id header and the request log's meta). /api/health stays
// PocketBase's liveness probe. Other rooms are observed from the outside:
// HTTP middleware, their Stats functions, and cheap cached database counts.
// docs/operations.md "Readiness and metrics" lists every series.
package monitoring

import (
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Route paths.
const (
	PathReady   = "/api/ready"
	PathMetrics = "/api/metrics"
)

// Hook ids, so tests and plugins can find or Unbind them.
const (
	HookIDRoutes     = "civicdeskMonitoringRoutes"
	HookIDMiddleware = "civicdeskMonitoringMiddleware"
)

// middlewarePriority runs the middleware around everything else, PocketBase's
// activity logger and panic recovery included, so it sees the final status.
const middlewarePriority = apis.DefaultActivityLoggerMiddlewarePriority - 1

// storeKey holds the app's *Metrics in app.Store().
const storeKey = "civicdesk.monitoring"

// Register mounts the readiness and metrics routes and the HTTP middleware.
func Register(app core.App) {
	m := newMetrics(app)
	app.Store().Set(storeKey, m)
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDRoutes,
		Func: func(se *core.ServeEvent) error {
			se.Router.Bind(&hook.Handler[*core.RequestEvent]{
				Id:       HookIDMiddleware,
				Priority: middlewarePriority,
				Func:     m.middleware,
			})
			se.Router.GET(PathReady, func(e *core.RequestEvent) error { return handleReady(e, m) })
			se.Router.GET(PathMetrics, m.handleMetrics)
			return se.Next()
		},
	})
}

// Of returns the app's metrics (nil before Register).
func Of(app core.App) *Metrics {
	m, _ := app.Store().Get(storeKey).(*Metrics)
	return m
}
