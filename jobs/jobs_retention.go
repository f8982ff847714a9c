package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// retentionBatch bounds one query of candidates; a run loops until none are left.
const retentionBatch = 200

// keptDatatypes are answer types kept on anonymisation: choices, numbers, dates
// and booleans are statistics; string and text answers are free text that may
// hold anything about a person.
var keptDatatypes = map[string]bool{
	workflow.TypeNumber: true, workflow.TypeDatetime: true, workflow.TypeBoolean: true,
	workflow.TypeSingleValueList: true, workflow.TypeMultiValueList: true,
}

// Retention anonymises closed requests older than the city's RetentionYears
// (0 disables it). The closing time is resolved_at, else the last status
// event, else the last update. Personal data goes: the citizen relation,
// description, address, contact fields, status note, photos (the files too),
// location, free-text answers, and the messages and authors of the request's
// events. Statistics stay: number, service, department, status, priority,
// source, fee, dates and the event types and statuses. Receipts stay
// verifiable (they carry a pseudonymous holder tag, no personal data).
func Retention(app core.App, now time.Time) (Report, error) {
	years := city.Of(app).RetentionYears
	if years <= 0 {
		return Report{"disabled": 1}, nil
	}
	cutoff := dbTime(now.AddDate(-years, 0, 0))
	rep := Report{"anonymised": 0, "errors": 0}
	failed := map[string]bool{}
	for {
		var ids []string
		err := app.DB().NewQuery(`SELECT r.[[id]] FROM {{requests}} r
			WHERE r.[[anonymized]] = FALSE AND r.[[status]] IN ({:resolved}, {:rejected}, {:cancelled})
			AND COALESCE(NULLIF(r.[[resolved_at]], ''),
				(SELECT MAX(e.[[created]]) FROM {{request_events}} e WHERE e.[[request]] = r.[[id]] AND e.[[type]] = 'status'),
				r.[[updated]]) < {:cutoff}
			ORDER BY r.[[id]] LIMIT {:n}`).
			Bind(dbx.Params{"resolved": workflow.StatusResolved, "rejected": workflow.StatusRejected, "cancelled": workflow.StatusCancelled, "cutoff": cutoff, "n": retentionBatch + len(failed)}).
			Column(&ids)
		if err != nil {
			return rep, fmt.Errorf("find requests to anonymise: %w", err)
		}
		progressed := false
		for _, id := range ids {
			if failed[id] {
				continue
			}
			progressed = true
			if err := anonymise(app, id); err != nil {
				failed[id] = true
				rep["errors"]++
				app.Logger().Error("retention: could not anonymise request", "id", id, "error", err.Error())
				continue
			}
			rep["anonymised"]++
		}
		if !progressed {
			return rep, nil
		}
	}
}

// anonymise removes the personal data of one request, in one transaction.
func anonymise(app core.App, id string) error {
	return app.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindRecordById("requests", id)
		if err != nil {
			return err
		}
		answers := map[string]any{}
		if raw := rec.GetString("answers"); raw != "" && raw != "null" {
			if err := json.Unmarshal([]byte(raw), &answers); err != nil {
				answers = map[string]any{}
			}
		}
		kept := map[string]any{}
		if svc, err := tx.FindRecordById("services", rec.GetString("service")); err == nil {
			fields, _ := workflow.ParseForm([]byte(svc.GetString("fields")))
			for _, f := range fields {
				if v, ok := answers[f.Code]; ok && keptDatatypes[f.Datatype] {
					kept[f.Code] = v
				}
			}
		} // an answer whose field is gone from the form is dropped: its type is unknown

		for _, name := range []string{"citizen", "description", "address", "status_note", "contact_name", "contact_email", "contact_phone", "device_id", "account_id", "media_url"} {
			rec.Set(name, "")
		}
		rec.Set("photos", []string{})
		rec.Set("location", types.GeoPoint{})
		rec.Set("answers", kept)
		rec.Set("anonymized", true)
		workflow.AttachActor(rec, workflow.System)
		if err := tx.Save(rec); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		// the event log is append-only for people; the system clears its free
		// text here, keeping type, statuses and time for the statistics
		if _, err := tx.DB().NewQuery("UPDATE {{request_events}} SET [[message]] = '', [[author]] = '' WHERE [[request]] = {:id}").
			Bind(dbx.Params{"id": id}).Execute(); err != nil {
			return fmt.Errorf("clear events: %w", err)
		}
		return nil
	})
}
