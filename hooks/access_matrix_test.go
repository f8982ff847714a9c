package hooks_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The authorization matrix: every collection × {anonymous, citizen A, citizen B,
// clerk X (roads, owns the request's department), clerk Y (registry),
// supervisor, superuser} × {list, view, create, update, delete} through the
// records API. "Allowed" is written out from CONTRACT §2 "Access rules"; every
// denied cell must leak nothing (no target id in the body) and write nothing.

var matrixActors = []string{"anonymous", "citizenA", "citizenB", "clerkX", "clerkY", "supervisor", "superuser"}

type matrixRow struct {
	label      string
	collection string
	// shared target for list and view
	target func(t *testing.T) *core.Record
	// fresh target for update and delete (nil = use target)
	fresh func(t *testing.T) *core.Record
	// createBody returns a create payload (nil = create is not part of this row)
	createBody  func() string
	updateBody  func() string
	updateField string
	allowed     map[string][]string // op -> actors
}

var seq atomic.Int64

func unique(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	actors := map[string]*core.Record{
		"citizenA": w.CitizenA, "citizenB": w.CitizenB, "clerkX": w.ClerkRoads,
		"clerkY": w.ClerkRegistry, "supervisor": w.Supervisor, "superuser": w.Superuser,
	}
	tokens := map[string]string{"anonymous": ""}
	for name, rec := range actors {
		tokens[name] = testkit.Token(t, rec)
	}

	reqA := w.NewRequest(t, w.CitizenA)
	publicEvent, err := w.App.FindFirstRecordByFilter("request_events", "request = {:r} && type = 'created'", map[string]any{"r": reqA.Id})
	if err != nil {
		t.Fatal(err)
	}
	internalNote := newEvent(t, w, reqA, false)
	receipt := receiptFor(t, w, reqA)
	sub := newSubscription(t, w, w.CitizenA)
	apiClient := newRecord(t, w, "api_clients", map[string]any{"name": "FixMyStreet", "active": true})

	all := matrixActors
	superOnly := []string{"superuser"}
	ownerAndStaff := []string{"citizenA", "clerkX", "supervisor", "superuser"}

	rows := []matrixRow{
		{
			label: "citizens", collection: "citizens",
			target: func(*testing.T) *core.Record { return w.CitizenA },
			fresh: func(t *testing.T) *core.Record {
				rec, err := testkit.NewAccount(w.App, "citizens", unique("c")+"@example.org", nil)
				if err != nil {
					t.Fatal(err)
				}
				return rec
			},
			createBody: func() string {
				return fmt.Sprintf(`{"email":%q,"password":"long-enough-pass","passwordConfirm":"long-enough-pass"}`, unique("new")+"@example.org")
			},
			updateBody: func() string { return fmt.Sprintf(`{"name":%q}`, unique("Name ")) }, updateField: "name",
			allowed: map[string][]string{
				"list": {"citizenA", "supervisor", "superuser"}, "view": {"citizenA", "clerkX", "supervisor", "superuser"},
				"create": all, "update": {"superuser"}, "delete": superOnly,
			},
		},
		{
			label: "citizens_self_update", collection: "citizens",
			target:     func(*testing.T) *core.Record { return w.CitizenA },
			updateBody: func() string { return fmt.Sprintf(`{"name":%q}`, unique("Maria R")) }, updateField: "name",
			allowed: map[string][]string{"update": {"citizenA", "superuser"}},
		},
		{
			label: "staff", collection: "staff",
			target: func(*testing.T) *core.Record { return w.ClerkRoads },
			fresh: func(t *testing.T) *core.Record {
				rec, err := testkit.NewAccount(w.App, "staff", unique("s")+"@example.org", map[string]any{"name": "Temp", "role": "clerk"})
				if err != nil {
					t.Fatal(err)
				}
				return rec
			},
			createBody: func() string {
				return fmt.Sprintf(`{"email":%q,"password":"long-enough-pass","passwordConfirm":"long-enough-pass","name":"New","role":"supervisor"}`, unique("st")+"@example.org")
			},
			updateBody: constBody(`{"role":"supervisor"}`), updateField: "role",
			allowed: map[string][]string{
				"list": {"clerkX", "clerkY", "supervisor", "superuser"}, "view": {"clerkX", "clerkY", "supervisor", "superuser"},
				"create": superOnly, "update": superOnly, "delete": superOnly,
			},
		},
		{
			label: "departments", collection: "departments",
			target: func(*testing.T) *core.Record {
				rec, _ := w.App.FindRecordById("departments", w.Departments["roads"])
				return rec
			},
			fresh: func(t *testing.T) *core.Record {
				return newRecord(t, w, "departments", map[string]any{"code": unique("d"), "name": "Temp"})
			},
			createBody: func() string { return fmt.Sprintf(`{"code":%q,"name":"New department"}`, unique("nd")) },
			updateBody: constBody(`{"name":"Renamed"}`), updateField: "name",
			allowed: map[string][]string{"list": all, "view": all, "create": superOnly, "update": superOnly, "delete": superOnly},
		},
		{
			label: "services", collection: "services",
			target: func(*testing.T) *core.Record {
				rec, _ := w.App.FindRecordById("services", w.Services["pothole"])
				return rec
			},
			fresh: func(t *testing.T) *core.Record {
				return newRecord(t, w, "services", map[string]any{"code": unique("sv"), "name": "Temp", "department": w.Departments["roads"], "location": "none", "photos": "none", "active": true})
			},
			createBody: func() string {
				return fmt.Sprintf(`{"code":%q,"name":"New","department":%q,"location":"none","photos":"none","active":true}`, unique("ns"), w.Departments["roads"])
			},
			updateBody: constBody(`{"active":false}`), updateField: "active",
			allowed: map[string][]string{"list": all, "view": all, "create": superOnly, "update": superOnly, "delete": superOnly},
		},
		{
			label: "requests", collection: "requests",
			target: func(*testing.T) *core.Record { return reqA },
			fresh:  func(t *testing.T) *core.Record { return w.NewRequest(t, w.CitizenA) },
			createBody: func() string {
				return fmt.Sprintf(`{"citizen":%q,"service":%q,"answers":{"size":"small"},"location":{"lat":44.4,"lon":8.9}}`, w.CitizenA.Id, w.Services["pothole"])
			},
			updateBody: constBody(`{"priority":"urgent"}`), updateField: "priority",
			allowed: map[string][]string{
				// staff file on behalf of a person for services of their departments (source office)
				"list": ownerAndStaff, "view": ownerAndStaff, "create": {"citizenA", "clerkX", "supervisor", "superuser"},
				"update": {"clerkX", "supervisor", "superuser"}, "delete": superOnly,
			},
		},
		{
			label: "request_events_public", collection: "request_events",
			target: func(*testing.T) *core.Record { return publicEvent },
			fresh:  func(t *testing.T) *core.Record { return newEvent(t, w, reqA, true) },
			createBody: func() string {
				return fmt.Sprintf(`{"request":%q,"type":"comment","message":"Any news?","public":true}`, reqA.Id)
			},
			updateBody: constBody(`{"public":false}`), updateField: "public",
			allowed: map[string][]string{
				"list": ownerAndStaff, "view": ownerAndStaff, "create": ownerAndStaff,
				"update": {"clerkX", "supervisor", "superuser"}, "delete": nil, // append-only, even for superusers
			},
		},
		{
			label: "request_events_internal", collection: "request_events",
			target:  func(*testing.T) *core.Record { return internalNote },
			allowed: map[string][]string{"list": {"clerkX", "supervisor", "superuser"}, "view": {"clerkX", "supervisor", "superuser"}},
		},
		{
			label: "receipts", collection: "receipts",
			target: func(*testing.T) *core.Record { return receipt },
			fresh:  func(t *testing.T) *core.Record { return receiptFor(t, w, w.NewRequest(t, w.CitizenA)) },
			createBody: func() string {
				return fmt.Sprintf(`{"request":%q,"code":"CR1:FORGED","kind":"payment","issued_at":"2026-11-25 10:00:00.000Z"}`, reqA.Id)
			},
			updateBody: constBody(`{"revoked":true}`), updateField: "revoked",
			allowed: map[string][]string{"list": ownerAndStaff, "view": ownerAndStaff, "create": superOnly, "update": superOnly, "delete": superOnly},
		},
		{
			label: "push_subscriptions", collection: "push_subscriptions",
			target: func(*testing.T) *core.Record { return sub },
			fresh: func(t *testing.T) *core.Record {
				trimSubscriptions(t, w, w.CitizenA, sub)
				return newSubscription(t, w, w.CitizenA)
			},
			createBody: func() string {
				trimSubscriptions(t, w, w.CitizenA, sub)
				p, a := pushKeys(t)
				return fmt.Sprintf(`{"citizen":%q,"endpoint":"https://fcm.googleapis.com/fcm/send/%s","keys":{"p256dh":%q,"auth":%q},"lang":"it"}`, w.CitizenA.Id, unique("e"), p, a)
			},
			updateBody: constBody(`{"lang":"hu"}`), updateField: "lang",
			allowed: map[string][]string{
				"list": {"citizenA", "superuser"}, "view": {"citizenA", "superuser"},
				"create": superOnly, "update": superOnly, "delete": {"citizenA", "superuser"},
			},
		},
		{
			label: "api_clients", collection: "api_clients",
			target: func(*testing.T) *core.Record { return apiClient },
			fresh: func(t *testing.T) *core.Record {
				return newRecord(t, w, "api_clients", map[string]any{"name": unique("client"), "active": true})
			},
			createBody: func() string { return fmt.Sprintf(`{"name":%q,"active":true}`, unique("nc")) },
			updateBody: constBody(`{"active":false}`), updateField: "active",
			allowed: map[string][]string{"list": superOnly, "view": superOnly, "create": superOnly, "update": superOnly, "delete": superOnly},
		},
	}

	base := func(c string) string { return "/api/collections/" + c + "/records" }
	for _, row := range rows {
		for _, actor := range matrixActors {
			token := tokens[actor]
			for _, op := range []string{"list", "view", "create", "update", "delete"} {
				allowedActors, inRow := row.allowed[op]
				if !inRow {
					continue
				}
				want := slices.Contains(allowedActors, actor)
				t.Run(fmt.Sprintf("%s_%s_%s", row.label, actor, op), func(t *testing.T) {
					switch op {
					case "list":
						target := row.target(t)
						res := w.Do(t, http.MethodGet, base(row.collection)+"?perPage=500&skipTotal=1", token, "")
						got := res.Status == http.StatusOK && strings.Contains(res.Body, `"id":"`+target.Id+`"`)
						if got != want {
							t.Fatalf("listed=%v, want %v (status %d)", got, want, res.Status)
						}
					case "view":
						target := row.target(t)
						res := w.Do(t, http.MethodGet, base(row.collection)+"/"+target.Id, token, "")
						if want && res.Status != http.StatusOK {
							t.Fatalf("status %d, want 200: %s", res.Status, res.Body)
						}
						if !want && (res.Status == http.StatusOK || strings.Contains(res.Body, target.Id)) {
							t.Fatalf("leak: status %d body %s", res.Status, res.Body)
						}
					case "create":
						body := row.createBody()
						before, _ := w.App.CountRecords(row.collection)
						res := w.Do(t, http.MethodPost, base(row.collection), token, body)
						after, _ := w.App.CountRecords(row.collection)
						if want && (res.Status != http.StatusOK || after != before+1) {
							t.Fatalf("status %d (count %d->%d), want created: %s", res.Status, before, after, res.Body)
						}
						if !want && (res.Status < 400 || res.Status >= 500 || after != before) {
							t.Fatalf("status %d (count %d->%d), want refused: %s", res.Status, before, after, res.Body)
						}
					case "update":
						target := row.target(t)
						if row.fresh != nil {
							target = row.fresh(t)
						}
						stored, err := w.App.FindRecordById(row.collection, target.Id)
						if err != nil {
							t.Fatal(err)
						}
						beforeVal := fmt.Sprint(stored.Get(row.updateField))
						res := w.Do(t, http.MethodPatch, base(row.collection)+"/"+target.Id, token, row.updateBody())
						fresh, err := w.App.FindRecordById(row.collection, target.Id)
						if err != nil {
							t.Fatal(err)
						}
						afterVal := fmt.Sprint(fresh.Get(row.updateField))
						if want && (res.Status != http.StatusOK || afterVal == beforeVal) {
							t.Fatalf("status %d (%s %s->%s), want updated: %s", res.Status, row.updateField, beforeVal, afterVal, res.Body)
						}
						if !want && (res.Status < 400 || res.Status >= 500 || afterVal != beforeVal) {
							t.Fatalf("status %d (%s %s->%s), want refused: %s", res.Status, row.updateField, beforeVal, afterVal, res.Body)
						}
					case "delete":
						target := row.fresh(t)
						res := w.Do(t, http.MethodDelete, base(row.collection)+"/"+target.Id, token, "")
						_, err := w.App.FindRecordById(row.collection, target.Id)
						gone := err != nil
						if want && (res.Status != http.StatusNoContent || !gone) {
							t.Fatalf("status %d (gone=%v), want deleted: %s", res.Status, gone, res.Body)
						}
						if !want && (res.Status < 400 || res.Status >= 500 || gone) {
							t.Fatalf("status %d (gone=%v), want refused: %s", res.Status, gone, res.Body)
						}
					}
				})
			}
		}
	}
}

// TestCitizenCannotFileForSomeoneElse checks the data layer as well as the rule:
// the records API refuses it, and so does a direct save with a citizen actor.
func TestCitizenCannotFileForSomeoneElse(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	col, _ := w.App.FindCollectionByNameOrId("requests")
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"citizen": w.CitizenA.Id, "service": w.Services["noise"], "answers": map[string]any{"source": "music", "ongoing": true}})
	workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: w.CitizenB.Id})
	err := w.App.Save(rec)
	if err == nil || !strings.Contains(err.Error(), "citizen") {
		t.Fatalf("save as citizen B for A: err = %v, want a citizen field error", err)
	}
}

