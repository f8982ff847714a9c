package mobileapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Thumbnail sizes offered to the app (requests.photos Thumbs).
const thumbSize = "320x240"

// loadStates returns the current state, as sent to the app, of every record in
// ids that the citizen may see, keyed "collection/id". A record missing from
// the result is gone or out of the citizen's view: the pull sends `del`.
//
// Requests, events and receipts are read into typed rows with the columns
// the app gets (a few queries per page, no record loads: the shapes are
// written once, by the JSON encoder); fees, which are few, as records.
func (r *reader) loadStates(ids map[string][]string) (map[string]any, error) {
	out := map[string]any{}
	if reqIDs := ids["requests"]; len(reqIDs) > 0 {
		var rows []*requestRow
		if err := r.rows("SELECT "+requestColumns+" FROM [[requests]] WHERE [[citizen]] = {:c} AND [[id]] IN ("+placeholders(len(reqIDs))+")", reqIDs, &rows); err != nil {
			return nil, fmt.Errorf("load requests: %w", err)
		}
		if err := r.exportRequests(rows, out); err != nil {
			return nil, err
		}
	}
	if evIDs := ids["request_events"]; len(evIDs) > 0 {
		var rows []*eventRow
		if err := r.rows("SELECT "+eventColumns+" FROM [[request_events]] e JOIN [[requests]] r ON [[r.id]] = [[e.request]] WHERE [[r.citizen]] = {:c} AND [[e.public]] = TRUE AND [[e.id]] IN ("+placeholders(len(evIDs))+")", evIDs, &rows); err != nil {
			return nil, fmt.Errorf("load request_events: %w", err)
		}
		for _, ev := range rows {
			out["request_events/"+ev.ID] = ev.export(r.citizen)
		}
	}
	if rcIDs := ids["receipts"]; len(rcIDs) > 0 {
		var rows []*receiptRow
		if err := r.rows("SELECT "+receiptColumns+" FROM [[receipts]] x JOIN [[requests]] r ON [[r.id]] = [[x.request]] WHERE [[r.citizen]] = {:c} AND [[x.id]] IN ("+placeholders(len(rcIDs))+")", rcIDs, &rows); err != nil {
			return nil, fmt.Errorf("load receipts: %w", err)
		}
		for _, rc := range rows {
			out["receipts/"+rc.ID] = rc.export()
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

// rows runs q (with {:c} = citizen and {:pN} = ids) in the snapshot into dst.
func (r *reader) rows(q string, ids []string, dst any) error {
	params := dbx.Params{"c": r.citizen}
	for i, id := range ids {
		params["p"+strconv.Itoa(i)] = id
	}
	return r.db.NewQuery(q).Bind(params).All(dst)
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
func (r *reader) exportRequests(rows []*requestRow, out map[string]any) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	for i, rq := range rows {
		ids[i] = rq.ID
	}
	var receipts []*receiptRow
	if err := r.rows("SELECT "+receiptColumns+" FROM [[receipts]] x WHERE x.[[request]] IN ("+placeholders(len(ids))+") ORDER BY x.[[issued_at]], x.[[id]]", ids, &receipts); err != nil {
		return fmt.Errorf("load receipts: %w", err)
	}
	byRequest := map[string][]receiptState{}
	for _, rc := range receipts {
		byRequest[rc.Request] = append(byRequest[rc.Request], rc.export())
	}

	var uploads []*uploadRow
	if err := r.rows("SELECT * FROM [[sync_uploads]] WHERE [[citizen]] = {:c} AND [[request_id]] IN ("+placeholders(len(ids))+") ORDER BY [[created]], [[attachment_id]]", ids, &uploads); err != nil {
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
	if err := r.db.NewQuery("SELECT [[id]], COALESCE([[code]], '') AS [[code]] FROM [[services]]").All(&services); err != nil {
		return fmt.Errorf("load service codes: %w", err)
	}
	codes := make(map[string]string, len(services))
	for _, s := range services {
		codes[s.ID] = s.Code
	}

	for _, rq := range rows {
		st := &requestState{
			ID: rq.ID, Number: rq.Number, Service: rq.Service, ServiceCode: codes[rq.Service],
			Status: rq.Status, StatusNote: rq.StatusNote, Answers: jsonOrNull(rq.Answers), Description: rq.Description,
			Address: rq.Address, Photos: []photoState{}, Attachments: uploadsByRequest[rq.ID],
			Department: rq.Department, Priority: rq.Priority, Fee: int(rq.Fee), Currency: rq.Currency,
			PaidAt: dateString(rq.PaidAt), ReportedAt: dateString(rq.ReportedAt), DueAt: dateString(rq.DueAt),
			ResolvedAt: dateString(rq.ResolvedAt), NotFixedAt: dateString(rq.NotFixedAt),
			Created: dateString(rq.Created), Updated: dateString(rq.Updated), Receipts: byRequest[rq.ID],
		}
		if st.Attachments == nil {
			st.Attachments = []*uploadRow{}
		}
		if st.Receipts == nil {
			st.Receipts = []receiptState{}
		}
		var loc types.GeoPoint
		if rq.Location != "" && json.Unmarshal([]byte(rq.Location), &loc) == nil && (loc.Lat != 0 || loc.Lon != 0) {
			st.Location = &geoState{Lat: loc.Lat, Lon: loc.Lon}
		}
		var photos []string
		if rq.Photos != "" {
			_ = json.Unmarshal([]byte(rq.Photos), &photos)
		}
		for _, name := range photos {
			u := "/api/files/requests/" + url.PathEscape(rq.ID) + "/" + url.PathEscape(name)
			st.Photos = append(st.Photos, photoState{Name: name, URL: u, Thumb: u + "?thumb=" + thumbSize})
		}
		out["requests/"+rq.ID] = st
	}
	return nil
}

// requestColumns are the requests columns the app gets (NULL: a column added
// after the row was written).
const requestColumns = "[[id]], COALESCE([[number]], '') AS [[number]], COALESCE([[service]], '') AS [[service]], " +
	"COALESCE([[status]], '') AS [[status]], COALESCE([[status_note]], '') AS [[status_note]], COALESCE([[answers]], '') AS [[answers]], " +
	"COALESCE([[description]], '') AS [[description]], COALESCE([[location]], '') AS [[location]], COALESCE([[address]], '') AS [[address]], " +
	"COALESCE([[photos]], '') AS [[photos]], COALESCE([[department]], '') AS [[department]], COALESCE([[priority]], '') AS [[priority]], " +
	"COALESCE([[fee]], 0) AS [[fee]], COALESCE([[currency]], '') AS [[currency]], COALESCE([[paid_at]], '') AS [[paid_at]], " +
	"COALESCE([[reported_at]], '') AS [[reported_at]], COALESCE([[due_at]], '') AS [[due_at]], COALESCE([[resolved_at]], '') AS [[resolved_at]], " +
	"COALESCE([[not_fixed_at]], '') AS [[not_fixed_at]], COALESCE([[created]], '') AS [[created]], COALESCE([[updated]], '') AS [[updated]]"

// requestRow is a requests row as stored.
type requestRow struct {
	ID          string  `db:"id"`
	Number      string  `db:"number"`
	Service     string  `db:"service"`
	Status      string  `db:"status"`
	StatusNote  string  `db:"status_note"`
	Answers     string  `db:"answers"`
	Description string  `db:"description"`
	Location    string  `db:"location"`
	Address     string  `db:"address"`
	Photos      string  `db:"photos"`
	Department  string  `db:"department"`
	Priority    string  `db:"priority"`
	Fee         float64 `db:"fee"`
	Currency    string  `db:"currency"`
	PaidAt      string  `db:"paid_at"`
	ReportedAt  string  `db:"reported_at"`
	DueAt       string  `db:"due_at"`
	ResolvedAt  string  `db:"resolved_at"`
	NotFixedAt  string  `db:"not_fixed_at"`
	Created     string  `db:"created"`
	Updated     string  `db:"updated"`
}

// requestState is a request as the app gets it (docs/sync-protocol.md "Data shapes").
type requestState struct {
	ID          string          `json:"id"`
	Number      string          `json:"number"`
	Service     string          `json:"service"`
	ServiceCode string          `json:"serviceCode"`
	Status      string          `json:"status"`
	StatusNote  string          `json:"status_note"`
	Answers     json.RawMessage `json:"answers"`
	Description string          `json:"description"`
	Location    *geoState       `json:"location"`
	Address     string          `json:"address"`
	Photos      []photoState    `json:"photos"`
	Attachments []*uploadRow    `json:"attachments"`
	Department  string          `json:"department"`
	Priority    string          `json:"priority"`
	Fee         int             `json:"fee"`
	Currency    string          `json:"currency"`
	PaidAt      string          `json:"paid_at"`
	ReportedAt  string          `json:"reported_at"`
	DueAt       string          `json:"due_at"`
	ResolvedAt  string          `json:"resolved_at"`
	// a "not fixed" waiting for a clerk (issue 13)
	NotFixedAt string         `json:"not_fixed_at"`
	Created    string         `json:"created"`
	Updated    string         `json:"updated"`
	Receipts   []receiptState `json:"receipts"`
}

type geoState struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

type photoState struct {
	Name  string `json:"name"`
	URL   string `json:"url"`
	Thumb string `json:"thumb"`
}

const eventColumns = "[[e.id]] AS [[id]], COALESCE([[e.request]], '') AS [[request]], COALESCE([[e.type]], '') AS [[type]], " +
	"COALESCE([[e.from_status]], '') AS [[from_status]], COALESCE([[e.to_status]], '') AS [[to_status]], COALESCE([[e.message]], '') AS [[message]], " +
	"COALESCE([[e.author_type]], '') AS [[author_type]], COALESCE([[e.author]], '') AS [[author]], COALESCE([[e.created]], '') AS [[created]]"

// eventRow is a request_events row as stored.
type eventRow struct {
	ID         string `db:"id"`
	Request    string `db:"request"`
	Type       string `db:"type"`
	FromStatus string `db:"from_status"`
	ToStatus   string `db:"to_status"`
	Message    string `db:"message"`
	AuthorType string `db:"author_type"`
	Author     string `db:"author"`
	Created    string `db:"created"`
}

// eventState is a public event as the app gets it.
type eventState struct {
	ID         string `json:"id"`
	Request    string `json:"request"`
	Type       string `json:"type"`
	FromStatus string `json:"from_status"`
	ToStatus   string `json:"to_status"`
	Message    string `json:"message"`
	AuthorType string `json:"author_type"`
	Mine       bool   `json:"mine"`
	Created    string `json:"created"`
}

func (ev *eventRow) export(citizen string) eventState {
	return eventState{ID: ev.ID, Request: ev.Request, Type: ev.Type, FromStatus: ev.FromStatus, ToStatus: ev.ToStatus,
		Message: ev.Message, AuthorType: ev.AuthorType, Mine: ev.Author == citizen, Created: dateString(ev.Created)}
}

const receiptColumns = "[[x.id]] AS [[id]], COALESCE([[x.request]], '') AS [[request]], COALESCE([[x.kind]], '') AS [[kind]], " +
	"COALESCE([[x.code]], '') AS [[code]], COALESCE([[x.issued_at]], '') AS [[issued_at]], COALESCE([[x.revoked]], FALSE) AS [[revoked]]"

// receiptRow is a receipts row as stored.
type receiptRow struct {
	ID       string `db:"id"`
	Request  string `db:"request"`
	Kind     string `db:"kind"`
	Code     string `db:"code"`
	IssuedAt string `db:"issued_at"`
	Revoked  bool   `db:"revoked"`
}

// receiptState is a receipt as the app gets it.
type receiptState struct {
	ID       string `json:"id"`
	Request  string `json:"request"`
	Kind     string `json:"kind"`
	Code     string `json:"code"`
	IssuedAt string `json:"issued_at"`
	Revoked  bool   `json:"revoked"`
	QR       string `json:"qr"`
}

func (rc *receiptRow) export() receiptState {
	return receiptState{ID: rc.ID, Request: rc.Request, Kind: rc.Kind, Code: rc.Code, IssuedAt: dateString(rc.IssuedAt),
		Revoked: rc.Revoked, QR: "/api/mobile/receipts/" + url.PathEscape(rc.ID) + "/qr.png"}
}

// dateString is a stored date as PocketBase shows it ("" when empty), as
// Record.GetString gives it.
func dateString(s string) string {
	if s == "" {
		return ""
	}
	dt, err := types.ParseDateTime(s)
	if err != nil || dt.IsZero() {
		return ""
	}
	return dt.String()
}

// jsonOrNull is a stored JSON value, or null when empty or damaged.
func jsonOrNull(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}
