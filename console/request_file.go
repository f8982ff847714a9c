package console

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// NearbyMeters is the radius of "open requests of the same service nearby".
const NearbyMeters = 200

// Answer is one form answer with its label and display value in the caller's language.
type Answer struct {
	Code    string `json:"code"`
	Label   string `json:"label"`
	Value   any    `json:"value"`
	Display string `json:"display"`
}

// Event is one timeline entry, internal ones included.
type Event struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	FromStatus string `json:"from_status"`
	ToStatus   string `json:"to_status"`
	Message    string `json:"message"`
	Public     bool   `json:"public"`
	AuthorType string `json:"author_type"`
	Author     string `json:"author"`
	AuthorName string `json:"author_name"`
	Created    string `json:"created"`
}

// Nearby is an open request of the same service close by.
type Nearby struct {
	ID        string `json:"id"`
	Number    string `json:"number"`
	Status    string `json:"status"`
	DistanceM int    `json:"distance_m"`
	Address   string `json:"address"`
}

// NumberRef names a request by id and number.
type NumberRef struct {
	ID     string `json:"id"`
	Number string `json:"number"`
}

// yesNo are the display values of boolean answers.
var yesNo = map[bool]workflow.Localized{
	true:  {"it": "Sì", "en": "Yes", "sv": "Ja", "et": "Jah", "hu": "Igen"},
	false: {"it": "No", "en": "No", "sv": "Nej", "et": "Ei", "hu": "Nem"},
}

// loadVisible returns the request if the caller may view it (the records
// API's view rule, evaluated by PocketBase), else a 404 error.
func loadVisible(e *core.RequestEvent, find func() (*core.Record, error)) (*core.Record, error) {
	rec, err := find()
	if err != nil {
		return nil, e.NotFoundError("The request does not exist or is not yours to see.", nil)
	}
	info, err := e.RequestInfo()
	if err != nil {
		return nil, e.BadRequestError("", err)
	}
	ok, err := e.App.CanAccessRecord(rec, info, rec.Collection().ViewRule)
	if err != nil || !ok {
		return nil, e.NotFoundError("The request does not exist or is not yours to see.", nil)
	}
	return rec, nil
}

func handleRequestFile(e *core.RequestEvent) error {
	rec, err := loadVisible(e, func() (*core.Record, error) { return e.App.FindRecordById("requests", e.Request.PathValue("id")) })
	if err != nil {
		return err
	}
	return respondFile(e, rec)
}

func handleRequestByNumber(e *core.RequestEvent) error {
	rec, err := loadVisible(e, func() (*core.Record, error) {
		return e.App.FindFirstRecordByData("requests", "number", e.Request.PathValue("number"))
	})
	if err != nil {
		return err
	}
	return respondFile(e, rec)
}

func respondFile(e *core.RequestEvent, rec *core.Record) error {
	file, err := BuildFile(e.App, rec, e.Auth, langOf(e))
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, file)
}

