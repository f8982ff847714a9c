package mobileapi

import (
	"fmt"
	"net/url"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Thumbnail sizes offered to the app (requests.photos Thumbs).
const thumbSize = "320x240"

// loadStates returns the current state, as sent to the app, of every record in
// ids that the citizen may see, keyed "collection/id". A record missing from
// the result is gone or out of the citizen's view: the pull sends `del`.
func (r *reader) loadStates(ids map[string][]string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	if reqIDs := ids["requests"]; len(reqIDs) > 0 {
		recs, err := r.records("requests", "SELECT [[requests]].* FROM [[requests]] WHERE [[citizen]] = {:c} AND [[id]] IN ("+placeholders(len(reqIDs))+")", reqIDs)
		if err != nil {
			return nil, err
		}
		if err := r.exportRequests(recs, out); err != nil {
			return nil, err
		}
	}
	if evIDs := ids["request_events"]; len(evIDs) > 0 {
		recs, err := r.records("request_events", "SELECT e.* FROM [[request_events]] e JOIN [[requests]] r ON [[r.id]] = [[e.request]] WHERE [[r.citizen]] = {:c} AND [[e.public]] = TRUE AND [[e.id]] IN ("+placeholders(len(evIDs))+")", evIDs)
		if err != nil {
			return nil, err
		}
		for _, ev := range recs {
			out["request_events/"+ev.Id] = exportEvent(ev, r.citizen)
		}
	}
	if rcIDs := ids["receipts"]; len(rcIDs) > 0 {
		recs, err := r.records("receipts", "SELECT x.* FROM [[receipts]] x JOIN [[requests]] r ON [[r.id]] = [[x.request]] WHERE [[r.citizen]] = {:c} AND [[x.id]] IN ("+placeholders(len(rcIDs))+")", rcIDs)
		if err != nil {
			return nil, err
		}
		for _, rc := range recs {
			out["receipts/"+rc.Id] = exportReceipt(rc)
		}
	}
	if feeIDs := ids["fees"]; len(feeIDs) > 0 {
		recs, err := r.records("fees", "SELECT f.* FROM [[fees]] f JOIN [[requests]] r ON [[r.id]] = [[f.request]] WHERE [[r.citizen]] = {:c} AND [[f.id]] IN ("+placeholders(len(feeIDs))+")", feeIDs)
		if err != nil {
			return nil, err
		}
		for _, f := range recs {
			out["fees/"+f.Id] = exportFee(f)
		}
	}
	return out, nil
}

// exportFee shapes a fee for the app: amount, state and the payment
// instruction (QR payload and copyable text), so the Pay view works offline.
func exportFee(f *core.Record) map[string]any {
	var instruction any
	_ = f.UnmarshalJSONField("instruction", &instruction)
	return map[string]any{
		"id":              f.Id,
		"request":         f.GetString("request"),
		"amount":          f.GetInt("amount"),
		"currency":        f.GetString("currency"),
		"reference":       f.GetString("reference"),
		"state":           f.GetString("state"),
		"paid_amount":     f.GetInt("paid_amount"),
		"refunded_amount": f.GetInt("refunded_amount"),
		"due_at":          f.GetString("due_at"),
		"paid_at":         f.GetString("paid_at"),
		"instruction":     instruction,
		"qr":              "/api/payments/fees/" + url.PathEscape(f.Id) + "/qr.png",
		"updated":         f.GetString("updated"),
	}
}

// placeholders returns "{:p0}, {:p1}, ..." for n bound ids.
func placeholders(n int) string {
	s := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("{:p%d}", i)
	}
	return s
}

// records runs q (with {:c} = citizen and {:pN} = ids) in the snapshot and
// loads the rows as records of collection, with PocketBase's field types.
func (r *reader) records(collection, q string, ids []string) ([]*core.Record, error) {
	col, err := r.app.FindCachedCollectionByNameOrId(collection)
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", collection, err)
	}
	params := dbx.Params{"c": r.citizen}
	for i, id := range ids {
		params[fmt.Sprintf("p%d", i)] = id
	}
	var rows []dbx.NullStringMap
	if err := r.db.NewQuery(q).Bind(params).All(&rows); err != nil {
		return nil, fmt.Errorf("load %s: %w", collection, err)
	}
	out := make([]*core.Record, 0, len(rows))
	for _, row := range rows {
		data := make(map[string]any, len(row))
		for k, v := range row {
			if v.Valid {
				data[k] = v.String
			}
		}
		rec := core.NewRecord(col)
		rec.Load(data)
		// Load goes through the field setters, and an autodate field's setter
		// ignores values: set created/updated raw, as PocketBase's own scan does
		for _, f := range col.Fields {
			if _, ok := f.(*core.AutodateField); ok {
				if dt, err := types.ParseDateTime(data[f.GetName()]); err == nil {
					rec.SetRaw(f.GetName(), dt)
				}
			}
		}
		rec.Id = row["id"].String
		out = append(out, rec)
	}
	return out, nil
}

