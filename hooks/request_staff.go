package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/pocketbase/pocketbase/tools/types"
)

// attachStaffRequest reads what the records API carries for the console's
// staff actions: the If-Match guard on updates, and the contact fields of a
// request filed at the counter (hidden fields, which the records API does not
// load for non-superusers).
func attachStaffRequest(e *core.RecordRequestEvent) error {
	if v := strings.TrimSpace(e.Request.Header.Get("If-Match")); v != "" && !e.Record.IsNew() {
		workflow.ExpectUpdated(e.Record, strings.Trim(strings.TrimPrefix(v, "W/"), `"`))
	}
	if e.Record.IsNew() && e.Auth != nil && e.Auth.Collection().Name == "staff" {
		// RequestInfo().Body has the hidden fields removed: read the body again
		// (PocketBase keeps it rereadable)
		var body struct {
			Name  string `json:"contact_name" form:"contact_name"`
			Email string `json:"contact_email" form:"contact_email"`
			Phone string `json:"contact_phone" form:"contact_phone"`
		}
		if err := e.BindBody(&body); err == nil {
			workflow.SetOfficeContact(e.Record, workflow.OfficeContact{Name: strings.TrimSpace(body.Name), Email: strings.TrimSpace(body.Email), Phone: strings.TrimSpace(body.Phone)})
		}
	}
	return e.Next()
}

// checkNotChanged is the concurrency guard: a change made on a copy older than
// the stored record is refused with 412, naming when and by whom it changed.
func checkNotChanged(app core.App, rec, orig *core.Record) error {
	want := workflow.ExpectedUpdated(rec)
	if want == "" {
		return nil
	}
	stored := orig.GetDateTime("updated")
	seen, err := types.ParseDateTime(strings.Replace(want, "T", " ", 1))
	if err == nil && !seen.IsZero() && seen.Time().Equal(stored.Time()) {
		return nil
	}
	apiErr := router.NewApiError(http.StatusPreconditionFailed, "Someone changed this request since you opened it. Reload it and try again.", nil)
	apiErr.Data = map[string]any{
		"code":    "changed_since_opened",
		"updated": strings.Replace(stored.String(), " ", "T", 1),
		"by":      lastAuthor(app, rec.Id),
	}
	return apiErr
}

// lastAuthor names who wrote the request's newest event.
func lastAuthor(app core.App, requestID string) string {
	var ev struct {
		Author string `db:"author"`
		Type   string `db:"author_type"`
	}
	err := app.DB().NewQuery("SELECT [[author]], [[author_type]] FROM [[request_events]] WHERE [[request]] = {:r} ORDER BY [[created]] DESC, [[id]] DESC LIMIT 1").
		Bind(dbx.Params{"r": requestID}).One(&ev)
	if err != nil {
		return ""
	}
	switch ev.Type {
	case "staff":
		return nameOf(app, "staff", ev.Author)
	case "citizen":
		return "citizen"
	}
	return ev.Type
}

// checkAssignee refuses an assignee who is not staff of the request's
// department (supervisors, who see every department, may take any request).
func checkAssignee(app core.App, rec *core.Record) error {
	id := rec.GetString("assignee")
	if id == "" {
		return nil
	}
	staff, err := app.FindRecordById("staff", id)
	if err != nil {
		return validation.Errors{"assignee": validation.NewError("validation_unknown_staff", "No such staff member.")}
	}
	if !staffOf(staff, rec.GetString("department")) {
		return validation.Errors{"assignee": validation.NewError("validation_assignee_department", fmt.Sprintf("%s does not work for this request's department.", staff.GetString("name")))}
	}
	return nil
}

func staffOf(staff *core.Record, department string) bool {
	return staff.GetString("role") == workflow.RoleSupervisor || (department != "" && slices.Contains(staff.GetStringSlice("departments"), department))
}

