package mobileapi

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"
)

// Thumbnail sizes offered to the app (requests.photos Thumbs).
const thumbSize = "320x240"

// loadStates returns the current state, as sent to the app, of every record in
// ids that the citizen may see, keyed "collection/id". A record missing from
// the result is gone or out of the citizen's view: the pull sends `del`.
//
// Rows are scanned into typed rows with the columns the app gets (one
// prepared statement per collection, a few per page, no record loads: the
// shapes are written once, by the JSON encoder).
func (r *reader) loadStates(ids map[string][]string) (map[string]any, error) {
	n := 0
	for _, l := range ids {
		n += len(l)
	}
	out := make(map[string]any, n)
	if reqIDs := ids["requests"]; len(reqIDs) > 0 {
		var rows []*requestRow
		err := r.scan(r.stmts.requests, func(rs *sql.Rows) error {
			rq := &requestRow{}
			rows = append(rows, rq)
			return rs.Scan(&rq.ID, &rq.Number, &rq.Service, &rq.Status, &rq.StatusNote, &rq.Answers, &rq.Description, &rq.Location,
				&rq.Address, &rq.Photos, &rq.Department, &rq.Priority, &rq.Fee, &rq.Currency, &rq.PaidAt, &rq.ReportedAt, &rq.DueAt,
				&rq.ResolvedAt, &rq.NotFixedAt, &rq.Created, &rq.Updated, &rq.ServiceCode)
		}, r.citizen, jsonIDs(reqIDs))
		if err != nil {
			return nil, fmt.Errorf("load requests: %w", err)
		}
		if err := r.exportRequests(rows, out); err != nil {
			return nil, err
		}
	}
	if evIDs := ids["request_events"]; len(evIDs) > 0 {
		err := r.scan(r.stmts.events, func(rs *sql.Rows) error {
			var ev eventRow
			if err := rs.Scan(&ev.ID, &ev.Request, &ev.Type, &ev.FromStatus, &ev.ToStatus, &ev.Message, &ev.AuthorType, &ev.Author, &ev.Created); err != nil {
				return err
			}
			out["request_events/"+ev.ID] = ev.export(r.citizen)
			return nil
		}, r.citizen, jsonIDs(evIDs))
		if err != nil {
			return nil, fmt.Errorf("load request_events: %w", err)
		}
	}
	if rcIDs := ids["receipts"]; len(rcIDs) > 0 {
		err := r.scan(r.stmts.receipts, func(rs *sql.Rows) error {
			var rc receiptRow
			if err := rc.scan(rs); err != nil {
				return err
			}
			out["receipts/"+rc.ID] = rc.export()
			return nil
		}, r.citizen, jsonIDs(rcIDs))
		if err != nil {
			return nil, fmt.Errorf("load receipts: %w", err)
		}
	}
	if feeIDs := ids["fees"]; len(feeIDs) > 0 {
		err := r.scan(r.stmts.fees, func(rs *sql.Rows) error {
			var f feeRow
			if err := rs.Scan(&f.ID, &f.Request, &f.Amount, &f.Currency, &f.Reference, &f.State, &f.PaidAmount, &f.RefundedAmount,
				&f.DueAt, &f.PaidAt, &f.Instruction, &f.Updated); err != nil {
				return err
			}
			out["fees/"+f.ID] = f.export()
			return nil
		}, r.citizen, jsonIDs(feeIDs))
		if err != nil {
			return nil, fmt.Errorf("load fees: %w", err)
		}
	}
	return out, nil
}