// BuildFile assembles the request file for a staff member.
func BuildFile(app core.App, rec *core.Record, auth *core.Record, lang string) (map[string]any, error) {
	n, err := loadNames(app, lang)
	if err != nil {
		return nil, err
	}
	svcRec, err := app.FindRecordById("services", rec.GetString("service"))
	if err != nil {
		return nil, fmt.Errorf("service of %s: %w", rec.Id, err)
	}
	fields, _ := workflow.ParseForm([]byte(svcRec.GetString("fields")))
	cfg := city.Of(app)

	var answers map[string]any
	_ = rec.UnmarshalJSONField("answers", &answers)
	formOut := make([]map[string]any, 0, len(fields))
	answersOut := make([]Answer, 0, len(fields))
	for _, f := range fields {
		values := make([]map[string]string, 0, len(f.Values))
		for _, v := range f.Values {
			values = append(values, map[string]string{"key": v.Key, "name": v.Name.In(lang, cfg.DefaultLang)})
		}
		formOut = append(formOut, map[string]any{"code": f.Code, "label": f.Label.In(lang, cfg.DefaultLang), "datatype": f.Datatype, "required": f.Required, "values": values})
		v, ok := answers[f.Code]
		if !ok {
			continue
		}
		answersOut = append(answersOut, Answer{Code: f.Code, Label: f.Label.In(lang, cfg.DefaultLang), Value: v, Display: displayAnswer(f, v, lang, cfg.DefaultLang)})
	}

	req := rec.PublicExport()
	svc := n.service(rec.GetString("service"))
	req["service"] = map[string]any{"id": svc.ID, "code": svc.Code, "name": svc.Name, "fields": formOut}
	req["department"] = n.department(rec.GetString("department"))
	if err := n.loadStaff(app, []string{rec.GetString("assignee")}); err != nil {
		return nil, err
	}
	req["assignee"] = n.person(rec.GetString("assignee"))

	events, err := loadEvents(app, rec.Id)
	if err != nil {
		return nil, err
	}
	receipts, err := app.FindAllRecords("receipts", dbx.HashExp{"request": rec.Id})
	if err != nil {
		return nil, fmt.Errorf("receipts of %s: %w", rec.Id, err)
	}
	sort.Slice(receipts, func(i, j int) bool { return receipts[i].GetString("issued_at") < receipts[j].GetString("issued_at") })
	rcpts := make([]map[string]any, 0, len(receipts))
	for _, r := range receipts {
		rcpts = append(rcpts, map[string]any{"id": r.Id, "kind": r.GetString("kind"), "issued_at": wireTime(r.GetString("issued_at")), "code": r.GetString("code"), "revoked": r.GetBool("revoked")})
	}

	var citizen any
	if id := rec.GetString("citizen"); id != "" {
		c, err := app.FindRecordById("citizens", id)
		switch {
		case err == nil && !c.GetBool("anonymized") && !rec.GetBool("anonymized"):
			citizen = map[string]any{"id": c.Id, "name": c.GetString("name"), "email": c.Email(), "lang": c.GetString("lang")}
		case err == nil || errors.Is(err, sql.ErrNoRows):
			citizen = map[string]any{"anonymized": true}
		default:
			return nil, fmt.Errorf("citizen of %s: %w", rec.Id, err)
		}
	} else if rec.GetBool("anonymized") {
		citizen = map[string]any{"anonymized": true}
	}
	var contact any
	if c := (map[string]string{"name": rec.GetString("contact_name"), "email": rec.GetString("contact_email"), "phone": rec.GetString("contact_phone")}); c["name"]+c["email"]+c["phone"] != "" && !rec.GetBool("anonymized") {
		contact = c
	}

	nearby, err := findNearby(app, rec, ScopeOf(auth))
	if err != nil {
		return nil, err
	}
	var dupOf any
	if id := rec.GetString("duplicate_of"); id != "" {
		if o, err := app.FindRecordById("requests", id); err == nil {
			dupOf = NumberRef{ID: o.Id, Number: o.GetString("number")}
		}
	}
	var dups []NumberRef
	if err := app.DB().NewQuery("SELECT [[id]], [[number]] FROM [[requests]] WHERE [[duplicate_of]] = {:id} AND [[duplicate_of]] != '' ORDER BY [[created]]").
		Bind(dbx.Params{"id": rec.Id}).All(&dups); err != nil {
		return nil, fmt.Errorf("duplicates of %s: %w", rec.Id, err)
	}
	if dups == nil {
		dups = []NumberRef{}
	}

	transitions := workflow.Transitions(workflow.ActorFromAuth(auth), rec.GetString("status"))
	if transitions == nil {
		transitions = []string{}
	}
	return map[string]any{
		"request": req, "answers": answersOut, "events": events, "receipts": rcpts,
		"citizen": citizen, "contact": contact, "transitions": transitions, "nearby": nearby,
		"duplicate_of": dupOf, "duplicates": dups,
	}, nil
}

func displayAnswer(f workflow.FormField, v any, lang, fallback string) string {
	name := func(key string) string {
		for _, fv := range f.Values {
			if fv.Key == key {
				return fv.Name.In(lang, fallback)
			}
		}
		return key
	}
	switch f.Datatype {
	case workflow.TypeBoolean:
		if b, ok := v.(bool); ok {
			return yesNo[b].In(lang, "en")
		}
	case workflow.TypeSingleValueList:
		if s, ok := v.(string); ok {
			return name(s)
		}
	case workflow.TypeMultiValueList:
		if list, ok := v.([]any); ok {
			parts := make([]string, 0, len(list))
			for _, it := range list {
				parts = append(parts, name(fmt.Sprint(it)))
			}
			return strings.Join(parts, ", ")
		}
	}
	return fmt.Sprint(v)
}

