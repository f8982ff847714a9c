package consultations

import (
	"encoding/json"
	"fmt"
	"time"

	"civicdesk/city"
	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// LocalLayout is how supervisors enter open and close times: wall-clock time
// in the consultation's time zone.
const LocalLayout = "2006-01-02T15:04"

func fieldErr(field, code, msg string) error {
	return validation.Errors{field: validation.NewError("validation_"+code, msg)}
}

func attachActor(e *core.RecordRequestEvent) error {
	workflow.AttachActor(e.Record, workflow.ActorFromAuth(e.Auth))
	return e.Next()
}

// localTime converts a wall-clock time in loc to UTC, refusing times that do
// not exist (the hour skipped when clocks go forward).
func localTime(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(LocalLayout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("use the form 2026-03-29T23:59 (local time in %s)", loc)
	}
	if t.Format(LocalLayout) != s {
		return time.Time{}, fmt.Errorf("%s does not exist in %s (the clocks skip it)", s, loc)
	}
	return t.UTC(), nil
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// normalize fills defaults and derives the UTC instants from local times; it
// validates everything a supervisor may write.
func normalize(app core.App, rec *core.Record) error {
	if rec.GetString("status") == "" {
		rec.Set("status", StatusDraft)
	}
	if rec.GetString("time_zone") == "" {
		rec.Set("time_zone", city.Of(app).TimeZone)
	}
	loc, err := time.LoadLocation(rec.GetString("time_zone"))
	if err != nil {
		return fieldErr("time_zone", "invalid_value", "Unknown time zone (use an IANA name such as Europe/Rome).")
	}
	for _, f := range []struct{ local, at string }{{"opens_local", "opens_at"}, {"closes_local", "closes_at"}} {
		if s := rec.GetString(f.local); s != "" {
			t, err := localTime(s, loc)
			if err != nil {
				return fieldErr(f.local, "invalid_value", err.Error())
			}
			rec.Set(f.at, t)
		} else if !rec.GetDateTime(f.at).IsZero() {
			rec.Set(f.local, rec.GetDateTime(f.at).Time().In(loc).Format(LocalLayout))
		} else {
			return fieldErr(f.local, "required", "Enter the time (local time in "+loc.String()+").")
		}
	}
	if !rec.GetDateTime("closes_at").Time().After(rec.GetDateTime("opens_at").Time()) {
		return fieldErr("closes_local", "invalid_value", "The consultation must close after it opens.")
	}
	var titles map[string]string
	if err := decodeJSON(rec.Get("title"), &titles); err != nil || len(titles) == 0 {
		return fieldErr("title", "required", "A title {lang: text} is required.")
	}
	var qs []Question
	if err := decodeJSON(rec.Get("questions"), &qs); err != nil {
		return fieldErr("questions", "invalid_value", "questions must be a list of questions: "+err.Error())
	}
	if err := validateQuestions(qs); err != nil {
		return fieldErr("questions", "invalid_value", err.Error())
	}
	var el Eligibility
	if err := decodeJSON(rec.Get("eligibility"), &el); err != nil || el.MinAge < 0 || el.MinAge > 120 {
		return fieldErr("eligibility", "invalid_value", "eligibility is {minAge, districts, identityLevel}.")
	}
	switch rec.GetString("late_policy") {
	case "":
		rec.Set("late_policy", LateStrict)
		fallthrough
	case LateStrict:
		if rec.GetInt("grace_minutes") != 0 {
			return fieldErr("grace_minutes", "invalid_value", "A grace period needs late_policy grace.")
		}
	case LateGrace:
		if g := rec.GetInt("grace_minutes"); g < 1 || time.Duration(g)*time.Minute > MaxGrace {
			return fieldErr("grace_minutes", "invalid_value", "The grace period is 1 to 1440 minutes.")
		}
	}
	return nil
}

func onCreate(e *core.RecordEvent) error {
	rec := e.Record
	if s := rec.GetString("status"); s != "" && s != StatusDraft && s != StatusScheduled {
		return fieldErr("status", "invalid_value", "A consultation starts as draft or scheduled.")
	}
	if !isEmptyJSON(rec.Get("results")) || !rec.GetDateTime("published_at").IsZero() || !isEmptyJSON(rec.Get("notices")) {
		return fieldErr("results", "invalid_value", "Results are computed by the server at publication.")
	}
	if err := normalize(e.App, rec); err != nil {
		return err
	}
	if err := e.Next(); err != nil {
		return err
	}
	return logEvent(e.App, rec, "created", "", rec.GetString("status"))
}

func isEmptyJSON(v any) bool {
	s := jsonOf(v)
	return s == "null" || s == `""` || s == "{}" || s == "[]"
}

// frozen lists the fields that cannot change once a consultation has opened.
var frozen = []string{"code", "questions", "eligibility", "opens_local", "opens_at", "time_zone", "late_policy", "grace_minutes"}

func onUpdate(e *core.RecordEvent) error {
	rec, orig := e.Record, e.Record.Original()
	if isInternal(rec) {
		// the lifecycle job and the publish route: status by the clock, results at publication
		if err := e.Next(); err != nil {
			return err
		}
		from, to := orig.GetString("status"), rec.GetString("status")
		switch {
		case to == from:
			return nil
		case to == StatusPublished:
			return logEvent(e.App, rec, "published", from, to)
		default:
			return logEvent(e.App, rec, "status", from, to)
		}
	}
	for _, f := range []string{"results", "published_at", "notices"} {
		if jsonOf(rec.Get(f)) != jsonOf(orig.Get(f)) {
			return fieldErr(f, "invalid_value", "Results are written only by the publish route.")
		}
	}
	from, to := orig.GetString("status"), rec.GetString("status")
	now := Of(e.App).Now()
	oc, err := Load(orig)
	if err != nil {
		return err
	}
	if to != from {
		ok := (from == StatusDraft && to == StatusScheduled) || (from == StatusScheduled && to == StatusDraft)
		if !ok || oc.Phase(now) != StatusScheduled && from != StatusDraft {
			return fieldErr("status", "invalid_transition", fmt.Sprintf("A consultation cannot go from %s to %s by hand: it opens and closes at its times and is published with the publish route.", from, to))
		}
	}
	// a local time that did not change keeps its instant (the zone did not change either)
	started := from != StatusDraft && !now.Before(oc.OpensAt)
	if rec.GetString("closes_local") == orig.GetString("closes_local") && !rec.GetDateTime("closes_at").Equal(orig.GetDateTime("closes_at")) {
		rec.Set("closes_local", "") // closes_at was set directly: derive the local text from it
	}
	if rec.GetString("opens_local") == orig.GetString("opens_local") && !rec.GetDateTime("opens_at").Equal(orig.GetDateTime("opens_at")) {
		rec.Set("opens_local", "")
	}
	if err := normalize(e.App, rec); err != nil {
		return err
	}
	extended := false
	if started {
		for _, f := range frozen {
			if jsonOf(rec.Get(f)) != jsonOf(orig.Get(f)) {
				return fieldErr(f, "frozen", "This consultation is open: its questions, eligibility, opening time and rules can no longer change.")
			}
		}
		oldClose, newClose := orig.GetDateTime("closes_at").Time(), rec.GetDateTime("closes_at").Time()
		switch {
		case newClose.Equal(oldClose):
		case !now.Before(oldClose) || from == StatusPublished:
			return fieldErr("closes_local", "frozen", "This consultation has closed; its closing time can no longer change.")
		case newClose.Before(oldClose):
			return fieldErr("closes_local", "invalid_value", "An open consultation's closing time can only be extended, never brought forward.")
		default:
			extended = true
		}
	}
	if err := e.Next(); err != nil {
		return err
	}
	if extended {
		if err := logEvent(e.App, rec, "close_extended", orig.GetString("closes_local"), rec.GetString("closes_local")); err != nil {
			return err
		}
	}
	if to != from {
		return logEvent(e.App, rec, "status", from, to)
	}
	return nil
}

func onDelete(e *core.RecordEvent) error {
	if e.Record.GetString("status") != StatusDraft {
		return fieldErr("status", "invalid_value", "Only a draft consultation can be deleted.")
	}
	return e.Next()
}

// onTextUpdate lets moderation change only `approved`.
func onTextUpdate(e *core.RecordEvent) error {
	rec, orig := e.Record, e.Record.Original()
	for _, f := range []string{"consultation", "question", "text", "position"} {
		if jsonOf(rec.Get(f)) != jsonOf(orig.Get(f)) {
			return fieldErr(f, "invalid_value", "Moderation may only approve or withdraw a text.")
		}
	}
	if err := e.Next(); err != nil {
		return err
	}
	if rec.GetBool("approved") != orig.GetBool("approved") {
		c, err := e.App.FindRecordById(CollConsultations, rec.GetString("consultation"))
		if err != nil {
			return fmt.Errorf("moderation: %w", err)
		}
		return logEvent(e.App, c, "text_moderated", rec.Id, fmt.Sprint(rec.GetBool("approved")))
	}
	return nil
}

// logEvent appends a consultation_events row as the actor attached to rec.
func logEvent(app core.App, rec *core.Record, typ, from, to string) error {
	col, err := app.FindCachedCollectionByNameOrId(CollEvents)
	if err != nil {
		return fmt.Errorf("consultation events: %w", err)
	}
	a := workflow.ActorOf(rec)
	ev := core.NewRecord(col)
	ev.Set("consultation", rec.Id)
	ev.Set("type", typ)
	ev.Set("from_value", from)
	ev.Set("to_value", to)
	ev.Set("author", a.ID)
	ev.Set("author_type", string(a.Kind))
	if err := app.Save(ev); err != nil {
		return fmt.Errorf("log consultation event: %w", err)
	}
	return nil
}
