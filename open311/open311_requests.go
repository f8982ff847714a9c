package open311

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Limits of GET requests (docs/open311.md).
const (
	maxWindow       = 90 * 24 * time.Hour
	defaultPageSize = 50
	maxPageSize     = 500
	maxIDs          = 1000
)

// serviceRequest is one request as GET requests shows it: the spec's fields,
// plus the extensions=true ones. Nothing personal: no citizen, contact,
// photo or free-text answer (docs/open311.md "Privacy").
type serviceRequest struct {
	ServiceRequestID  string   `xml:"service_request_id" json:"service_request_id"`
	Status            string   `xml:"status" json:"status"`
	StatusNotes       string   `xml:"status_notes" json:"status_notes"`
	ServiceName       string   `xml:"service_name" json:"service_name"`
	ServiceCode       string   `xml:"service_code" json:"service_code"`
	Description       string   `xml:"description" json:"description"`
	AgencyResponsible string   `xml:"agency_responsible" json:"agency_responsible"`
	ServiceNotice     string   `xml:"service_notice" json:"service_notice"`
	RequestedDatetime string   `xml:"requested_datetime" json:"requested_datetime"`
	UpdatedDatetime   string   `xml:"updated_datetime" json:"updated_datetime"`
	ExpectedDatetime  string   `xml:"expected_datetime,omitempty" json:"expected_datetime,omitempty"`
	Address           string   `xml:"address" json:"address"`
	AddressID         string   `xml:"address_id" json:"address_id"`
	Zipcode           string   `xml:"zipcode" json:"zipcode"`
	Lat               *float64 `xml:"lat,omitempty" json:"lat,omitempty"`
	Long              *float64 `xml:"long,omitempty" json:"long,omitempty"`
	MediaURL          string   `xml:"media_url" json:"media_url"`

	// extensions=true
	Title              string              `xml:"title,omitempty" json:"title,omitempty"`
	ExtendedAttributes *extendedAttributes `xml:"extended_attributes,omitempty" json:"extended_attributes,omitempty"`
	Attributes         *answerList         `xml:"attributes,omitempty" json:"attributes,omitempty"`
	Notes              *noteList           `xml:"notes,omitempty" json:"notes,omitempty"`
}

// answerList and noteList are containers that exist only with extensions=true:
// <attributes><attribute/>...</attributes> in XML, an array in JSON.
type answerList struct {
	Items []answer `xml:"attribute"`
}

// MarshalJSON writes the list as an array (the Spark convention).
func (l *answerList) MarshalJSON() ([]byte, error) {
	if l.Items == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(l.Items)
}

type noteList struct {
	Items []note `xml:"note"`
}

// MarshalJSON writes the list as an array (the Spark convention).
func (l *noteList) MarshalJSON() ([]byte, error) {
	if l.Items == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(l.Items)
}

// extendedAttributes are Chicago's extended_attributes as civicdesk fills them.
type extendedAttributes struct {
	// Channel is how the request came in: app, web, open311, office.
	Channel string `xml:"channel" json:"channel"`
	// ExternalStatusCode is civicdesk's own status (richer than open/closed).
	ExternalStatusCode string `xml:"external_status_code" json:"external_status_code"`
	// FixMyStreetStatus is the status in FixMyStreet's extended vocabulary.
	FixMyStreetStatus string `xml:"fixmystreet_status" json:"fixmystreet_status"`
	// NonPublic is always false: only public services are listed (FMS reads it).
	NonPublic bool `xml:"non_public" json:"non_public"`
}

// answer is one form answer of a choice question (free text is never shown).
type answer struct {
	Code  string `xml:"code" json:"code"`
	Name  string `xml:"name" json:"name"`
	Value string `xml:"value" json:"value"`
}

// note is one public event of the request's timeline (Chicago's notes[]).
type note struct {
	Datetime    string `xml:"datetime" json:"datetime"`
	Type        string `xml:"type" json:"type"`
	Summary     string `xml:"summary" json:"summary"`
	Description string `xml:"description" json:"description"`
}

