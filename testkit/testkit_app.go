// Package testkit builds test apps and real servers for civicdesk's tests:
// an in-process PocketBase TestApp with every package registered and the demo
// city seeded, and the real binary started on a free port for black-box tests.
package testkit

import (
	"fmt"
	"net/http"
	"testing"

	"civicdesk/changelog"
	"civicdesk/city"
	"civicdesk/demo"
	"civicdesk/rooms"
	"civicdesk/sqlitedb"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/spf13/cobra"
)

// World is a seeded test city: ids and tokens of one account per role.
type World struct {
	App *tests.TestApp

	Departments map[string]string // code -> id
	Services    map[string]string // code -> id

	CitizenA, CitizenB *core.Record
	ClerkRoads         *core.Record // clerk of "roads" (the pothole department)
	ClerkRegistry      *core.Record // clerk of "registry"
	Supervisor         *core.Record
	Superuser          *core.Record
	Open311Key         string // the demo city's Open311 api_key (scope write)

	handler http.Handler // built once by Handler
}

// Option adjusts a test app before the packages are registered.
type Option func(app *tests.TestApp)

// WithCity sets the city configuration.
func WithCity(cfg city.Config) Option {
	return func(app *tests.TestApp) { city.Set(app, cfg) }
}

// NewApp returns a test app with every civicdesk package registered (as main.go
// does) and the demo city seeded. Cleanup is registered on t.
func NewApp(t testing.TB, opts ...Option) *World {
	t.Helper()
	// the binary's own DBConnect, so every test runs the driver and pragmas main.go runs
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir(), EncryptionEnv: "pb_test_env", DBConnect: sqlitedb.Connect})
	if err != nil {
		t.Fatalf("test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	RegisterAll(app, opts...)
	w, err := Seed(app)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return w
}

// RegisterAll applies opts and registers every civicdesk package on app, through rooms.Register, as main.go does.
func RegisterAll(app *tests.TestApp, opts ...Option) {
	city.Set(app, city.Default())
	demo.SkipWeeks(app) // worlds start without the demo's request history
	for _, o := range opts {
		o(app)
	}
	if err := changelog.EnsureSchema(app); err != nil {
		panic(err)
	}
	rooms.Register(app, &cobra.Command{})
}

// Seed seeds the demo city plus a second citizen and a superuser, and returns the World.
func Seed(app *tests.TestApp) (*World, error) {
	accounts, err := demo.Seed(app)
	if err != nil {
		return nil, err
	}
	w := &World{App: app, Departments: map[string]string{}, Services: map[string]string{}}
	for _, name := range []string{"departments", "services"} {
		recs, err := app.FindAllRecords(name)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		for _, r := range recs {
			if name == "departments" {
				w.Departments[r.GetString("code")] = r.Id
			} else {
				w.Services[r.GetString("code")] = r.Id
			}
		}
	}
	find := func(collection, email string) (*core.Record, error) {
		return app.FindAuthRecordByEmail(collection, email)
	}
	for _, a := range accounts {
		if a.Collection == "api_clients" {
			w.Open311Key = a.Password // the demo's Open311 API key (not an auth record)
			continue
		}
		rec, err := find(a.Collection, a.Email)
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", a.Email, err)
		}
		switch {
		case a.Collection == "citizens":
			w.CitizenA = rec
		case a.Role == "supervisor":
			w.Supervisor = rec
		case a.Department == "roads":
			w.ClerkRoads = rec
		case a.Department == "registry":
			w.ClerkRegistry = rec
		}
	}
	if w.CitizenB, err = NewAccount(app, "citizens", "citizen.b@demo.civicdesk.example", map[string]any{"name": "Bence Kovács", "lang": "hu"}); err != nil {
		return nil, err
	}
	if w.Superuser, err = NewAccount(app, core.CollectionNameSuperusers, "root@demo.civicdesk.example", nil); err != nil {
		return nil, err
	}
	return w, nil
}

// NewAccount creates a verified auth record with password demo.DefaultPassword.
func NewAccount(app core.App, collection, email string, fields map[string]any) (*core.Record, error) {
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", collection, err)
	}
	rec := core.NewRecord(col)
	rec.Load(fields)
	rec.SetEmail(email)
	rec.SetPassword(demo.DefaultPassword)
	rec.SetVerified(true)
	if err := app.Save(rec); err != nil {
		return nil, fmt.Errorf("create %s %s: %w", collection, email, err)
	}
	return rec, nil
}

// Token returns a fresh auth token for rec (fails the test on error).
func Token(t testing.TB, rec *core.Record) string {
	t.Helper()
	if rec == nil {
		return ""
	}
	tok, err := rec.NewAuthToken()
	if err != nil {
		t.Fatalf("token for %s: %v", rec.Email(), err)
	}
	return tok
}

// Factory adapts a World builder to tests.ApiScenario.TestAppFactory.
func (w *World) Factory() func(testing.TB) *tests.TestApp {
	return func(testing.TB) *tests.TestApp { return w.App }
}
