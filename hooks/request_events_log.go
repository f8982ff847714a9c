package hooks

import (
	"fmt"

	"civicdesk/rawinsert"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// eventFields describes one request_events row.
type eventFields struct {
	Type     string
	From, To string
	Message  string
	Public   bool
}

// appendEvent writes a request_events row for rec in app's transaction.
//
// The workflow's own rows (created, status, assignment, photo, payment, edit,
// rating) are written with a prepared INSERT (package rawinsert): every value
// is the server's, checked by the field validators without the hook chain and
// the relation lookups of a Save (rec is the request being written). A
// comment written from a clerk's note is a person's text and goes through
// app.Save and the event hooks, like every comment.
func appendEvent(app core.App, rec *core.Record, actor workflow.Actor, f eventFields) (*core.Record, error) {
	values := map[string]any{
		"request":     rec.Id,
		"type":        f.Type,
		"from_status": f.From,
		"to_status":   f.To,
		"message":     f.Message,
		"public":      f.Public,
		"author":      actor.ID,
		"author_type": authorType(actor),
	}
	if f.Type != "comment" {
		ev, err := rawinsert.Insert(app, collEvents, values)
		if err != nil {
			return nil, fmt.Errorf("append %s event for request %s: %w", f.Type, rec.Id, err)
		}
		return ev, nil
	}
	col, err := app.FindCachedCollectionByNameOrId(collEvents)
	if err != nil {
		return nil, fmt.Errorf("request_events collection: %w", err)
	}
	ev := core.NewRecord(col)
	ev.Load(values)
	workflow.AttachActor(ev, workflow.System) // written by the workflow itself, so any type is allowed
	if err := app.Save(ev); err != nil {
		return nil, fmt.Errorf("append %s event for request %s: %w", f.Type, rec.Id, err)
	}
	return ev, nil
}

func authorType(a workflow.Actor) string {
	switch a.Kind {
	case workflow.ActorCitizen, workflow.ActorStaff, workflow.ActorSuperuser, workflow.ActorOpen311:
		return string(a.Kind)
	}
	return string(workflow.ActorSystem)
}
