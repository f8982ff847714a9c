package hooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// editable lists the request fields each kind of actor may change. Anything
// else is locked for them: a 400 names the field. Superusers and the system
// may change everything but the identity fields (lockedForAll).
var editable = map[workflow.ActorKind][]string{
	workflow.ActorCitizen: {"status", "photos", "status_note", "answers", "description", "address", "location"}, // the note only as a cancellation reason; the rest only while received (request_citizen.go)
	workflow.ActorStaff:   {"status", "status_note", "assignee", "priority", "photos", "paid_at", "payment_ref", "service", "duplicate_of"},
}

// supervisorEditable are the extra fields a supervisor may change (routing).
var supervisorEditable = []string{"department"}

// lockedForAll never change after creation, whoever asks.
var lockedForAll = []string{"number", "created"}

// onRequestUpdate enforces who may change what and the transition table, then
// appends the matching events and fires the domain events, in one transaction.
func onRequestUpdate(e *core.RecordEvent) error {
	return inTx(e, func() error {
		rec := e.Record
		// the stored row, not rec.Original(): a record saved twice in one
		// transaction (sync creates, then attaches) keeps its pre-create original
		orig, err := e.App.FindRecordById(collRequests, rec.Id)
		if err != nil {
			return fmt.Errorf("load stored request %s: %w", rec.Id, err)
		}
		actor := workflow.ActorOf(rec)
		if err := checkNotChanged(e.App, rec, orig); err != nil {
			return err
		}

		changed := changedFields(rec, orig)
		if err := checkEditable(actor, changed); err != nil {
			return err
		}
		staff, err := applyStaffChanges(e.App, rec, orig, actor, changed)
		if err != nil {
			return err
		}
		changed = changedFields(rec, orig) // the department (and a released assignee) follow a re-route

		from, to := orig.GetString("status"), rec.GetString("status")
		statusChanged := from != to
		if actor.Kind == workflow.ActorCitizen && slices.Contains(changed, "status_note") && !statusChanged {
			return validation.Errors{"status_note": validation.NewError("validation_field_locked", "A note can only accompany a cancellation.")}
		}
		if actor.Kind == workflow.ActorCitizen {
			if err := checkCitizenUpdate(e.App, rec, orig, changed, from, to); err != nil {
				return err
			}
		}
		if statusChanged && actor.IsStaffLike() {
			rec.Set("not_fixed_at", "") // staff decided on a pending "not fixed"
		}
		if statusChanged {
			if err := workflow.CanTransition(actor, from, to); err != nil {
				return validation.Errors{"status": transitionError(err)}
			}
			if !slices.Contains(changed, "status_note") {
				rec.Set("status_note", "") // a note belongs to the status it was written with
			}
			switch {
			case to == workflow.StatusResolved:
				rec.Set("resolved_at", types.NowDateTime())
			case from == workflow.StatusResolved:
				rec.Set("resolved_at", "") // reopened
			}
			if workflow.IsClosed(to) {
				rec.Set("overdue", false)
			}
		}
		// photos may follow a "not fixed" that waits for a clerk (the request stays resolved)
		if actor.Kind == workflow.ActorCitizen && workflow.IsClosed(from) && slices.Contains(changed, "photos") && orig.GetString("not_fixed_at") == "" {
			return validation.Errors{"photos": validation.NewError("validation_request_closed", "This request is closed.")}
		}
		if err := checkPhotoPolicy(e.App, rec, orig); err != nil {
			return err
		}
		if err := checkPhotoHeaders(rec); err != nil {
			return err
		}

		if err := e.Next(); err != nil {
			return err
		}
		if actor.Kind == workflow.ActorCitizen {
			if err := afterCitizenEdit(e.App, rec, actor, changed); err != nil {
				return err
			}
		}
		if err := afterRequestUpdate(e.App, rec, orig, actor, changed); err != nil {
			return err
		}
		return staff.after(e.App, rec, actor)
	})
}