// reroute applies a service change: the department follows the new service,
// the due date stays (the citizen's clock does not restart), an assignee of
// the old department is released. It returns the old and new service names.
func reroute(app core.App, rec, orig *core.Record, changed []string) (string, string, error) {
	svc, err := loadService(app, rec.GetString("service"))
	if err != nil {
		return "", "", err
	}
	if !svc.Active {
		return "", "", validation.Errors{"service": validation.NewError("validation_inactive_service", "This service does not accept requests at the moment.")}
	}
	rec.Set("department", svc.Department)
	if !slices.Contains(changed, "assignee") && rec.GetString("assignee") != "" {
		if staff, err := app.FindRecordById("staff", rec.GetString("assignee")); err != nil || !staffOf(staff, svc.Department) {
			rec.Set("assignee", "")
		}
	}
	return nameOf(app, "services", orig.GetString("service")), nameOf(app, "services", svc.ID), nil
}

// checkDuplicate validates duplicate_of: another existing request, not itself
// a duplicate, that the actor may see; the duplicate ends resolved or rejected.
func checkDuplicate(app core.App, rec *core.Record, actor workflow.Actor) (*core.Record, error) {
	id := rec.GetString("duplicate_of")
	if id == "" {
		return nil, nil
	}
	fail := func(code, msg string) (*core.Record, error) {
		return nil, validation.Errors{"duplicate_of": validation.NewError(code, msg)}
	}
	if id == rec.Id {
		return fail("validation_duplicate_self", "A request cannot duplicate itself.")
	}
	orig, err := app.FindRecordById(collRequests, id)
	if errors.Is(err, sql.ErrNoRows) {
		return fail("validation_unknown_request", "No such request.")
	}
	if err != nil {
		return nil, fmt.Errorf("load original %s: %w", id, err)
	}
	if actor.Kind == workflow.ActorStaff && actor.Role != workflow.RoleSupervisor && !slices.Contains(actor.Departments, orig.GetString("department")) {
		return fail("validation_unknown_request", "No such request.")
	}
	if orig.GetString("duplicate_of") != "" {
		return fail("validation_duplicate_chain", "That request is itself a duplicate; link to its original.")
	}
	if s := rec.GetString("status"); s != workflow.StatusResolved && s != workflow.StatusRejected {
		return nil, validation.Errors{"status": validation.NewError("validation_duplicate_status", "A duplicate is closed as resolved or rejected.")}
	}
	return orig, nil
}

// duplicateNote is what the citizen of a duplicate reads, in their language.
var duplicateNote = workflow.Localized{
	"it": "La tua segnalazione riguarda lo stesso problema della richiesta %s: segui quella per gli aggiornamenti.",
	"en": "Your request is about the same problem as request %s: follow that one for updates.",
	"sv": "Ditt ärende gäller samma problem som ärende %s: följ det för uppdateringar.",
	"et": "Sinu pöördumine puudutab sama probleemi mis pöördumine %s: jälgi uuendusi seal.",
	"hu": "Bejelentése ugyanarról a problémáról szól, mint a(z) %s számú: a fejleményeket ott követheti.",
}

// rerouteNote is the public note of a re-route, in the citizen's language.
var rerouteNote = workflow.Localized{
	"it": "Richiesta inoltrata da «%s» a «%s».",
	"en": "Request re-routed from “%s” to “%s”.",
	"sv": "Ärendet flyttat från ”%s” till ”%s”.",
	"et": "Pöördumine suunati teenuselt „%s” teenusele „%s”.",
	"hu": "A bejelentést áttettük: „%s” → „%s”.",
}

// citizenLang is the language of the request's citizen (the city's default without one).
func citizenLang(app core.App, rec *core.Record) string {
	cfg := city.Of(app)
	if id := rec.GetString("citizen"); id != "" {
		if c, err := app.FindRecordById("citizens", id); err == nil && c.GetString("lang") != "" {
			return cfg.MatchLang(c.GetString("lang"))
		}
	}
	return cfg.DefaultLang
}

