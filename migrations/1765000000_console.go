package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The staff console (issue 9, docs/staff-api.md): mandatory MFA for staff
// (password + e-mail one-time code), a working-day token, the staff member's
// language, the queue indexes, duplicates, response templates and staff
// notifications.
func init() {
	m.Register(func(app core.App) error {
		for _, step := range []func(core.App) error{
			consoleStaffAuth, consoleRequestIndexes, consoleResponseTemplates, consoleStaffNotifications,
		} {
			if err := step(app); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, name := range []string{"staff_notifications", "response_templates"} {
			if c, err := app.FindCollectionByNameOrId(name); err == nil {
				if err := app.Delete(c); err != nil {
					return fmt.Errorf("drop %s: %w", name, err)
				}
			}
		}
		return nil
	})
}

// StaffTokenSeconds is one working day: a staff token issued in the morning
// is dead by the evening (research/staff-console.md §3.1).
const staffTokenSeconds = 9 * 3600

func consoleStaffAuth(app core.App) error {
	c := mustCollection(app, "staff")
	c.OTP.Enabled = true
	c.OTP.Duration = 180
	c.OTP.Length = 8
	c.MFA.Enabled = true
	c.MFA.Duration = 600
	c.MFA.Rule = "" // everyone: mandatory for every staff account
	c.AuthToken.Duration = staffTokenSeconds
	if c.Fields.GetByName("lang") == nil {
		c.Fields.Add(&core.SelectField{Name: "lang", MaxSelect: 1, Values: []string{"it", "en", "sv", "et", "hu"}})
	}
	if err := app.Save(c); err != nil {
		return fmt.Errorf("staff MFA/OTP: %w", err)
	}
	return nil
}

func consoleRequestIndexes(app core.App) error {
	c := mustCollection(app, "requests")
	if c.Fields.GetByName("duplicate_of") == nil {
		c.Fields.Add(&core.RelationField{Name: "duplicate_of", CollectionId: c.Id, MaxSelect: 1})
	}
	// staff file on behalf of a person at the counter (source office); hooks/
	// checks the service is one of their departments'
	c.CreateRule = types.Pointer("(" + ruleCitizen + " && @request.body.citizen = @request.auth.id) || " + ruleStaff)
	if f, ok := c.Fields.GetByName("photos").(*core.FileField); ok {
		f.Thumbs = []string{"320x240", "100x100"}
	}
	// the queue's partitions: one index per (scope, status) prefix and sort key,
	// so each page is an index range read (docs/staff-api.md "Queries and indexes")
	c.AddIndex("idx_requests_dept_status_due", false, "`department`, `status`, `due_at`", "")
	c.AddIndex("idx_requests_dept_status_created", false, "`department`, `status`, `created`", "")
	c.AddIndex("idx_requests_dept_status_updated", false, "`department`, `status`, `updated`", "")
	c.AddIndex("idx_requests_assignee_status_due", false, "`assignee`, `status`, `due_at`", "")
	// sort=priority: one partition per priority, due date inside it
	c.AddIndex("idx_requests_dept_status_priority_due", false, "`department`, `status`, `priority`, `due_at`", "")
	c.AddIndex("idx_requests_status_priority_due", false, "`status`, `priority`, `due_at`", "")
	c.AddIndex("idx_requests_status_due", false, "`status`, `due_at`", "")
	c.AddIndex("idx_requests_status_created", false, "`status`, `created`", "")
	c.AddIndex("idx_requests_status_updated", false, "`status`, `updated`", "")
	c.AddIndex("idx_requests_resolved_at", false, "`resolved_at`", "`resolved_at` != ''")
	c.AddIndex("idx_requests_created", false, "`created`", "")
	c.AddIndex("idx_requests_duplicate_of", false, "`duplicate_of`", "`duplicate_of` != ''")
	c.AddIndex("idx_requests_contact_email", false, "`contact_email`", "`contact_email` != ''")
	// nearby requests: a bounding box on latitude within one service and status
	c.AddIndex("idx_requests_service_status_lat", false, "`service`, `status`, json_extract(`location`, '$.lat')", "")
	// the old single-column ones are covered by the composites above
	c.RemoveIndex("idx_requests_department_status")
	c.RemoveIndex("idx_requests_status")
	if err := app.Save(c); err != nil {
		return fmt.Errorf("requests console indexes: %w", err)
	}
	ev := mustCollection(app, "request_events")
	// first response and citizen replies: events of one request by kind of author
	ev.AddIndex("idx_request_events_request_author", false, "`request`, `author_type`, `created`", "")
	// outflow per week: the status events that close requests, by time
	ev.AddIndex("idx_request_events_type_created", false, "`type`, `created`", "")
	if err := app.Save(ev); err != nil {
		return fmt.Errorf("request_events console index: %w", err)
	}
	return nil
}

func consoleResponseTemplates(app core.App) error {
	c := core.NewBaseCollection("response_templates")
	c.ListRule = types.Pointer(ruleStaff)
	c.ViewRule = types.Pointer(ruleStaff)
	c.CreateRule = types.Pointer(ruleSupervisor)
	c.UpdateRule = types.Pointer(ruleSupervisor)
	c.DeleteRule = types.Pointer(ruleSupervisor)
	c.Fields.Add(
		&core.RelationField{Name: "service", CollectionId: mustCollection(app, "services").Id, MaxSelect: 1, CascadeDelete: true},
		&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"received", "in_progress", "waiting_citizen", "resolved", "rejected", "cancelled"}},
		&core.SelectField{Name: "lang", Required: true, MaxSelect: 1, Values: []string{"it", "en", "sv", "et", "hu"}},
		// key: templates with the same key are translations of one another
		&core.TextField{Name: "key", Max: 64, Pattern: `^[a-z0-9_-]*$`},
		&core.TextField{Name: "title", Required: true, Max: 200, Presentable: true},
		&core.TextField{Name: "body", Required: true, Max: 2000},
	)
	autodates(c)
	c.AddIndex("idx_response_templates_lookup", false, "`service`, `status`, `lang`", "")
	if err := app.Save(c); err != nil {
		return fmt.Errorf("create response_templates: %w", err)
	}
	return nil
}

func consoleStaffNotifications(app core.App) error {
	c := core.NewBaseCollection("staff_notifications")
	own := ruleStaff + " && staff = @request.auth.id"
	c.ListRule = types.Pointer(own)
	c.ViewRule = types.Pointer(own)
	c.UpdateRule = types.Pointer(own + " && @request.body.staff:isset = false && @request.body.kind:isset = false && @request.body.request:isset = false")
	c.DeleteRule = types.Pointer(own)
	c.Fields.Add(
		&core.RelationField{Name: "staff", Required: true, CollectionId: mustCollection(app, "staff").Id, MaxSelect: 1, CascadeDelete: true},
		&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{"assigned", "citizen_replied", "due_soon"}},
		&core.RelationField{Name: "request", Required: true, CollectionId: mustCollection(app, "requests").Id, MaxSelect: 1, CascadeDelete: true},
		&core.TextField{Name: "message", Max: 500},
		&core.BoolField{Name: "read"},
	)
	autodates(c)
	c.AddIndex("idx_staff_notifications_staff", false, "`staff`, `created`", "")
	c.AddIndex("idx_staff_notifications_request_kind", false, "`request`, `kind`", "")
	if err := app.Save(c); err != nil {
		return fmt.Errorf("create staff_notifications: %w", err)
	}
	return nil
}
