package consultations_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"civicdesk/consultations"
	mobileapi "civicdesk/mobile-api"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// clock is a settable test clock.
type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) set(t time.Time) { c.t.Store(&t) }
func (c *clock) now() time.Time  { return *c.t.Load() }

// world is a test city with a consultation service on a test clock.
type world struct {
	*testkit.World
	clock *clock
	svc   *consultations.Service
}

func newWorld(t testing.TB) *world {
	w := testkit.NewApp(t)
	c := &clock{}
	c.set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	svc := consultations.Of(w.App)
	svc.SetClock(c.now)
	return &world{World: w, clock: c, svc: svc}
}

// questions is a consultation with one question of each kind.
var questions = []map[string]any{
	{"id": "park", "kind": "single", "required": true, "title": map[string]string{"en": "Which park?"}, "other": true,
		"options": []map[string]any{{"id": "north", "label": map[string]string{"en": "North"}}, {"id": "south", "label": map[string]string{"en": "South"}}}},
	{"id": "uses", "kind": "multiple", "min": 1, "max": 2, "title": map[string]string{"en": "Uses?"},
		"options": []map[string]any{{"id": "play", "label": map[string]string{"en": "Play"}}, {"id": "sport", "label": map[string]string{"en": "Sport"}}, {"id": "rest", "label": map[string]string{"en": "Rest"}}}},
	{"id": "rank", "kind": "ranking", "topK": 2, "title": map[string]string{"en": "Rank"},
		"options": []map[string]any{{"id": "a", "label": map[string]string{"en": "A"}}, {"id": "b", "label": map[string]string{"en": "B"}}, {"id": "c", "label": map[string]string{"en": "C"}}}},
	{"id": "ideas", "kind": "text", "maxLength": 20, "title": map[string]string{"en": "Ideas"}},
}

// newConsultation saves a scheduled consultation through the data layer as
// the supervisor; fields override the defaults.
func (w *world) newConsultation(t testing.TB, fields map[string]any) *core.Record {
	t.Helper()
	col, err := w.App.FindCollectionByNameOrId(consultations.CollConsultations)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"code": fmt.Sprintf("T%d", time.Now().UnixNano()%1e9), "title": map[string]string{"en": "Parks", "it": "Parchi"},
		"status": "scheduled", "time_zone": "Europe/Rome",
		"opens_local": "2026-03-01T00:00", "closes_local": "2026-03-20T23:59",
		"questions": questions,
	})
	rec.Load(fields)
	workflow.AttachActor(rec, workflow.ActorFromAuth(w.Supervisor))
	if err := w.App.Save(rec); err != nil {
		t.Fatalf("save consultation: %v", err)
	}
	return rec
}

// device is one installation of the app: a clientID with its mutation counter.
type device struct {
	citizen *core.Record
	id      string
	next    int64
}

func newDevice(citizen *core.Record, name string) *device {
	return &device{citizen: citizen, id: "dev-" + name + "-" + citizen.Id, next: 1}
}

// mutation builds the next ballot.cast of d.
func (d *device) cast(consultationID string, base int64, answers map[string]any, clientTime time.Time) mobileapi.Mutation {
	args, _ := json.Marshal(map[string]any{"consultationId": consultationID, "baseVersion": base, "answers": answers})
	m := mobileapi.Mutation{ID: d.next, Name: consultations.MutationCast, Args: args}
	if !clientTime.IsZero() {
		m.ClientTime = clientTime.UTC().Format(time.RFC3339Nano)
	}
	d.next++
	return m
}

type result struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Error  *struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"error"`
}

// push sends ms from d and returns the decoded results.
func (w *world) push(t testing.TB, d *device, ms ...mobileapi.Mutation) []result {
	t.Helper()
	resp, err := mobileapi.Push(w.App, d.citizen.Id, &mobileapi.PushRequest{ClientID: d.id, Mutations: ms})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	b, _ := json.Marshal(resp)
	var out struct {
		Results []result `json:"results"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Results
}

func code(r result) string {
	if r.Error == nil {
		return r.Status
	}
	return r.Error.Code
}

var goodAnswers = map[string]any{
	"park":  map[string]any{"options": []string{"north"}},
	"uses":  map[string]any{"options": []string{"play", "rest"}},
	"rank":  map[string]any{"options": []string{"b", "a"}},
	"ideas": map[string]any{"text": "more trees"},
}

func ballotRows(t testing.TB, app core.App, consultationID string) (n int, version int) {
	t.Helper()
	err := app.DB().NewQuery("SELECT COUNT(*), COALESCE(MAX(version), 0) FROM ballots WHERE consultation = {:c}").
		Bind(map[string]any{"c": consultationID}).Row(&n, &version)
	if err != nil {
		t.Fatal(err)
	}
	return n, version
}

func tokenOf(t testing.TB, w *world) string { return testkit.Token(t, w.CitizenA) }

func supervisorActor(w *world) workflow.Actor { return workflow.ActorFromAuth(w.Supervisor) }

// saveErr tries to save a consultation with fields and returns the error.
func saveErr(w *world, fields map[string]any) error {
	col, err := w.App.FindCollectionByNameOrId(consultations.CollConsultations)
	if err != nil {
		return err
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"code": "X1", "title": map[string]string{"en": "x"}, "opens_local": "2026-03-01T00:00", "closes_local": "2026-03-20T23:59", "questions": questions})
	rec.Load(fields)
	return w.App.Save(rec)
}

func newCitizen(w *world, i int) (*core.Record, error) {
	return testkit.NewAccount(w.App, "citizens", fmt.Sprintf("voter%d@demo.civicdesk.example", i), map[string]any{"lang": "en"})
}
