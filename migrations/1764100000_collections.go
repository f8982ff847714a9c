// Package migrations creates civicdesk's collections, rules, indexes, the
// change sequence and the app settings. Files sort in execution order.
package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Access rule building blocks (CONTRACT §2 "Access rules").
const (
	ruleCitizen    = "@request.auth.collectionName = 'citizens'"
	ruleStaff      = "@request.auth.collectionName = 'staff'"
	ruleSupervisor = "(" + ruleStaff + " && @request.auth.role = 'supervisor')"
)

// ruleStaffOf matches staff who may see a request whose department is deptExpr:
// supervisors see all, clerks their departments.
func ruleStaffOf(deptExpr string) string {
	return "(" + ruleStaff + " && (@request.auth.role = 'supervisor' || @request.auth.departments.id ?= " + deptExpr + "))"
}

func init() {
	m.Register(func(app core.App) error {
		for _, step := range []func(core.App) error{
			createDepartments, createStaff, createCitizens, createServices,
			createRequests, createRequestEvents, createReceipts, createPushSubscriptions, createAPIClients,
		} {
			if err := step(app); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, name := range []string{"api_clients", "push_subscriptions", "receipts", "request_events", "requests", "services", "citizens", "staff", "departments"} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			if err := app.Delete(c); err != nil {
				return fmt.Errorf("drop %s: %w", name, err)
			}
		}
		return nil
	})
}