// checkOfficeCreate applies the rules of a request staff file at the counter:
// a service of their departments (supervisors: any), source office, valid
// contact fields, an assignee of the department.
func checkOfficeCreate(app core.App, rec *core.Record, svc *serviceRules, actor workflow.Actor) error {
	if actor.Kind != workflow.ActorStaff {
		return nil
	}
	errs := validation.Errors{}
	if actor.Role != workflow.RoleSupervisor && !slices.Contains(actor.Departments, svc.Department) {
		errs["service"] = validation.NewError("validation_service_department", "You can file requests only for services of your departments.")
	}
	rec.Set("source", "office")
	if c, ok := workflow.OfficeContactOf(rec); ok {
		if c.Email != "" {
			if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
				errs["contact_email"] = validation.NewError("validation_invalid_email", "Enter a valid e-mail address.")
			}
		}
		for field, v := range map[string]struct {
			val string
			max int
		}{"contact_name": {c.Name, 200}, "contact_email": {c.Email, 200}, "contact_phone": {c.Phone, 50}} {
			if len(v.val) > v.max {
				errs[field] = validation.NewError("validation_max_text_constraint", fmt.Sprintf("At most %d characters.", v.max))
			}
		}
		rec.Set("contact_name", c.Name)
		rec.Set("contact_email", c.Email)
		rec.Set("contact_phone", c.Phone)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// staffChanges is what an update's staff actions leave for after the write.
type staffChanges struct {
	rerouteFrom, rerouteTo string // service ids
	original               *core.Record
}

// applyStaffChanges handles the console's actions inside an update, before the
// write: re-route (service → department), an assignee of the department, and
// duplicate_of with the citizen's note.
func applyStaffChanges(app core.App, rec, orig *core.Record, actor workflow.Actor, changed []string) (*staffChanges, error) {
	sc := &staffChanges{}
	if slices.Contains(changed, "service") {
		if _, _, err := reroute(app, rec, orig, changed); err != nil {
			return nil, err
		}
		sc.rerouteFrom, sc.rerouteTo = orig.GetString("service"), rec.GetString("service")
	} else if slices.Contains(changed, "department") && !slices.Contains(changed, "assignee") && rec.GetString("assignee") != "" {
		if staff, err := app.FindRecordById("staff", rec.GetString("assignee")); err != nil || !staffOf(staff, rec.GetString("department")) {
			rec.Set("assignee", "") // a supervisor moved it: the old department's clerk lets go
		}
	}
	if slices.Contains(changed, "assignee") {
		if err := checkAssignee(app, rec); err != nil {
			return nil, err
		}
	}
	if slices.Contains(changed, "duplicate_of") {
		original, err := checkDuplicate(app, rec, actor)
		if err != nil {
			return nil, err
		}
		sc.original = original
		if original != nil && !slices.Contains(changed, "status_note") {
			rec.Set("status_note", fmt.Sprintf(duplicateNote.In(citizenLang(app, rec), "en"), original.GetString("number")))
		}
	}
	return sc, nil
}

// after writes the events of the staff actions, in the update's transaction.
func (sc *staffChanges) after(app core.App, rec *core.Record, actor workflow.Actor) error {
	if sc == nil {
		return nil
	}
	if sc.rerouteTo != "" {
		lang := citizenLang(app, rec)
		msg := fmt.Sprintf(rerouteNote.In(lang, "en"), serviceName(app, sc.rerouteFrom, lang), serviceName(app, sc.rerouteTo, lang))
		st := rec.GetString("status")
		entry, err := appendEvent(app, rec, actor, eventFields{Type: "status", From: st, To: st, Message: msg, Public: true})
		if err != nil {
			return err
		}
		if err := workflow.Of(app).OnPublicNote.Trigger(&workflow.Event{App: app, Request: rec, Entry: entry, Actor: actor, From: st, To: st}); err != nil {
			return err
		}
	}
	if sc.original != nil {
		msg := fmt.Sprintf("%s was marked as a duplicate of this request.", rec.GetString("number"))
		if _, err := appendEvent(app, sc.original, actor, eventFields{Type: "comment", Message: msg, Public: false}); err != nil {
			return err
		}
	}
	return nil
}

// serviceName is a service's name in lang (its default name as fallback).
func serviceName(app core.App, id, lang string) string {
	r, err := app.FindRecordById("services", id)
	if err != nil {
		return id
	}
	var i18n map[string]map[string]string
	if r.UnmarshalJSONField("i18n", &i18n) == nil {
		if n := i18n[lang]["name"]; n != "" {
			return n
		}
	}
	return r.GetString("name")
}
