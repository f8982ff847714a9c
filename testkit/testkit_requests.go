package testkit

import (
	"testing"

	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// NewRequest files a pothole request for citizen through the data layer
// (the same hooks as every path) and returns it.
func (w *World) NewRequest(t testing.TB, citizen *core.Record) *core.Record {
	t.Helper()
	return w.file(t, citizen, map[string]any{
		"service":  w.Services["pothole"],
		"answers":  map[string]any{"size": "medium"},
		"location": types.GeoPoint{Lat: 44.4056, Lon: 8.9463},
		"address":  "Via Roma 1",
	})
}

// file saves a new request with fields, as citizen (nil: the system).
func (w *World) file(t testing.TB, citizen *core.Record, fields map[string]any) *core.Record {
	t.Helper()
	col, err := w.App.FindCachedCollectionByNameOrId("requests")
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Load(fields)
	actor := workflow.System
	if citizen != nil {
		rec.Set("citizen", citizen.Id)
		actor = workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id}
	}
	workflow.AttachActor(rec, actor)
	if err := w.App.Save(rec); err != nil {
		t.Fatalf("file %v: %v", fields["service"], err)
	}
	return rec
}

// MoveTo moves a request to status through allowed steps as the system actor.
func (w *World) MoveTo(t testing.TB, rec *core.Record, status string) *core.Record {
	t.Helper()
	fresh, err := w.App.FindRecordById("requests", rec.Id)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.GetString("status") == status {
		return fresh
	}
	fresh.Set("status", status)
	workflow.AttachActor(fresh, workflow.System)
	if err := w.App.Save(fresh); err != nil {
		t.Fatalf("move %s to %s: %v", rec.Id, status, err)
	}
	return fresh
}

// FileCertificate files a residence certificate for citizen through the data
// layer: a service with a fee on filing (0.52 EUR, registry department).
func (w *World) FileCertificate(t testing.TB, citizen *core.Record) *core.Record {
	t.Helper()
	return w.file(t, citizen, map[string]any{
		"service": w.Services["residence_certificate"],
		"answers": map[string]any{"purpose": "bank", "copies": 1, "delivery": "digital"},
	})
}
