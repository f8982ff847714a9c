// Package mobileapi is the citizen app's API: offline sync, uploads, catalogue (CONTRACT §4).
//
// Push applies named mutations exactly once per (clientID, mutation id); pull
// reads the change sequence of package changelog in one snapshot; photos
// arrive over tus 1.0 and go through package photos before they are attached.
// docs/sync-protocol.md is the protocol for client writers.
package mobileapi

import (
	"strings"

	"civicdesk/ratelimit"

	"fmt"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Hook ids, so tests and plugins can find or Unbind them.
const (
	HookIDRoutes        = "civicdeskMobileRoutes"
	HookIDPokeCreate    = "civicdeskMobilePokeCreate"
	HookIDPokeUpdate    = "civicdeskMobilePokeUpdate"
	HookIDPokeDelete    = "civicdeskMobilePokeDelete"
	HookIDSubscribeSync = "civicdeskMobileSubscribeSync"
)

// Route paths.
const (
	PathPush    = "/api/mobile/sync/push"
	PathPull    = "/api/mobile/sync/pull"
	PathCatalog = "/api/mobile/catalog"
	PathUploads = "/api/mobile/uploads/"
)

// Register mounts the mobile API routes and binds the realtime pokes.
func Register(app core.App) {
	limit := ratelimit.New(citizenRate, citizenBurst)
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDRoutes,
		Func: func(se *core.ServeEvent) error {
			uploads, err := newUploads(se.App)
			if err != nil {
				return fmt.Errorf("civicdesk: mobile uploads: %w", err)
			}
			se.Router.GET(PathCatalog, handleCatalog)

			sync := se.Router.Group("/api/mobile/sync")
			sync.Bind(apis.RequireAuth("citizens"))
			sync.BindFunc(rateLimitCitizen(limit))
			sync.POST("/push", handlePush)
			sync.POST("/pull", handlePull)

			up := se.Router.Group(strings.TrimSuffix(PathUploads, "/"))
			up.Bind(apis.RequireAuth("citizens"))
			up.BindFunc(rateLimitCitizen(limit))
			uploads.mount(up)
			if err := se.Next(); err != nil {
				return err
			}
			// the server's handler exists once the chain has built it (not
			// in tests through the router alone)
			if se.Server != nil && se.Server.Handler != nil {
				se.Server.Handler = keepRawUploadBody(se.Server.Handler)
			}
			return nil
		},
	})

	app.OnRecordAfterCreateSuccess(pokeCollections...).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPokeCreate, Func: pokeAfterCommit})
	app.OnRecordAfterUpdateSuccess(pokeCollections...).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPokeUpdate, Func: pokeAfterCommit})
	app.OnRecordAfterDeleteSuccess(pokeCollections...).Bind(&hook.Handler[*core.RecordEvent]{Id: HookIDPokeDelete, Func: pokeAfterCommit})
	app.OnRealtimeSubscribeRequest().Bind(&hook.Handler[*core.RealtimeSubscribeRequestEvent]{Id: HookIDSubscribeSync, Func: guardSyncTopics})
}
