package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// onEventCreate keeps request_events honest: people (citizens, staff,
// superusers in the dashboard) may only add comments; every other type is
// written by the workflow itself. A citizen's comment is always public.
func onEventCreate(e *core.RecordEvent) error {
	return inTx(e, func() error {
		ev := e.Record
		actor := workflow.ActorOf(ev)
		if actor.Kind == workflow.ActorSystem {
			return e.Next() // written by appendEvent or a job, already complete
		}
		typ := ev.GetString("type")
		if typ != "comment" && (typ != "not_fixed" || actor.Kind != workflow.ActorCitizen) {
			return validation.Errors{"type": validation.NewError("validation_comment_only", "Only comments (and the owner's \"not fixed\") can be added; the other events are written by the workflow.")}
		}
		if strings.TrimSpace(ev.GetString("message")) == "" {
			return validation.Errors{"message": validation.NewError("validation_required", "Write a message.")}
		}
		var policy reopenPolicy
		req, err := e.App.FindRecordById(collRequests, ev.GetString("request"))
		if err != nil {
			return validation.Errors{"request": validation.NewError("validation_unknown_request", "No such request.")}
		}
		switch actor.Kind {
		case workflow.ActorCitizen:
			if req.GetString("citizen") != actor.ID {
				return validation.Errors{"request": validation.NewError("validation_not_yours", "You can comment only on your own requests.")}
			}
			ev.Set("public", true)
			if typ == "not_fixed" {
				if policy, err = checkNotFixed(e.App, req); err != nil {
					return err
				}
			}
		case workflow.ActorOpen311:
			// an update relayed by an API client (FixMyStreet's servicerequestupdates): public like the citizen's own
			ev.Set("public", true)
		case workflow.ActorStaff, workflow.ActorSuperuser:
		default:
			return validation.Errors{"type": validation.NewError("validation_forbidden", "This client cannot add comments.")}
		}
		ev.Set("from_status", "")
		ev.Set("to_status", "")
		ev.Set("author", actor.ID)
		ev.Set("author_type", authorType(actor))

		if err := e.Next(); err != nil {
			return err
		}
		if actor.Kind == workflow.ActorCitizen {
			return afterCitizenEvent(e.App, req, ev, actor, policy)
		}
		if ev.GetBool("public") {
			return workflow.Of(e.App).OnPublicNote.Trigger(&workflow.Event{
				App: e.App, Request: req, Entry: ev, Actor: actor,
				From: req.GetString("status"), To: req.GetString("status"),
			})
		}
		return nil
	})
}

// onEventUpdate makes the log append-only: only `public` may change (staff
// hiding a note posted by mistake, which sync then delivers as a deletion).
func onEventUpdate(e *core.RecordEvent) error {
	orig, err := e.App.FindRecordById(collEvents, e.Record.Id)
	if err != nil {
		return fmt.Errorf("load stored event %s: %w", e.Record.Id, err)
	}
	errs := validation.Errors{}
	for _, f := range e.Record.Collection().Fields {
		name := f.GetName()
		if slices.Contains([]string{"public", "updated"}, name) {
			continue
		}
		if !sameValue(e.Record.Get(name), orig.Get(name)) {
			errs[name] = validation.NewError("validation_append_only", "Events cannot be edited; only their visibility can change.")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if workflow.ActorOf(e.Record).Kind == workflow.ActorCitizen {
		return validation.Errors{"public": validation.NewError("validation_forbidden", "Only staff can change an event's visibility.")}
	}
	return e.Next()
}

// onEventDelete refuses deleting an event while its request exists: the log is
// append-only. Deleting the request itself cascades (PocketBase deletes the
// parent first, then its children, in one transaction).
func onEventDelete(e *core.RecordEvent) error {
	_, err := e.App.FindRecordById(collRequests, e.Record.GetString("request"))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return e.Next()
	case err != nil:
		return fmt.Errorf("check parent of event %s: %w", e.Record.Id, err)
	}
	return validation.Errors{"id": validation.NewError("validation_append_only", "Events cannot be deleted; delete the request instead.")}
}
