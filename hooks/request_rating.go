package hooks

import (
	"fmt"

	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// collRatings is the outcome questionnaire (one per request).
const collRatings = "request_ratings"

// onRatingSave keeps request_ratings honest on every path (sync's
// request.rate, the dashboard): the rating belongs to the request's owner, the
// request is resolved, and the service is copied for the supervisor's figures.
// The first rating of a request is logged as a public `rating` event, so the
// citizen's other devices learn about it through sync.
func onRatingSave(e *core.RecordEvent) error {
	return inTx(e, func() error {
		r := e.Record
		req, err := e.App.FindRecordById(collRequests, r.GetString("request"))
		if err != nil {
			return validation.Errors{"request": validation.NewError("validation_unknown_request", "No such request.")}
		}
		actor := workflow.ActorOf(r)
		if actor.Kind == workflow.ActorCitizen && req.GetString("citizen") != actor.ID {
			return validation.Errors{"request": validation.NewError("validation_not_yours", "You can rate only your own requests.")}
		}
		if req.GetString("status") != workflow.StatusResolved {
			return validation.Errors{"request": validation.NewError("validation_not_resolved", "A request can be rated once it is resolved.")}
		}
		if !r.IsNew() && r.Original().GetString("request") != r.GetString("request") {
			return validation.Errors{"request": validation.NewError("validation_field_locked", "A rating cannot move to another request.")}
		}
		r.Set("citizen", req.GetString("citizen"))
		r.Set("service", req.GetString("service"))
		isNew := r.IsNew()
		if err := e.Next(); err != nil {
			return err
		}
		if !isNew {
			return nil
		}
		msg := fmt.Sprintf("%d/5", r.GetInt("satisfaction"))
		_, err = appendEvent(e.App, req, actor, eventFields{Type: "rating", Message: msg, Public: true})
		return err
	})
}
