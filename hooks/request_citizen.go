package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// citizenEditable are the fields the owner may correct while the request is
// still `received` (typos, personal data pasted by mistake).
var citizenEditable = []string{"answers", "description", "address", "location"}

// Reopen modes of a service (services.reopen_mode).
const (
	ReopenModeReopen = "reopen" // "not fixed" moves the request back to in_progress
	ReopenModeClerk  = "clerk"  // "not fixed" marks it (not_fixed_at) for a clerk to decide
)

// reopenPolicy is a service's "not fixed" window and what a "not fixed" does.
type reopenPolicy struct {
	Days int    `db:"reopen_days"`
	Mode string `db:"reopen_mode"`
}

func loadReopenPolicy(app core.App, serviceID string) (reopenPolicy, error) {
	var p reopenPolicy
	err := app.DB().NewQuery("SELECT COALESCE([[reopen_days]], 0) AS [[reopen_days]], COALESCE([[reopen_mode]], '') AS [[reopen_mode]] FROM [[services]] WHERE [[id]] = {:id}").
		Bind(dbx.Params{"id": serviceID}).One(&p)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("load reopen policy of service %s: %w", serviceID, err)
	}
	if p.Mode == "" {
		p.Mode = ReopenModeReopen
	}
	return p, nil
}

// ReopenUntil is the end of a resolved request's "not fixed" window (zero when
// the service offers none or the request is not resolved).
func ReopenUntil(resolvedAt types.DateTime, days int) time.Time {
	if resolvedAt.IsZero() || days <= 0 {
		return time.Time{}
	}
	return resolvedAt.Time().Add(time.Duration(days) * 24 * time.Hour)
}

// checkCitizenUpdate applies the owner's rules to a change of their request:
// edits only while `received`, validated like a new request; a move to
// in_progress only as the effect of their reply or "not fixed" event.
func checkCitizenUpdate(app core.App, rec, orig *core.Record, changed []string, from, to string) error {
	edited := editedFields(changed)
	if len(edited) > 0 {
		if from != workflow.StatusReceived || from != to {
			return validation.Errors{edited[0]: validation.NewError("validation_not_editable",
				fmt.Sprintf("A request can be edited only while it is %q; it is %q.", workflow.StatusReceived, from))}
		}
		svc, err := loadService(app, rec.GetString("service"))
		if err != nil {
			return err
		}
		if err := checkEditedRequest(rec, svc); err != nil {
			return err
		}
	}
	if from != to && to == workflow.StatusInProgress && !workflow.CitizenAnswer(rec) {
		return validation.Errors{"status": validation.NewError("validation_invalid_transition",
			"Reply to the city's question (or say it is not fixed) to send the request back; the status cannot be set directly.")}
	}
	return nil
}

func editedFields(changed []string) []string {
	var out []string
	for _, f := range changed {
		if slices.Contains(citizenEditable, f) {
			out = append(out, f)
		}
	}
	return out
}

// checkEditedRequest validates an edited request as the create hook validates
// a new one: form answers (normalized) and the location policy.
func checkEditedRequest(rec *core.Record, svc *serviceRules) error {
	errs := validation.Errors{}
	if answers, err := checkAnswers(rec, svc); err != nil {
		errs["answers"] = err
	} else {
		rec.Set("answers", answers)
	}
	loc := rec.GetGeoPoint("location")
	hasLoc := loc.Lat != 0 || loc.Lon != 0
	switch svc.Location {
	case "required":
		if !hasLoc && strings.TrimSpace(rec.GetString("address")) == "" {
			errs["location"] = validation.NewError("validation_required", "This service needs the location of the problem: a point on the map or an address.")
		}
	case "none":
		if hasLoc {
			errs["location"] = validation.NewError("validation_location_not_accepted", "This service does not take a location.")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// afterCitizenEdit logs the owner's edit as a public `edit` event naming the
// changed fields (never their old values: the edit may remove personal data).
func afterCitizenEdit(app core.App, rec *core.Record, actor workflow.Actor, changed []string) error {
	edited := editedFields(changed)
	if len(edited) == 0 {
		return nil
	}
	_, err := appendEvent(app, rec, actor, eventFields{Type: "edit", Message: strings.Join(edited, ", "), Public: true})
	return err
}

// checkNotFixed refuses a "not fixed" outside the service's window.
func checkNotFixed(app core.App, req *core.Record) (reopenPolicy, error) {
	p, err := loadReopenPolicy(app, req.GetString("service"))
	if err != nil {
		return p, err
	}
	if req.GetString("status") != workflow.StatusResolved {
		return p, validation.Errors{"request": validation.NewError("validation_not_resolved", "Only a resolved request can be reported as not fixed.")}
	}
	if p.Days <= 0 {
		return p, validation.Errors{"request": validation.NewError("validation_reopen_not_offered", "This service does not take \"not fixed\" reports; file a new request.")}
	}
	until := ReopenUntil(req.GetDateTime("resolved_at"), p.Days)
	if !until.IsZero() && time.Now().After(until) {
		return p, validation.Errors{"request": validation.NewError("validation_reopen_window_closed",
			fmt.Sprintf("A \"not fixed\" report is possible for %d days after resolution; file a new request.", p.Days))}
	}
	if req.GetString("not_fixed_at") != "" {
		return p, validation.Errors{"request": validation.NewError("validation_not_fixed_pending", "A \"not fixed\" report is already waiting for a clerk.")}
	}
	return p, nil
}

// afterCitizenEvent is the workflow's answer to the owner's event: a reply
// while the city waits for them sends the request back to the clerk
// (in_progress, by the citizen); a "not fixed" reopens it or marks it for a
// clerk, as the service chooses.
func afterCitizenEvent(app core.App, req, ev *core.Record, actor workflow.Actor, policy reopenPolicy) error {
	switch {
	case ev.GetString("type") == "comment" && req.GetString("status") == workflow.StatusWaitingCitizen:
		req.Set("status", workflow.StatusInProgress)
	case ev.GetString("type") == "not_fixed" && policy.Mode == ReopenModeClerk:
		// the status stays `resolved`; the mark puts it in the clerk's queue
		req.Set("not_fixed_at", types.NowDateTime())
		workflow.AttachActor(req, workflow.System)
		if err := app.Save(req); err != nil {
			return fmt.Errorf("mark request %s not fixed: %w", req.Id, err)
		}
		return nil
	case ev.GetString("type") == "not_fixed":
		req.Set("status", workflow.StatusInProgress)
	default:
		return nil
	}
	workflow.AttachActor(req, actor)
	workflow.MarkCitizenAnswer(req)
	return app.Save(req)
}
