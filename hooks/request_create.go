package hooks

import (
	"strings"
	"time"

	"civicdesk/city"
	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// onRequestCreate accepts a new request on any path: it validates it against
// its service, stamps the server-owned fields, and in the same transaction
// writes the `created` event and fires workflow's OnAccepted.
func onRequestCreate(e *core.RecordEvent) error {
	return inTx(e, func() error {
		rec := e.Record
		actor := workflow.ActorOf(rec)

		svc, err := loadService(e.App, rec.GetString("service"))
		if err != nil {
			return err
		}
		if err := checkCreateRequest(rec, svc, actor); err != nil {
			return err
		}
		if err := checkPhotoHeaders(rec); err != nil {
			return err
		}
		if err := checkOfficeCreate(e.App, rec, svc, actor); err != nil {
			return err
		}

		now := time.Now()
		// a request re-pushed after a restore keeps the number on its receipt when it is free
		number, err := keepNumber(e.App, workflow.KeptNumber(rec))
		if err != nil {
			return err
		}
		if number == "" {
			if number, err = nextNumber(e.App, now.In(city.Of(e.App).Location)); err != nil {
				return err
			}
		}
		stampNewRequest(rec, svc, actor, number, now)
		if err := checkAssignee(e.App, rec); err != nil {
			return err
		}

		if err := e.Next(); err != nil {
			return err
		}

		entry, err := appendEvent(e.App, rec, actor, eventFields{Type: "created", To: workflow.StatusReceived, Public: true})
		if err != nil {
			return err
		}
		return workflow.Of(e.App).OnAccepted.Trigger(&workflow.Event{
			App: e.App, Request: rec, Entry: entry, Actor: actor, To: workflow.StatusReceived,
		})
	})
}

// checkCreateRequest applies the service's rules to a new request: active
// service, form answers, location and photo policies.
func checkCreateRequest(rec *core.Record, svc *serviceRules, actor workflow.Actor) error {
	errs := validation.Errors{}
	if !svc.Active {
		errs["service"] = validation.NewError("validation_inactive_service", "This service does not accept requests at the moment.")
		return errs
	}
	if actor.Kind == workflow.ActorCitizen && rec.GetString("citizen") != actor.ID {
		errs["citizen"] = validation.NewError("validation_not_yourself", "A citizen can file requests only for themselves.")
	}

	if answers, err := checkAnswers(rec, svc); err != nil {
		errs["answers"] = err
	} else {
		rec.Set("answers", answers)
	}

	loc := rec.GetGeoPoint("location")
	hasLoc := loc.Lat != 0 || loc.Lon != 0
	switch svc.Location {
	case "required":
		// a point on the map, or an address for people without one (the app works without a map)
		if !hasLoc && strings.TrimSpace(rec.GetString("address")) == "" {
			errs["location"] = validation.NewError("validation_required", "This service needs the location of the problem: a point on the map or an address.")
		}
	case "none":
		if hasLoc {
			errs["location"] = validation.NewError("validation_location_not_accepted", "This service does not take a location.")
		}
	}

	photos := len(rec.GetUnsavedFiles("photos")) + workflow.PendingPhotos(rec)
	switch svc.Photos {
	case "required":
		if photos == 0 {
			errs["photos"] = validation.NewError("validation_required", "This service needs at least one photo.")
		}
	case "none":
		if photos > 0 {
			errs["photos"] = validation.NewError("validation_photos_not_accepted", "This service does not take photos.")
		}
	}
	if photos > maxPhotos {
		errs["photos"] = validation.NewError("validation_max_photos", "At most 5 photos per request.")
	}

	if len(errs) > 0 {
		return errs
	}
	return nil
}

// maxPhotos is the photo limit of a request (CONTRACT §4.3).
const maxPhotos = 5

// checkAnswers validates the record's answers against the service's form.
func checkAnswers(rec *core.Record, svc *serviceRules) (map[string]any, error) {
	fields, err := svc.form()
	if err != nil {
		return nil, validation.NewError("validation_service_form_broken", "This service's form is misconfigured; staff have been told.")
	}
	answers := map[string]any{}
	if raw := rec.GetString("answers"); raw != "" && raw != "null" {
		if err := rec.UnmarshalJSONField("answers", &answers); err != nil {
			return nil, validation.NewError("validation_not_object", "Answers must be an object keyed by question code.")
		}
	}
	return workflow.ValidateAnswers(fields, answers)
}

// stampNewRequest sets every field the server owns on a new request.
func stampNewRequest(rec *core.Record, svc *serviceRules, actor workflow.Actor, number string, now time.Time) {
	rec.Set("number", number)
	rec.Set("status", workflow.StatusReceived)
	rec.Set("department", svc.Department)
	rec.Set("fee", svc.Fee)
	rec.Set("currency", svc.Currency)
	rec.Set("resolved_at", "")
	rec.Set("paid_at", "")
	rec.Set("payment_ref", "")
	rec.Set("overdue", false)
	rec.Set("anonymized", false)
	rec.Set("duplicate_of", "")
	if h := svc.SLAHours; h > 0 {
		due, _ := types.ParseDateTime(now.Add(time.Duration(h) * time.Hour))
		rec.Set("due_at", due)
	} else {
		rec.Set("due_at", "")
	}
	if actor.Kind == workflow.ActorCitizen || actor.Kind == workflow.ActorOpen311 {
		// routing and priority are the staff's call
		rec.Set("assignee", "")
		rec.Set("priority", "normal")
	}
	if rec.GetString("priority") == "" {
		rec.Set("priority", "normal")
	}
	if rec.GetString("source") == "" {
		switch actor.Kind {
		case workflow.ActorCitizen:
			rec.Set("source", "app")
		case workflow.ActorOpen311:
			rec.Set("source", "open311")
		default:
			rec.Set("source", "office")
		}
	}
}
