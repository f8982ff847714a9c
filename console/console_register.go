// Package console is the server side of the clerks' console at /staff/
// (issue 9): the queue and its counts, the request file, bulk actions,
// response templates, supervisor figures and CSV exports, staff
// notifications, photo redaction, and the one-time code mail of every auth
// collection. Writes go through app.Save, so hooks/ decides what is allowed.
// See docs/staff-api.md.
package console

import (
	"errors"
	"net/http"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

// HookIDRoutes is the id of the route registration handler.
const HookIDRoutes = "civicdesk.console.routes"

// PathPrefix is where the console's routes live.
const PathPrefix = "/api/staff"

// Register mounts the console routes and binds the console's hooks.
func Register(app core.App) {
	bindOTPMail(app)
	bindTemplates(app)
	bindNotifications(app)
	bindCron(app)
	bindFigureSchema(app)
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDRoutes,
		Func: func(se *core.ServeEvent) error {
			bindRoutes(se)
			return se.Next()
		},
	})
}

func bindRoutes(se *core.ServeEvent) {
	g := se.Router.Group(PathPrefix)
	g.Bind(apis.RequireAuth("staff"))
	g.GET("/queue", handleQueue)
	g.GET("/counts", handleCounts)
	g.GET("/export.csv", handleExport)
	g.POST("/signout-everywhere", handleSignoutEverywhere)
	g.GET("/requests/by-number/{number}", handleRequestByNumber)
	g.GET("/requests/{id}", handleRequestFile)
	g.POST("/requests/{id}/photos/{filename}/redact", handleRedact).Bind(apis.BodyLimit(16 << 10))
	g.POST("/templates/render", handleRenderTemplate)
	g.GET("/stats/{figure}", handleStats)
	g.GET("/notifications", handleNotifications)
	g.POST("/notifications/read", handleNotificationsRead)
	g.POST("/bulk", handleBulk).Bind(apis.BodyLimit(64 << 10))
}

// firstAPIError maps an error to the PocketBase error shape: an ApiError as
// is, field errors as 400, anything else 500.
func firstAPIError(e *core.RequestEvent, err error, badMsg string) error {
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		return e.BadRequestError(badMsg, verrs)
	}
	var verr validation.Error
	if errors.As(err, &verr) {
		return e.BadRequestError(badMsg, verr)
	}
	return e.InternalServerError("", err)
}

// handleSignoutEverywhere rotates the caller's token key: every token of the
// account (other counters, phones, stolen copies) stops working at once.
func handleSignoutEverywhere(e *core.RequestEvent) error {
	rec, err := e.App.FindRecordById("staff", e.Auth.Id)
	if err != nil {
		return e.NotFoundError("", err)
	}
	err = e.App.RunInTransaction(func(tx core.App) error {
		rec.RefreshTokenKey()
		if err := tx.Save(rec); err != nil {
			return err
		}
		return forgetStaffPush(tx, rec.Id)
	})
	if err != nil {
		return e.InternalServerError("Could not sign out everywhere.", err)
	}
	return e.NoContent(http.StatusNoContent)
}
