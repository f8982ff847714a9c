package websec

import (
	"net/http"

	"github.com/pocketbase/pocketbase/core"
)

// PathSignOutEverywhere is the citizens' "sign out everywhere" route; the
// staff console has the same shape at /api/staff/signout-everywhere.
const PathSignOutEverywhere = "/api/mobile/signout-everywhere"

// handleSignOutEverywhere rotates the caller's tokenKey: every auth and file
// token issued to the account (on any phone or computer) stops working at
// once, the current one included. 204 on success.
func handleSignOutEverywhere(e *core.RequestEvent) error {
	rec, err := e.App.FindRecordById(e.Auth.Collection(), e.Auth.Id)
	if err != nil {
		return e.NotFoundError("", err)
	}
	rec.RefreshTokenKey()
	if err := e.App.Save(rec); err != nil {
		return e.InternalServerError("Could not sign out everywhere.", err)
	}
	e.App.Logger().Info("civicdesk: signed out everywhere", "collection", rec.Collection().Name, "record", rec.Id)
	return e.NoContent(http.StatusNoContent)
}