// exportRequests shapes requests for the app, with their receipts, photos and
// the state of their uploads. Staff-only fields (assignee, contact) stay out.
func (r *reader) exportRequests(recs []*core.Record, out map[string]map[string]any) error {
	if len(recs) == 0 {
		return nil
	}
	ids := make([]string, len(recs))
	for i, rec := range recs {
		ids[i] = rec.Id
	}
	receipts, err := r.records("receipts", "SELECT x.* FROM [[receipts]] x WHERE x.[[request]] IN ("+placeholders(len(ids))+") ORDER BY x.[[issued_at]], x.[[id]]", ids)
	if err != nil {
		return err
	}
	byRequest := map[string][]map[string]any{}
	for _, rc := range receipts {
		byRequest[rc.GetString("request")] = append(byRequest[rc.GetString("request")], exportReceipt(rc))
	}

	params := dbx.Params{"c": r.citizen}
	for i, id := range ids {
		params[fmt.Sprintf("p%d", i)] = id
	}
	var uploads []*uploadRow
	err = r.db.NewQuery("SELECT * FROM [[sync_uploads]] WHERE [[citizen]] = {:c} AND [[request_id]] IN (" + placeholders(len(ids)) + ") ORDER BY [[created]], [[attachment_id]]").
		Bind(params).All(&uploads)
	if err != nil {
		return fmt.Errorf("load uploads: %w", err)
	}
	uploadsByRequest := map[string][]*uploadRow{}
	for _, u := range uploads {
		uploadsByRequest[u.RequestID] = append(uploadsByRequest[u.RequestID], u)
	}

	var services []struct {
		ID   string `db:"id"`
		Code string `db:"code"`
	}
	if err := r.db.NewQuery("SELECT [[id]], [[code]] FROM [[services]]").All(&services); err != nil {
		return fmt.Errorf("load service codes: %w", err)
	}
	codes := map[string]string{}
	for _, s := range services {
		codes[s.ID] = s.Code
	}

	for _, rec := range recs {
		photos := []map[string]string{}
		for _, name := range rec.GetStringSlice("photos") {
			u := "/api/files/requests/" + url.PathEscape(rec.Id) + "/" + url.PathEscape(name)
			photos = append(photos, map[string]string{"name": name, "url": u, "thumb": u + "?thumb=" + thumbSize})
		}
		rcs := byRequest[rec.Id]
		if rcs == nil {
			rcs = []map[string]any{}
		}
		ups := uploadsByRequest[rec.Id]
		if ups == nil {
			ups = []*uploadRow{}
		}
		loc := rec.GetGeoPoint("location")
		var location any
		if loc.Lat != 0 || loc.Lon != 0 {
			location = map[string]float64{"lat": loc.Lat, "lon": loc.Lon}
		}
		var answers any
		_ = rec.UnmarshalJSONField("answers", &answers)
		out["requests/"+rec.Id] = map[string]any{
			"id":          rec.Id,
			"number":      rec.GetString("number"),
			"service":     rec.GetString("service"),
			"serviceCode": codes[rec.GetString("service")],
			"status":      rec.GetString("status"),
			"status_note": rec.GetString("status_note"),
			"answers":     answers,
			"description": rec.GetString("description"),
			"location":    location,
			"address":     rec.GetString("address"),
			"photos":      photos,
			"attachments": ups,
			"department":  rec.GetString("department"),
			"priority":    rec.GetString("priority"),
			"fee":         rec.GetInt("fee"),
			"currency":    rec.GetString("currency"),
			"paid_at":     rec.GetString("paid_at"),
			"reported_at": rec.GetString("reported_at"),
			"due_at":      rec.GetString("due_at"),
			"resolved_at": rec.GetString("resolved_at"),
			// a "not fixed" waiting for a clerk (issue 13)
			"not_fixed_at": rec.GetString("not_fixed_at"),
			"created":      rec.GetString("created"),
			"updated":      rec.GetString("updated"),
			"receipts":     rcs,
		}
	}
	return nil
}

func exportEvent(ev *core.Record, citizen string) map[string]any {
	return map[string]any{
		"id":          ev.Id,
		"request":     ev.GetString("request"),
		"type":        ev.GetString("type"),
		"from_status": ev.GetString("from_status"),
		"to_status":   ev.GetString("to_status"),
		"message":     ev.GetString("message"),
		"author_type": ev.GetString("author_type"),
		"mine":        ev.GetString("author") == citizen,
		"created":     ev.GetString("created"),
	}
}

func exportReceipt(rc *core.Record) map[string]any {
	return map[string]any{
		"id":        rc.Id,
		"request":   rc.GetString("request"),
		"kind":      rc.GetString("kind"),
		"code":      rc.GetString("code"),
		"issued_at": rc.GetString("issued_at"),
		"revoked":   rc.GetBool("revoked"),
		"qr":        "/api/mobile/receipts/" + url.PathEscape(rc.Id) + "/qr.png",
	}
}
