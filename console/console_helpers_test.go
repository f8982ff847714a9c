package console_test

import (
	"testing"

	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// answersOf are valid answers for each demo service.
var answersOf = map[string]map[string]any{
	"pothole":               {"size": "medium"},
	"streetlight":           {"problem": "off"},
	"residence_certificate": {"purpose": "bank", "copies": 1, "delivery": "digital"},
	"enquiry":               {"topic": "Tari", "question": "When is it due?"},
}

// file creates a request of service for citizen (nil = system actor) through the hooks.
func file(t testing.TB, w *testkit.World, service string, citizen *core.Record, fields map[string]any) *core.Record {
	t.Helper()
	col, err := w.App.FindCollectionByNameOrId("requests")
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"service": w.Services[service], "answers": answersOf[service], "description": "A test request of " + service})
	if service == "pothole" || service == "streetlight" {
		rec.Set("location", types.GeoPoint{Lat: 44.4056, Lon: 8.9463})
		rec.Set("address", "Via Roma 1")
	}
	rec.Load(fields)
	actor := workflow.System
	if citizen != nil {
		rec.Set("citizen", citizen.Id)
		actor = workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id}
	}
	workflow.AttachActor(rec, actor)
	if err := w.App.Save(rec); err != nil {
		t.Fatalf("file %s: %v", service, err)
	}
	return rec
}

// set updates a request through the hooks as the system actor.
func set(t testing.TB, w *testkit.World, rec *core.Record, fields map[string]any) *core.Record {
	t.Helper()
	fresh, err := w.App.FindRecordById("requests", rec.Id)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Load(fields)
	workflow.AttachActor(fresh, workflow.System)
	if err := w.App.Save(fresh); err != nil {
		t.Fatalf("update %s: %v", rec.Id, err)
	}
	return fresh
}

// sqlExec runs a statement (test fixtures that the hooks would not allow, e.g. a past due date).
func sqlExec(t testing.TB, w *testkit.World, sql string, params dbx.Params) {
	t.Helper()
	if _, err := w.App.DB().NewQuery(sql).Bind(params).Execute(); err != nil {
		t.Fatal(err)
	}
}
