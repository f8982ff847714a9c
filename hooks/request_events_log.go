package hooks

import (
	"fmt"

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
func appendEvent(app core.App, rec *core.Record, actor workflow.Actor, f eventFields) (*core.Record, error) {
	col, err := app.FindCachedCollectionByNameOrId(collEvents)
	if err != nil {
		return nil, fmt.Errorf("request_events collection: %w", err)
	}
	ev := core.NewRecord(col)
	ev.Set("request", rec.Id)
	ev.Set("type", f.Type)
	ev.Set("from_status", f.From)
	ev.Set("to_status", f.To)
	ev.Set("message", f.Message)
	ev.Set("public", f.Public)
	ev.Set("author", actor.ID)
	ev.Set("author_type", authorType(actor))
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