// requestRow is what GET requests reads of a request.
type requestRow struct {
	ID          string         `db:"id"`
	Number      string         `db:"number"`
	Service     string         `db:"service"`
	Status      string         `db:"status"`
	StatusNote  string         `db:"status_note"`
	Description string         `db:"description"`
	Address     string         `db:"address"`
	AddressID   string         `db:"address_id"`
	Location    types.GeoPoint `db:"location"`
	MediaURL    string         `db:"media_url"`
	Department  string         `db:"department"`
	Source      string         `db:"source"`
	Answers     string         `db:"answers"`
	Created     types.DateTime `db:"created"`
	Updated     types.DateTime `db:"updated"`
	DueAt       types.DateTime `db:"due_at"`
	ResolvedAt  types.DateTime `db:"resolved_at"`
}

const requestColumns = "r.[[id]], r.[[number]], r.[[service]], r.[[status]], COALESCE(r.[[status_note]], '') AS [[status_note]], " +
	"COALESCE(r.[[description]], '') AS [[description]], COALESCE(r.[[address]], '') AS [[address]], COALESCE(r.[[address_id]], '') AS [[address_id]], " +
	"COALESCE(r.[[location]], '') AS [[location]], COALESCE(r.[[media_url]], '') AS [[media_url]], COALESCE(r.[[department]], '') AS [[department]], " +
	"COALESCE(r.[[source]], '') AS [[source]], COALESCE(r.[[answers]], '') AS [[answers]], r.[[created]], r.[[updated]], " +
	"COALESCE(r.[[due_at]], '') AS [[due_at]], COALESCE(r.[[resolved_at]], '') AS [[resolved_at]]"