// afterRequestUpdate appends the events for a saved change and fires the domain events.
func afterRequestUpdate(app core.App, rec, orig *core.Record, actor workflow.Actor, changed []string) error {
	hooks := workflow.Of(app)
	from, to := orig.GetString("status"), rec.GetString("status")

	if from != to {
		entry, err := appendEvent(app, rec, actor, eventFields{Type: "status", From: from, To: to, Message: rec.GetString("status_note"), Public: true})
		if err != nil {
			return err
		}
		if err := hooks.OnStatusChanged.Trigger(&workflow.Event{App: app, Request: rec, Entry: entry, Actor: actor, From: from, To: to}); err != nil {
			return err
		}
	} else if slices.Contains(changed, "status_note") && rec.GetString("status_note") != "" {
		// a new public note without a status change
		entry, err := appendEvent(app, rec, actor, eventFields{Type: "comment", Message: rec.GetString("status_note"), Public: true})
		if err != nil {
			return err
		}
		if err := hooks.OnPublicNote.Trigger(&workflow.Event{App: app, Request: rec, Entry: entry, Actor: actor, From: from, To: to}); err != nil {
			return err
		}
	}

	if slices.Contains(changed, "assignee") || slices.Contains(changed, "department") {
		msg := assignmentMessage(app, rec, changed)
		if _, err := appendEvent(app, rec, actor, eventFields{Type: "assignment", Message: msg, Public: false}); err != nil {
			return err
		}
	}

	if added := len(rec.GetStringSlice("photos")) - len(orig.GetStringSlice("photos")); added > 0 {
		if _, err := appendEvent(app, rec, actor, eventFields{Type: "photo", Message: fmt.Sprintf("%d", added), Public: true}); err != nil {
			return err
		}
	}

	if orig.GetString("paid_at") == "" && rec.GetString("paid_at") != "" {
		entry, err := appendEvent(app, rec, actor, eventFields{Type: "payment", Message: rec.GetString("payment_ref"), Public: true})
		if err != nil {
			return err
		}
		if err := hooks.OnPaymentRecorded.Trigger(&workflow.Event{App: app, Request: rec, Entry: entry, Actor: actor, From: from, To: to}); err != nil {
			return err
		}
	}
	return nil
}

func assignmentMessage(app core.App, rec *core.Record, changed []string) string {
	var parts []string
	if slices.Contains(changed, "department") {
		parts = append(parts, "department: "+nameOf(app, "departments", rec.GetString("department")))
	}
	if slices.Contains(changed, "assignee") {
		who := "nobody"
		if id := rec.GetString("assignee"); id != "" {
			who = nameOf(app, "staff", id)
		}
		parts = append(parts, "assignee: "+who)
	}
	return strings.Join(parts, "; ")
}

func nameOf(app core.App, collection, id string) string {
	r, err := app.FindRecordById(collection, id)
	if err != nil {
		return id
	}
	if n := r.GetString("name"); n != "" {
		return n
	}
	return id
}

// changedFields lists the fields whose stored value differs from the original.
func changedFields(rec, orig *core.Record) []string {
	var out []string
	for _, f := range rec.Collection().Fields {
		name := f.GetName()
		if name == "updated" || name == "id" {
			continue
		}
		if name == "photos" {
			if len(rec.GetUnsavedFiles("photos")) > 0 || !slices.Equal(rec.GetStringSlice("photos"), orig.GetStringSlice("photos")) {
				out = append(out, name)
			}
			continue
		}
		if !sameValue(rec.Get(name), orig.Get(name)) {
			out = append(out, name)
		}
	}
	return out
}

// checkEditable refuses changes to fields the actor may not touch.
func checkEditable(actor workflow.Actor, changed []string) error {
	errs := validation.Errors{}
	for _, f := range changed {
		if slices.Contains(lockedForAll, f) {
			errs[f] = validation.NewError("validation_field_locked", "This field cannot be changed.")
			continue
		}
		switch actor.Kind {
		case workflow.ActorSuperuser, workflow.ActorSystem:
			continue
		case workflow.ActorStaff:
			if slices.Contains(editable[workflow.ActorStaff], f) || (actor.Role == workflow.RoleSupervisor && slices.Contains(supervisorEditable, f)) {
				continue
			}
		default:
			if slices.Contains(editable[actor.Kind], f) {
				continue
			}
		}
		errs[f] = validation.NewError("validation_field_locked", fmt.Sprintf("You cannot change %s.", f))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// checkPhotoPolicy refuses photos for services that take none.
func checkPhotoPolicy(app core.App, rec, orig *core.Record) error {
	added := len(rec.GetUnsavedFiles("photos")) > 0 || len(rec.GetStringSlice("photos")) > len(orig.GetStringSlice("photos"))
	if !added {
		return nil
	}
	svc, err := loadService(app, rec.GetString("service"))
	if err != nil {
		return fmt.Errorf("load service of request %s: %w", rec.Id, err)
	}
	if svc.Photos == "none" {
		return validation.Errors{"photos": validation.NewError("validation_photos_not_accepted", "This service does not take photos.")}
	}
	return nil
}

// transitionError turns a workflow error into a field error with its stable code.
func transitionError(err error) error {
	if te, ok := err.(*workflow.TransitionError); ok {
		return validation.NewError("validation_"+te.Code, te.Message)
	}
	return err
}

// sameValue compares two field values by their JSON form, so a map and the
// stored JSON it was saved as, or []string and []any, compare equal.
func sameValue(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return fmt.Sprint(a) == fmt.Sprint(b)
	}
	if bytes.Equal(ja, jb) {
		return true
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
