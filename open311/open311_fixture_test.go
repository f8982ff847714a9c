package open311_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"civicdesk/city"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Personal data the fixture stores; no GET may ever show any of it.
var personal = []string{
	"Zelda", "Quux", "zelda.quux@example.net", "5550199", "device-ZQ-42", "acct-ZQ-77", // contact of the public request
	"Yolanda", "yolanda.p@example.net", "PRIVATE-CERT-TEXT", // the private service's request
	"CITIZEN-SECRET-COMMENT", "Maria Rossi", "citizen@demo.civicdesk.example", // a citizen's comment and account
	"PRIVATE-NOTE-STAFF", // a staff note not marked public
}

// Record ids of the fixture (tokens are record ids).
const (
	pubID  = "o311pubreq00001"
	privID = "o311privreq0001"
)

// fixtureNumbers are the numbers the fixture's requests get (the year's first two).
func fixtureNumbers() (pub, priv string) {
	y := time.Now().In(city.Default().Location).Year()
	return fmt.Sprintf("%d-000001", y), fmt.Sprintf("%d-000002", y)
}

// seedFixture files, through the data layer, a public pothole request by the
// demo Open311 client with every contact field, a residence certificate
// (private service) by a citizen with contact fields, and a timeline: a
// public status change with a note, a hidden staff note, a citizen comment.
func seedFixture(t testing.TB, app core.App) {
	t.Helper()
	client, err := app.FindFirstRecordByData("api_clients", "name", "Demo Open311 client")
	if err != nil {
		t.Fatal(err)
	}
	citizen, err := app.FindAuthRecordByEmail("citizens", "citizen@demo.civicdesk.example")
	if err != nil {
		t.Fatal(err)
	}
	svc := func(code string) string {
		s, err := app.FindFirstRecordByData("services", "code", code)
		if err != nil {
			t.Fatal(err)
		}
		return s.Id
	}
	col, _ := app.FindCollectionByNameOrId("requests")
	pub := core.NewRecord(col)
	pub.Id = pubID
	pub.Load(map[string]any{
		"service": svc("pothole"), "answers": map[string]any{"size": "large", "danger": "true"},
		"location": types.GeoPoint{Lat: 44.4071, Lon: 8.9339}, "address": "Piazza De Ferrari",
		"description": "Hole near the station", "contact_name": "Zelda Quux", "contact_email": "zelda.quux@example.net",
		"contact_phone": "+39 010 5550199", "device_id": "device-ZQ-42", "account_id": "acct-ZQ-77", "api_client": client.Id,
		"media_url": "https://media.example.net/hole.jpg",
	})
	workflow.AttachActor(pub, workflow.Actor{Kind: workflow.ActorOpen311, ID: client.Id})
	if err := app.Save(pub); err != nil {
		t.Fatalf("public request: %v", err)
	}
	priv := core.NewRecord(col)
	priv.Id = privID
	priv.Load(map[string]any{
		"service": svc("residence_certificate"), "citizen": citizen.Id,
		"answers":     map[string]any{"purpose": "bank", "copies": 1, "delivery": "digital"},
		"description": "PRIVATE-CERT-TEXT", "contact_name": "Yolanda P", "contact_email": "yolanda.p@example.net",
	})
	workflow.AttachActor(priv, workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id})
	if err := app.Save(priv); err != nil {
		t.Fatalf("private request: %v", err)
	}
	pub.Set("status", workflow.StatusInProgress)
	pub.Set("status_note", "Crew scheduled")
	workflow.AttachActor(pub, workflow.System)
	if err := app.Save(pub); err != nil {
		t.Fatal(err)
	}
	evs, _ := app.FindCollectionByNameOrId("request_events")
	for _, e := range []struct {
		msg    string
		public bool
		actor  workflow.Actor
	}{
		{"PRIVATE-NOTE-STAFF", false, workflow.Actor{Kind: workflow.ActorSuperuser, ID: "root"}},
		{"Patched tomorrow", true, workflow.Actor{Kind: workflow.ActorSuperuser, ID: "root"}},
	} {
		ev := core.NewRecord(evs)
		ev.Load(map[string]any{"request": pubID, "type": "comment", "message": e.msg, "public": e.public})
		workflow.AttachActor(ev, e.actor)
		if err := app.Save(ev); err != nil {
			t.Fatal(err)
		}
	}
	// a citizen's comment on their own (private) request, and one filed on the public one by the system in their name
	ev := core.NewRecord(evs)
	ev.Load(map[string]any{"request": privID, "type": "comment", "message": "CITIZEN-SECRET-COMMENT"})
	workflow.AttachActor(ev, workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id})
	if err := app.Save(ev); err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB().NewQuery("INSERT INTO request_events (id, request, type, message, public, author_type, author, created, updated) " +
		"VALUES ('o311citcomment1', '" + pubID + "', 'comment', 'CITIZEN-SECRET-COMMENT', TRUE, 'citizen', '" + citizen.Id + "', strftime('%Y-%m-%d %H:%M:%fZ'), strftime('%Y-%m-%d %H:%M:%fZ'))").Execute(); err != nil {
		t.Fatal(err)
	}
}

// newFixtureWorld is a seeded city with the fixture.
func newFixtureWorld(t testing.TB) *testkit.World {
	w := testkit.NewApp(t)
	seedFixture(t, w.App)
	return w
}

var (
	snapshotOnce sync.Once
	snapshotDir  string
	snapshotErr  error
)

// snapshotApp returns a fresh app on a copy of one seeded data dir (the demo
// city plus the fixture), so each tests.ApiScenario gets its own app without
// paying for the seed again.
func snapshotApp(t testing.TB) *tests.TestApp {
	t.Helper()
	snapshotOnce.Do(func() {
		app, err := tests.NewTestApp()
		if err != nil {
			snapshotErr = err
			return
		}
		defer app.Cleanup()
		testkit.RegisterAll(app)
		if _, err := testkit.Seed(app); err != nil {
			snapshotErr = err
			return
		}
		seedFixture(t, app)
		for _, db := range []dbx.Builder{app.DB(), app.AuxDB()} {
			if _, err := db.NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
				snapshotErr = err
				return
			}
		}
		snapshotDir, snapshotErr = os.MkdirTemp("", "civicdesk-open311-")
		if snapshotErr == nil {
			snapshotErr = os.CopyFS(snapshotDir, os.DirFS(app.DataDir()))
		}
	})
	if snapshotErr != nil {
		t.Fatalf("seeded snapshot: %v", snapshotErr)
	}
	app, err := tests.NewTestApp(snapshotDir)
	if err != nil {
		t.Fatal(err)
	}
	testkit.RegisterAll(app)
	return app
}

func TestMain(m *testing.M) {
	code := m.Run()
	if snapshotDir != "" {
		_ = os.RemoveAll(snapshotDir)
	}
	os.Exit(code)
}