// parseW3C parses a W3C datetime with a zone (the spec requires one), or a
// date alone (midnight in the city's zone).
func parseW3C(s string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	// clients that put the query in a URL unescaped turn the "+" of an offset into a space
	if t, err := time.Parse(time.RFC3339Nano, strings.Replace(s, " ", "+", 1)); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// window resolves a start/end pair: at most 90 days apart, ending now and
// starting 90 days before the end by default.
func (c *call) window(startName, endName string, now time.Time, defaultWindow bool) (start, end time.Time, ae *apiError) {
	var okS, okE bool
	if v := c.q(startName); v != "" {
		if start, okS = parseW3C(v, c.cfg.Location); !okS {
			return start, end, badParam(startName, "want a W3C date-time with a zone, e.g. 2026-11-25T09:40:11+01:00.")
		}
	}
	if v := c.q(endName); v != "" {
		if end, okE = parseW3C(v, c.cfg.Location); !okE {
			return start, end, badParam(endName, "want a W3C date-time with a zone, e.g. 2026-11-25T09:40:11+01:00.")
		}
	}
	if !okS && !okE && !defaultWindow {
		return time.Time{}, time.Time{}, nil
	}
	switch {
	case !okE && okS:
		end = start.Add(maxWindow)
		if end.After(now) {
			end = now
		}
	case !okE:
		end = now
	}
	if !okS {
		start = end.Add(-maxWindow)
	}
	if end.Before(start) {
		return start, end, badParam(endName, "must not be before "+startName+".")
	}
	if end.Sub(start) > maxWindow {
		return start, end, badParam(endName, "the range from "+startName+" may not exceed 90 days.")
	}
	return start, end, nil
}

func dbTime(t time.Time) string {
	dt, _ := types.ParseDateTime(t.UTC())
	return dt.String()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// statusesOf maps Open311's open/closed to civicdesk's statuses (CONTRACT §2).
func statusesOf(open311 string) []string {
	var out []string
	for _, s := range workflow.Statuses {
		if workflow.Open311Status(s) == open311 {
			out = append(out, s)
		}
	}
	return out
}

// requests answers GET requests.{fmt}.
func (c *call) requests() *apiError {
	_, ae := c.getPrologue()
	if ae != nil {
		return ae
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	q := c.e.App.DB().Select().From("requests r").AndWhere(dbx.NewExp("r.[[number]] != ''"))
	q = q.AndWhere(c.visible(cat))

	limit, offset := MaxRequests, 0
	if ids := splitList(c.q("service_request_id")); len(ids) > 0 {
		// the spec: a list of ids overrides every other filter
		if len(ids) > maxIDs {
			return badParam("service_request_id", fmt.Sprintf("at most %d ids.", maxIDs))
		}
		q = q.AndWhere(dbx.In("r.number", anySlice(ids)...))
	} else {
		if codes := splitList(c.q("service_code")); len(codes) > 0 {
			var ids []any
			for _, code := range codes {
				s := cat.byCode[code]
				if s == nil {
					return badParam("service_code", "unknown service "+quote(code)+".")
				}
				ids = append(ids, s.id())
			}
			q = q.AndWhere(inScan("r.service", "sc", ids))
		}
		if sts := splitList(c.q("status")); len(sts) > 0 {
			var in []any
			for _, st := range sts {
				if st != "open" && st != "closed" {
					return badParam("status", "want open, closed or both (comma-separated); got "+quote(st)+".")
				}
				for _, s := range statusesOf(st) {
					in = append(in, s)
				}
			}
			q = q.AndWhere(inScan("r.status", "st", in))
		}
		now := time.Now()
		incremental := c.q("updated_after") != "" || c.q("updated_before") != ""
		start, end, ae := c.window("start_date", "end_date", now, !incremental)
		if ae != nil {
			return ae
		}
		if !start.IsZero() {
			q = q.AndWhere(dbx.NewExp("r.[[created]] >= {:start} AND r.[[created]] <= {:end}", dbx.Params{"start": dbTime(start), "end": dbTime(end)}))
		}
		if v := c.q("updated_after"); v != "" {
			t, ok := parseW3C(v, c.cfg.Location)
			if !ok {
				return badParam("updated_after", "want a W3C date-time with a zone.")
			}
			q = q.AndWhere(dbx.NewExp("r.[[updated]] > {:ua}", dbx.Params{"ua": dbTime(t)}))
		}
		if v := c.q("updated_before"); v != "" {
			t, ok := parseW3C(v, c.cfg.Location)
			if !ok {
				return badParam("updated_before", "want a W3C date-time with a zone.")
			}
			q = q.AndWhere(dbx.NewExp("r.[[updated]] < {:ub}", dbx.Params{"ub": dbTime(t)}))
		}
		page, size, ae := c.paging()
		if ae != nil {
			return ae
		}
		if size > 0 {
			limit, offset = size, (page-1)*size
		}
	}
	var rows []requestRow
	err := q.Select(requestColumns).OrderBy("r.created DESC", "r.id DESC").Limit(int64(limit)).Offset(int64(offset)).All(&rows)
	if err != nil {
		c.e.App.Logger().Error("open311: list requests", "error", err)
		return newError(http.StatusInternalServerError, "The server could not read the requests.")
	}
	out, ae := c.shape(cat, rows)
	if ae != nil {
		return ae
	}
	return c.writeList("service_requests", "request", out)
}

// paging reads the page/page_size extension (Chicago's: page_size 50 by default, at most 500).
func (c *call) paging() (page, size int, ae *apiError) {
	ps, pg := c.q("page_size"), c.q("page")
	if ps == "" && pg == "" {
		return 0, 0, nil
	}
	page, size = 1, defaultPageSize
	if ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > maxPageSize {
			return 0, 0, badParam("page_size", fmt.Sprintf("want a whole number from 1 to %d.", maxPageSize))
		}
		size = n
	}
	if pg != "" {
		n, err := strconv.Atoi(pg)
		if err != nil || n < 1 || n > 1000000 {
			return 0, 0, badParam("page", "want a whole number from 1.")
		}
		page = n
	}
	return page, size, nil
}

// visible limits a query to the requests Open311 lists: those of public
// services, whoever asks (a key that filed a request in a private service
// does not see it listed either: docs/open311.md "Privacy").
func (c *call) visible(cat *catalogue) dbx.Expression {
	ids := cat.publicIDs()
	if len(ids) == 0 {
		return dbx.NewExp("0")
	}
	return inScan("r.service", "pub", anySlice(ids))
}

// inScan is `col IN (...)` written `+col IN (...)`, which keeps SQLite from
// answering it with that column's index: the list is then read newest first
// along idx_requests_created and stops at the limit, instead of collecting
// every request of the listed services and sorting them (100k requests:
// seconds instead of milliseconds).
func inScan(col, prefix string, vals []any) dbx.Expression {
	params := dbx.Params{}
	names := make([]string, len(vals))
	for i, v := range vals {
		name := fmt.Sprintf("%s%d", prefix, i)
		params[name] = v
		names[i] = "{:" + name + "}"
	}
	return dbx.NewExp("+"+col+" IN ("+strings.Join(names, ", ")+")", params)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// request answers GET requests/{id}.{fmt}: the same shape, in a list of one.
func (c *call) request(number string) *apiError {
	_, ae := c.getPrologue()
	if ae != nil {
		return ae
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	var rows []requestRow
	err := c.e.App.DB().Select(requestColumns).From("requests r").
		Where(dbx.HashExp{"r.number": number}).AndWhere(dbx.NewExp("r.[[number]] != ''")).AndWhere(c.visible(cat)).Limit(1).All(&rows)
	if err != nil {
		c.e.App.Logger().Error("open311: get request", "error", err)
		return newError(http.StatusInternalServerError, "The server could not read the request.")
	}
	if len(rows) == 0 {
		return notFound("service_request_id: no request " + quote(number) + ".")
	}
	out, ae := c.shape(cat, rows)
	if ae != nil {
		return ae
	}
	return c.writeList("service_requests", "request", out)
}

// tokenAnswer is GET tokens/{token}'s entry.
type tokenAnswer struct {
	ServiceRequestID string `xml:"service_request_id" json:"service_request_id"`
	Token            string `xml:"token" json:"token"`
}

// token answers GET tokens/{token}.{fmt}. civicdesk creates requests at once
// (type realtime) and never hands out tokens; a client that polls anyway may
// use the request's record id as its token.
func (c *call) token(tok string) *apiError {
	_, ae := c.getPrologue()
	if ae != nil {
		return ae
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	var rows []requestRow
	err := c.e.App.DB().Select(requestColumns).From("requests r").
		Where(dbx.HashExp{"r.id": tok}).AndWhere(dbx.NewExp("r.[[number]] != ''")).AndWhere(c.visible(cat)).Limit(1).All(&rows)
	if err != nil {
		return newError(http.StatusInternalServerError, "The server could not read the token.")
	}
	if len(rows) == 0 {
		return notFound("token: unknown token " + quote(tok) + ".")
	}
	return c.writeList("service_requests", "request", []tokenAnswer{{ServiceRequestID: rows[0].Number, Token: tok}})
}

// fmsStatus maps a status to FixMyStreet's extended vocabulary.
func fmsStatus(s string) string {
	switch s {
	case workflow.StatusReceived:
		return "open"
	case workflow.StatusInProgress:
		return "in_progress"
	case workflow.StatusWaitingCitizen:
		return "investigating"
	case workflow.StatusResolved:
		return "fixed"
	case workflow.StatusRejected:
		return "no_further_action"
	case workflow.StatusCancelled:
		return "cancelled"
	}
	return "open"
}

// shape turns rows into the answer, with the extensions when asked for.
func (c *call) shape(cat *catalogue, rows []requestRow) ([]serviceRequest, *apiError) {
	ext := c.q("extensions") == "true"
	depts := map[string]string{}
	if len(rows) > 0 {
		var ds []struct {
			ID   string `db:"id"`
			Name string `db:"name"`
			I18n string `db:"i18n"`
		}
		if err := c.e.App.DB().NewQuery("SELECT [[id]], [[name]], COALESCE([[i18n]], '') AS [[i18n]] FROM [[departments]]").All(&ds); err != nil {
			return nil, newError(http.StatusInternalServerError, "The server could not read the departments.")
		}
		for _, d := range ds {
			var i18n map[string]map[string]string
			_ = json.Unmarshal([]byte(d.I18n), &i18n)
			depts[d.ID] = d.Name
			if n := i18n[c.lang]["name"]; n != "" {
				depts[d.ID] = n
			}
		}
	}
	var notes map[string][]note
	if ext && len(rows) > 0 {
		var err error
		if notes, err = c.notes(rows); err != nil {
			c.e.App.Logger().Error("open311: notes", "error", err)
			return nil, newError(http.StatusInternalServerError, "The server could not read the timelines.")
		}
	}
	loc := c.cfg.Location
	out := make([]serviceRequest, 0, len(rows))
	for _, r := range rows {
		s := cat.byID[r.Service]
		if s == nil {
			continue
		}
		sr := serviceRequest{
			ServiceRequestID: r.Number, Status: workflow.Open311Status(r.Status), StatusNotes: r.StatusNote,
			ServiceName: s.text(c.lang, "name"), ServiceCode: s.code(), Description: r.Description,
			AgencyResponsible: depts[r.Department], RequestedDatetime: formatTime(r.Created.Time(), loc),
			UpdatedDatetime: formatTime(r.Updated.Time(), loc), Address: r.Address, AddressID: r.AddressID,
			MediaURL: r.MediaURL,
		}
		if workflow.IsClosed(r.Status) && !r.ResolvedAt.IsZero() {
			sr.UpdatedDatetime = formatTime(r.ResolvedAt.Time(), loc) // the spec: for closed requests, when it was closed
		}
		if !r.DueAt.IsZero() && !workflow.IsClosed(r.Status) {
			sr.ExpectedDatetime = formatTime(r.DueAt.Time(), loc)
		}
		if r.Location.Lat != 0 || r.Location.Lon != 0 {
			lat, lon := r.Location.Lat, r.Location.Lon
			sr.Lat, sr.Long = &lat, &lon
		}
		if ext {
			sr.Title = s.text(c.lang, "name") + " " + r.Number
			sr.ExtendedAttributes = &extendedAttributes{Channel: r.Source, ExternalStatusCode: r.Status, FixMyStreetStatus: fmsStatus(r.Status)}
			sr.Attributes = &answerList{Items: choiceAnswers(s, r.Answers, c.lang, c.cfg.DefaultLang)}
			sr.Notes = &noteList{Items: notes[r.ID]}
		}
		out = append(out, sr)
	}
	return out, nil
}

// choiceAnswers lists the answers to choice, number and yes/no questions;
// free-text and date answers may carry personal data and are never shown.
func choiceAnswers(s *svc, raw, lang, fallback string) []answer {
	fields, err := s.form()
	if err != nil || raw == "" {
		return nil
	}
	var answers map[string]any
	if json.Unmarshal([]byte(raw), &answers) != nil {
		return nil
	}
	var out []answer
	for _, f := range fields {
		v, ok := answers[f.Code]
		if !ok {
			continue
		}
		var val string
		switch f.Datatype {
		case workflow.TypeSingleValueList, workflow.TypeNumber, workflow.TypeBoolean:
			val = fmt.Sprint(v)
		case workflow.TypeMultiValueList:
			if list, ok := v.([]any); ok {
				parts := make([]string, 0, len(list))
				for _, x := range list {
					parts = append(parts, fmt.Sprint(x))
				}
				val = strings.Join(parts, ",")
			}
		default:
			continue
		}
		out = append(out, answer{Code: f.Code, Name: f.Label.In(lang, fallback), Value: val})
	}
	return out
}

// eventRow is a public event as notes[] and servicerequestupdates read it.
type eventRow struct {
	ID         string         `db:"id"`
	Request    string         `db:"request"`
	Type       string         `db:"type"`
	FromStatus string         `db:"from_status"`
	ToStatus   string         `db:"to_status"`
	Message    string         `db:"message"`
	AuthorType string         `db:"author_type"`
	Created    types.DateTime `db:"created"`
}

// notes reads the public timeline of rows.
func (c *call) notes(rows []requestRow) (map[string][]note, error) {
	ids := make([]any, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var evs []eventRow
	err := c.e.App.DB().Select("id", "request", "type", "from_status", "to_status", "message", "author_type", "created").
		From("request_events").Where(dbx.In("request", ids...)).AndWhere(dbx.HashExp{"public": true}).
		OrderBy("created ASC", "id ASC").All(&evs)
	if err != nil {
		return nil, err
	}
	out := map[string][]note{}
	for _, ev := range evs {
		n := note{Datetime: formatTime(ev.Created.Time(), c.cfg.Location), Description: publicMessage(ev)}
		switch {
		case ev.Type == "created":
			n.Type, n.Summary = "submitted", "Request received"
		case ev.Type == "status" && workflow.IsClosed(ev.ToStatus):
			n.Type, n.Summary = "closed", "Status: "+ev.ToStatus
		case ev.Type == "status" && workflow.IsClosed(ev.FromStatus):
			n.Type, n.Summary = "opened", "Reopened: "+ev.ToStatus
		case ev.Type == "status":
			n.Type, n.Summary = "activity", "Status: "+ev.ToStatus
		case ev.Type == "comment":
			n.Type, n.Summary = "activity", "Comment"
		case ev.Type == "photo":
			n.Type, n.Summary, n.Description = "activity", "Photo added", ""
		default:
			n.Type, n.Summary, n.Description = "activity", ev.Type, ""
		}
		out[ev.Request] = append(out[ev.Request], n)
	}
	return out, nil
}

// publicMessage is an event's text as Open311 shows it: the city's words
// (staff, system) and relayed updates; a citizen's own comments stay between
// them and the city.
func publicMessage(ev eventRow) string {
	if slices.Contains([]string{"citizen", ""}, ev.AuthorType) && ev.Type == "comment" {
		return ""
	}
	return ev.Message
}