func autodates(c *core.Collection) {
	c.Fields.Add(
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
}

func mustCollection(app core.App, name string) *core.Collection {
	c, err := app.FindCollectionByNameOrId(name)
	if err != nil {
		panic(fmt.Sprintf("migration order: collection %s missing: %v", name, err))
	}
	return c
}

func createDepartments(app core.App) error {
	c := core.NewBaseCollection("departments")
	c.ListRule = types.Pointer("")
	c.ViewRule = types.Pointer("")
	c.Fields.Add(
		&core.TextField{Name: "code", Required: true, Max: 32, Pattern: `^[a-z0-9_-]+$`, Presentable: true},
		&core.TextField{Name: "name", Required: true, Max: 200},
		&core.EmailField{Name: "email"},
		// i18n: {"it": {"name": "..."}, "en": {...}}
		&core.JSONField{Name: "i18n", MaxSize: 64 << 10},
	)
	autodates(c)
	c.AddIndex("idx_departments_code", true, "`code`", "")
	return app.Save(c)
}

func createStaff(app core.App) error {
	c := core.NewAuthCollection("staff")
	view := ruleStaff
	c.ListRule = types.Pointer(view)
	c.ViewRule = types.Pointer(view)
	c.PasswordAuth.Enabled = true
	c.PasswordAuth.IdentityFields = []string{"email"}
	c.AuthAlert.Enabled = false // no SMTP by default; a city turns it on with its mailer
	c.Fields.Add(
		&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
		&core.SelectField{Name: "role", Required: true, MaxSelect: 1, Values: []string{"clerk", "supervisor"}},
		&core.RelationField{Name: "departments", CollectionId: mustCollection(app, "departments").Id, MaxSelect: 50},
	)
	autodates(c)
	c.AddIndex("idx_staff_role", false, "`role`", "")
	return app.Save(c)
}

func createCitizens(app core.App) error {
	c := core.NewAuthCollection("citizens")
	// a citizen sees themselves; a supervisor sees all; a clerk sees citizens with a request in their departments
	self := "(" + ruleCitizen + " && id = @request.auth.id)"
	c.ListRule = types.Pointer(self + " || " + ruleSupervisor)
	c.ViewRule = c.ListRule // widened for clerks once requests exists (citizenViewRule)
	c.CreateRule = types.Pointer("")
	c.UpdateRule = types.Pointer(self)
	c.PasswordAuth.Enabled = true
	c.PasswordAuth.IdentityFields = []string{"email"}
	c.OTP.Enabled = true
	c.AuthAlert.Enabled = false
	c.Fields.Add(
		&core.TextField{Name: "name", Max: 100, Presentable: true},
		&core.SelectField{Name: "lang", MaxSelect: 1, Values: []string{"it", "en", "sv", "et", "hu"}},
		&core.BoolField{Name: "anonymized"},
	)
	autodates(c)
	return app.Save(c)
}

func createServices(app core.App) error {
	c := core.NewBaseCollection("services")
	c.ListRule = types.Pointer("")
	c.ViewRule = types.Pointer("")
	c.Fields.Add(
		&core.TextField{Name: "code", Required: true, Max: 64, Pattern: `^[a-z0-9_-]+$`, Presentable: true},
		&core.TextField{Name: "name", Required: true, Max: 200},
		&core.TextField{Name: "description", Max: 2000},
		&core.TextField{Name: "group", Max: 100},
		&core.TextField{Name: "keywords", Max: 500},
		&core.RelationField{Name: "department", Required: true, CollectionId: mustCollection(app, "departments").Id, MaxSelect: 1},
		// fields: the form schema, see docs/workflow.md "Form schema"
		&core.JSONField{Name: "fields", MaxSize: 64 << 10},
		&core.SelectField{Name: "location", Required: true, MaxSelect: 1, Values: []string{"none", "optional", "required"}},
		&core.SelectField{Name: "photos", Required: true, MaxSelect: 1, Values: []string{"none", "optional", "required"}},
		&core.NumberField{Name: "fee", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.TextField{Name: "currency", Max: 3, Pattern: `^[A-Z]{3}$`},
		&core.NumberField{Name: "sla_hours", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(24.0 * 365)},
		&core.BoolField{Name: "active"},
		&core.BoolField{Name: "public"},
		// i18n: {"it": {"name", "description", "group"}, ...}
		&core.JSONField{Name: "i18n", MaxSize: 256 << 10},
	)
	autodates(c)
	c.AddIndex("idx_services_code", true, "`code`", "")
	c.AddIndex("idx_services_department", false, "`department`", "")
	return app.Save(c)
}

func createRequests(app core.App) error {
	c := core.NewBaseCollection("requests")
	view := "(" + ruleCitizen + " && citizen = @request.auth.id) || " + ruleStaffOf("department")
	c.ListRule = types.Pointer(view)
	c.ViewRule = types.Pointer(view)
	c.CreateRule = types.Pointer(ruleCitizen + " && @request.body.citizen = @request.auth.id")
	c.UpdateRule = types.Pointer(view) // which fields each actor may change: hooks/
	c.Fields.Add(
		&core.TextField{Name: "number", Max: 32, Presentable: true},
		&core.RelationField{Name: "citizen", CollectionId: mustCollection(app, "citizens").Id, MaxSelect: 1},
		&core.RelationField{Name: "service", Required: true, CollectionId: mustCollection(app, "services").Id, MaxSelect: 1},
		&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"received", "in_progress", "waiting_citizen", "resolved", "rejected", "cancelled"}},
		&core.TextField{Name: "status_note", Max: 2000},
		&core.JSONField{Name: "answers", MaxSize: 64 << 10},
		&core.TextField{Name: "description", Max: 5000},
		&core.GeoPointField{Name: "location"},
		&core.TextField{Name: "address", Max: 300},
		&core.FileField{
			Name: "photos", MaxSelect: 5, MaxSize: 10 << 20, Protected: true,
			MimeTypes: []string{"image/jpeg", "image/png", "image/webp"},
			Thumbs:    []string{"320x240", "100x100"},
		},
		&core.RelationField{Name: "department", CollectionId: mustCollection(app, "departments").Id, MaxSelect: 1},
		&core.RelationField{Name: "assignee", CollectionId: mustCollection(app, "staff").Id, MaxSelect: 1},
		&core.SelectField{Name: "priority", MaxSelect: 1, Values: []string{"low", "normal", "high", "urgent"}},
		&core.SelectField{Name: "source", MaxSelect: 1, Values: []string{"app", "web", "open311", "office"}},
		&core.DateField{Name: "reported_at"},
		&core.DateField{Name: "due_at"},
		&core.DateField{Name: "resolved_at"},
		&core.BoolField{Name: "overdue"},
		&core.NumberField{Name: "fee", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.TextField{Name: "currency", Max: 3},
		&core.DateField{Name: "paid_at"},
		&core.TextField{Name: "payment_ref", Max: 64},
		// contact fields from Open311 POSTs: stored, never returned
		&core.TextField{Name: "contact_name", Max: 200, Hidden: true},
		&core.TextField{Name: "contact_email", Max: 200, Hidden: true},
		&core.TextField{Name: "contact_phone", Max: 50, Hidden: true},
		&core.BoolField{Name: "anonymized"},
	)
	autodates(c)
	c.AddIndex("idx_requests_number", true, "`number`", "`number` != ''")
	c.AddIndex("idx_requests_citizen", false, "`citizen`", "")
	c.AddIndex("idx_requests_department_status", false, "`department`, `status`", "")
	c.AddIndex("idx_requests_status", false, "`status`", "")
	c.AddIndex("idx_requests_service", false, "`service`", "")
	c.AddIndex("idx_requests_assignee", false, "`assignee`", "")
	c.AddIndex("idx_requests_due_at", false, "`due_at`", "")
	c.AddIndex("idx_requests_updated", false, "`updated`", "")
	if err := app.Save(c); err != nil {
		return err
	}
	return citizenViewRule(app)
}

// citizenViewRule lets a clerk view the citizens who filed a request in their
// departments (a back-relation, so it needs the requests collection).
func citizenViewRule(app core.App) error {
	c := mustCollection(app, "citizens")
	c.ViewRule = types.Pointer(*c.ListRule + " || (" + ruleStaff + " && requests_via_citizen.department ?= @request.auth.departments.id)")
	return app.Save(c)
}

func createRequestEvents(app core.App) error {
	c := core.NewBaseCollection("request_events")
	staffView := ruleStaffOf("request.department")
	c.ListRule = types.Pointer("(" + ruleCitizen + " && public = true && request.citizen = @request.auth.id) || " + staffView)
	c.ViewRule = c.ListRule
	c.CreateRule = types.Pointer("(" + ruleCitizen + " && request.citizen = @request.auth.id) || " + staffView)
	c.UpdateRule = types.Pointer(staffView) // only `public` may change: hooks/
	c.Fields.Add(
		&core.RelationField{Name: "request", Required: true, CollectionId: mustCollection(app, "requests").Id, MaxSelect: 1, CascadeDelete: true},
		&core.SelectField{Name: "type", Required: true, MaxSelect: 1, Values: []string{"created", "status", "comment", "assignment", "photo", "payment"}},
		&core.TextField{Name: "from_status", Max: 32},
		&core.TextField{Name: "to_status", Max: 32},
		&core.TextField{Name: "message", Max: 2000},
		&core.BoolField{Name: "public"},
		&core.TextField{Name: "author", Max: 32},
		&core.SelectField{Name: "author_type", MaxSelect: 1, Values: []string{"citizen", "staff", "superuser", "system", "open311"}},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	c.AddIndex("idx_request_events_request", false, "`request`, `created`", "")
	return app.Save(c)
}

func createReceipts(app core.App) error {
	c := core.NewBaseCollection("receipts")
	view := "(" + ruleCitizen + " && request.citizen = @request.auth.id) || " + ruleStaffOf("request.department")
	c.ListRule = types.Pointer(view)
	c.ViewRule = types.Pointer(view)
	c.Fields.Add(
		&core.RelationField{Name: "request", Required: true, CollectionId: mustCollection(app, "requests").Id, MaxSelect: 1, CascadeDelete: true},
		&core.TextField{Name: "code", Required: true, Max: 1000},
		&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{"received", "resolved", "payment"}},
		&core.DateField{Name: "issued_at", Required: true},
		&core.TextField{Name: "kid", Max: 32},
		&core.TextField{Name: "cti", Max: 64},
		&core.BoolField{Name: "revoked"},
		&core.TextField{Name: "revoked_reason", Max: 500},
	)
	autodates(c)
	c.AddIndex("idx_receipts_request", false, "`request`", "")
	c.AddIndex("idx_receipts_cti", true, "`cti`", "`cti` != ''")
	return app.Save(c)
}

func createPushSubscriptions(app core.App) error {
	c := core.NewBaseCollection("push_subscriptions")
	own := ruleCitizen + " && citizen = @request.auth.id"
	c.ListRule = types.Pointer(own)
	c.ViewRule = types.Pointer(own)
	// create/update go through /api/mobile/push/subscriptions (allow-list check); delete is the citizen's
	c.DeleteRule = types.Pointer(own)
	c.Fields.Add(
		&core.RelationField{Name: "citizen", Required: true, CollectionId: mustCollection(app, "citizens").Id, MaxSelect: 1, CascadeDelete: true},
		&core.URLField{Name: "endpoint", Required: true},
		&core.JSONField{Name: "keys", MaxSize: 4 << 10},
		&core.TextField{Name: "lang", Max: 8},
		&core.NumberField{Name: "failures", OnlyInt: true},
		&core.DateField{Name: "last_success"},
	)
	autodates(c)
	c.AddIndex("idx_push_subscriptions_endpoint", true, "`endpoint`", "")
	c.AddIndex("idx_push_subscriptions_citizen", false, "`citizen`", "")
	return app.Save(c)
}

func createAPIClients(app core.App) error {
	c := core.NewBaseCollection("api_clients") // superusers only: all rules nil
	c.Fields.Add(
		&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
		&core.TextField{Name: "key", Required: true, Min: 24, Max: 128, AutogeneratePattern: `[a-zA-Z0-9]{40}`},
		&core.BoolField{Name: "active"},
	)
	autodates(c)
	c.AddIndex("idx_api_clients_key", true, "`key`", "")
	return app.Save(c)
}
