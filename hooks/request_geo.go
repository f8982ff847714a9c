package hooks

import (
	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// onRequestGeo copies `location` into the hidden geo_lat/geo_lon numbers on
// every write, so "public requests of this service in this box" is a range on
// idx_requests_geo (a JSON field cannot be indexed by PocketBase's index list).
func onRequestGeo(e *core.RecordEvent) error {
	loc := e.Record.GetGeoPoint("location")
	e.Record.Set("geo_lat", loc.Lat)
	e.Record.Set("geo_lon", loc.Lon)
	return e.Next()
}

// onFollowCreate lets a citizen follow only a request they may know of: an
// open request of a public service, not their own (they get its pushes anyway).
func onFollowCreate(e *core.RecordEvent) error {
	f := e.Record
	if a := workflow.ActorOf(f); a.Kind == workflow.ActorCitizen && f.GetString("citizen") != a.ID {
		return validation.Errors{"citizen": validation.NewError("validation_not_yourself", "You can follow requests only for yourself.")}
	}
	req, err := e.App.FindRecordById(collRequests, f.GetString("request"))
	if err != nil {
		return validation.Errors{"request": validation.NewError("validation_unknown_request", "No such request.")}
	}
	svc, err := e.App.FindRecordById(collServices, req.GetString("service"))
	if err != nil || !svc.GetBool("public") {
		return validation.Errors{"request": validation.NewError("validation_unknown_request", "No such request.")}
	}
	if workflow.IsClosed(req.GetString("status")) {
		return validation.Errors{"request": validation.NewError("validation_request_closed", "This request is closed.")}
	}
	if req.GetString("citizen") == f.GetString("citizen") {
		return validation.Errors{"request": validation.NewError("validation_own_request", "This is your own request: you are told about it anyway.")}
	}
	return e.Next()
}