func newRecord(t *testing.T, w *testkit.World, collection string, data map[string]any) *core.Record {
	t.Helper()
	col, err := w.App.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Load(data)
	if err := w.App.Save(rec); err != nil {
		t.Fatalf("create %s: %v", collection, err)
	}
	return rec
}

// newEvent adds a staff comment to req (public or internal) as clerk of roads.
func newEvent(t *testing.T, w *testkit.World, req *core.Record, public bool) *core.Record {
	t.Helper()
	col, _ := w.App.FindCollectionByNameOrId("request_events")
	ev := core.NewRecord(col)
	ev.Load(map[string]any{"request": req.Id, "type": "comment", "message": "Checked on site", "public": public})
	workflow.AttachActor(ev, workflow.ActorFromAuth(w.ClerkRoads))
	if err := w.App.Save(ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// receiptFor returns the request's receipt, inserting one if none was issued.
func receiptFor(t *testing.T, w *testkit.World, req *core.Record) *core.Record {
	t.Helper()
	if rec, err := w.App.FindFirstRecordByFilter("receipts", "request = {:r}", map[string]any{"r": req.Id}); err == nil {
		return rec
	}
	return newRecord(t, w, "receipts", map[string]any{"request": req.Id, "code": "CR1:TEST", "kind": "received", "issued_at": types.NowDateTime()})
}

func pushKeys(t *testing.T) (p256dh, auth string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 16)
	_, _ = rand.Read(a)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a)
}

func newSubscription(t *testing.T, w *testkit.World, citizen *core.Record) *core.Record {
	t.Helper()
	p, a := pushKeys(t)
	keys, _ := json.Marshal(map[string]string{"p256dh": p, "auth": a})
	return newRecord(t, w, "push_subscriptions", map[string]any{
		"citizen": citizen.Id, "endpoint": "https://fcm.googleapis.com/fcm/send/" + unique("sub"),
		"keys": string(keys), "lang": "it",
	})
}

func constBody(b string) func() string { return func() string { return b } }

// trimSubscriptions deletes citizen's subscriptions but keep, so fresh ones stay under the device limit.
func trimSubscriptions(t *testing.T, w *testkit.World, citizen, keep *core.Record) {
	t.Helper()
	subs, err := w.App.FindAllRecords("push_subscriptions", dbx.HashExp{"citizen": citizen.Id})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.Id != keep.Id {
			if err := w.App.Delete(s); err != nil {
				t.Fatal(err)
			}
		}
	}
}