// scan runs a prepared statement in the snapshot and calls each for every row.
func (r *reader) scan(st *sql.Stmt, each func(*sql.Rows) error, args ...any) error {
	rows, err := r.query(st, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

const feeColumns = "f.id, COALESCE(f.request, ''), COALESCE(f.amount, 0), COALESCE(f.currency, ''), COALESCE(f.reference, ''), " +
	"COALESCE(f.state, ''), COALESCE(f.paid_amount, 0), COALESCE(f.refunded_amount, 0), COALESCE(f.due_at, ''), " +
	"COALESCE(f.paid_at, ''), COALESCE(f.instruction, ''), COALESCE(f.updated, '')"

// feeRow is a fees row as stored.
type feeRow struct {
	ID, Request, Currency, Reference, State string
	Amount, PaidAmount, RefundedAmount      float64
	DueAt, PaidAt, Instruction, Updated     string
}

// export shapes a fee for the app: amount, state and the payment instruction
// (QR payload and copyable text), so the Pay view works offline. It is a map,
// as it always was (payments' tests read it as one).
func (f *feeRow) export() map[string]any {
	// decoded and encoded again, as a record's JSON field was (keys sorted)
	var instruction any
	if f.Instruction != "" {
		if err := json.Unmarshal([]byte(f.Instruction), &instruction); err != nil {
			instruction = nil
		}
	}
	return map[string]any{
		"id":              f.ID,
		"request":         f.Request,
		"amount":          int(f.Amount),
		"currency":        f.Currency,
		"reference":       f.Reference,
		"state":           f.State,
		"paid_amount":     int(f.PaidAmount),
		"refunded_amount": int(f.RefundedAmount),
		"due_at":          dateString(f.DueAt),
		"paid_at":         dateString(f.PaidAt),
		"instruction":     instruction,
		"qr":              "/api/payments/fees/" + url.PathEscape(f.ID) + "/qr.png",
		"updated":         dateString(f.Updated),
	}
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
	byRequest := make(map[string][]receiptState, len(rows))
	err := r.scan(r.stmts.requestReceipts, func(rs *sql.Rows) error {
		var rc receiptRow
		if err := rc.scan(rs); err != nil {
			return err
		}
		byRequest[rc.Request] = append(byRequest[rc.Request], rc.export())
		return nil
	}, jsonIDs(ids))
	if err != nil {
		return fmt.Errorf("load receipts: %w", err)
	}

	uploadsByRequest := map[string][]*uploadRow{}
	err = r.scan(r.stmts.uploads, func(rs *sql.Rows) error {
		u := &uploadRow{}
		if err := rs.Scan(&u.AttachmentID, &u.RequestID, &u.Status, &u.Filename, &u.ErrorCode, &u.ErrorMessage); err != nil {
			return err
		}
		uploadsByRequest[u.RequestID] = append(uploadsByRequest[u.RequestID], u)
		return nil
	}, r.citizen, jsonIDs(ids))
	if err != nil {
		return fmt.Errorf("load uploads: %w", err)
	}

	for _, rq := range rows {
		st := &requestState{
			ID: rq.ID, Number: rq.Number, Service: rq.Service, ServiceCode: rq.ServiceCode,
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

// requestColumns are the requests (r) columns the app gets, with the code of
// its service (s) (NULL: a column added after the row was written). The
// order is the order requestRow is scanned in.
const requestColumns = "r.id, COALESCE(r.number, ''), COALESCE(r.service, ''), COALESCE(r.status, ''), COALESCE(r.status_note, ''), " +
	"COALESCE(r.answers, ''), COALESCE(r.description, ''), COALESCE(r.location, ''), COALESCE(r.address, ''), COALESCE(r.photos, ''), " +
	"COALESCE(r.department, ''), COALESCE(r.priority, ''), COALESCE(r.fee, 0), COALESCE(r.currency, ''), COALESCE(r.paid_at, ''), " +
	"COALESCE(r.reported_at, ''), COALESCE(r.due_at, ''), COALESCE(r.resolved_at, ''), COALESCE(r.not_fixed_at, ''), " +
	"COALESCE(r.created, ''), COALESCE(r.updated, ''), COALESCE(s.code, '')"

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
	ServiceCode string  `db:"service_code"`
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

// eventColumns are the request_events (e) columns of eventRow, in its scan order.
const eventColumns = "e.id, COALESCE(e.request, ''), COALESCE(e.type, ''), COALESCE(e.from_status, ''), COALESCE(e.to_status, ''), " +
	"COALESCE(e.message, ''), COALESCE(e.author_type, ''), COALESCE(e.author, ''), COALESCE(e.created, '')"

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

// receiptColumns are the receipts (x) columns of receiptRow, in its scan order.
const receiptColumns = "x.id, COALESCE(x.request, ''), COALESCE(x.kind, ''), COALESCE(x.code, ''), COALESCE(x.issued_at, ''), COALESCE(x.revoked, FALSE)"

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

func (rc *receiptRow) scan(rs *sql.Rows) error {
	return rs.Scan(&rc.ID, &rc.Request, &rc.Kind, &rc.Code, &rc.IssuedAt, &rc.Revoked)
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
	// what PocketBase stores, digit for digit in its layout, is formatted
	// again to itself (time.Parse alone is more lenient than the layout)
	if t, err := time.Parse(types.DefaultDateLayout, s); err == nil && canonicalDate(s) {
		if t.IsZero() {
			return ""
		}
		return s
	}
	dt, err := types.ParseDateTime(s)
	if err != nil || dt.IsZero() {
		return ""
	}
	return dt.String()
}

// canonicalDate reports whether s has the exact shape of PocketBase's date
// layout, "2006-01-02 15:04:05.000Z".
func canonicalDate(s string) bool {
	const layout = types.DefaultDateLayout
	if len(s) != len(layout) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if l := layout[i]; l >= '0' && l <= '9' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != l {
			return false
		}
	}
	return true
}

// jsonOrNull is a stored JSON value, or null when empty or damaged.
func jsonOrNull(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}