// loadEvents returns the whole timeline (internal entries included), oldest
// first, with the authors' names.
func loadEvents(app core.App, requestID string) ([]Event, error) {
	var rows []Event
	err := app.DB().NewQuery("SELECT [[id]], [[type]], [[from_status]], [[to_status]], [[message]], [[public]], COALESCE([[author_type]], '') AS [[author_type]], " +
		"[[author]], [[created]] FROM [[request_events]] WHERE [[request]] = {:r} ORDER BY [[created]], [[id]]").
		Bind(dbx.Params{"r": requestID}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", requestID, err)
	}
	staffIDs := []string{}
	for _, r := range rows {
		if r.AuthorType == "staff" {
			staffIDs = append(staffIDs, r.Author)
		}
	}
	n := &names{staff: map[string]Person{}}
	if err := n.loadStaff(app, staffIDs); err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Created = wireTime(rows[i].Created)
		if p := n.person(rows[i].Author); p != nil && rows[i].AuthorType == "staff" {
			rows[i].AuthorName = p.Name
		}
	}
	if rows == nil {
		rows = []Event{}
	}
	return rows, nil
}

// findNearby returns open requests of the same service within NearbyMeters:
// a latitude range on (service, status, lat) narrows it, Go measures the rest.
func findNearby(app core.App, rec *core.Record, scope Scope) ([]Nearby, error) {
	out := []Nearby{}
	loc := rec.GetGeoPoint("location")
	if loc.Lat == 0 && loc.Lon == 0 {
		return out, nil
	}
	dLat := NearbyMeters / 111320.0
	dLon := NearbyMeters / (111320.0 * math.Max(math.Cos(loc.Lat*math.Pi/180), 0.01))
	var rows []struct {
		ID         string  `db:"id"`
		Number     string  `db:"number"`
		Status     string  `db:"status"`
		Address    string  `db:"address"`
		Department string  `db:"department"`
		Lat        float64 `db:"lat"`
		Lon        float64 `db:"lon"`
	}
	q, params := NearbySQL(rec.GetString("service"), loc.Lat-dLat, loc.Lat+dLat)
	params["lon0"], params["lon1"], params["self"] = loc.Lon-dLon, loc.Lon+dLon, rec.Id
	if err := app.DB().NewQuery(q).Bind(params).All(&rows); err != nil {
		return nil, fmt.Errorf("nearby requests: %w", err)
	}
	for _, r := range rows {
		if !scope.Has(r.Department) {
			continue
		}
		d := haversine(loc.Lat, loc.Lon, r.Lat, r.Lon)
		if d <= NearbyMeters {
			out = append(out, Nearby{ID: r.ID, Number: r.Number, Status: r.Status, DistanceM: int(math.Round(d)), Address: r.Address})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DistanceM < out[j].DistanceM })
	if len(out) > 20 {
		out = out[:20]
	}
	return out, nil
}

// NearbySQL is the bounding-box query of findNearby (exported for the EXPLAIN test).
func NearbySQL(service string, lat0, lat1 float64) (string, dbx.Params) {
	lat := "json_extract(`location`, '$.lat')"
	return "SELECT [[id]], [[number]], [[status]], [[address]], [[department]], " + lat + " AS [[lat]], json_extract([[location]], '$.lon') AS [[lon]] " +
			"FROM [[requests]] WHERE [[service]] = {:svc} AND [[status]] IN ({:s0}, {:s1}, {:s2}) AND " + lat + " BETWEEN {:lat0} AND {:lat1} " +
			"AND json_extract([[location]], '$.lon') BETWEEN {:lon0} AND {:lon1} AND [[id]] != {:self} LIMIT 200",
		dbx.Params{"svc": service, "s0": openStatuses[0], "s1": openStatuses[1], "s2": openStatuses[2], "lat0": lat0, "lat1": lat1, "lon0": 0.0, "lon1": 0.0, "self": ""}
}

func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371000.0
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := (lat2-lat1)*math.Pi/180, (lon2-lon1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}
