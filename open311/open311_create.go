package open311

import (
	"database/sql"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// MaxDescription is the spec's limit of a request's description.
const MaxDescription = 4000

// htmlTag finds markup: the spec allows "no HTML or code" in a description.
var htmlTag = regexp.MustCompile(`<\s*[A-Za-z!/?]`)

// createAnswer is POST requests' answer entry.
type createAnswer struct {
	ServiceRequestID string `xml:"service_request_id" json:"service_request_id"`
	ServiceNotice    string `xml:"service_notice,omitempty" json:"service_notice,omitempty"`
	AccountID        string `xml:"account_id,omitempty" json:"account_id,omitempty"`
}

// serviceNotices is the notice a POST answers with, per language (%s: the number).
var serviceNotices = map[string]string{
	"it": "Richiesta %s ricevuta.",
	"en": "Request %s received.",
	"sv": "Ärende %s mottaget.",
	"et": "Taotlus %s on vastu võetud.",
	"hu": "A(z) %s számú bejelentés beérkezett.",
}

// createRequest handles POST requests.{fmt}: the Open311 parameters are
// checked for what only Open311 has (location forms, the description limit,
// contact fields), then the request is saved through app.Save with the API
// client as actor, so the workflow validates the service, the answers and the
// policies exactly as on every other path, and numbers it, writes its created
// event, receipt and change rows, and stamps its SLA in the same transaction.
func (c *call) createRequest(cl *client, f *form) *apiError {
	app := c.e.App
	var errs []Error
	bad := func(param, msg string) {
		errs = append(errs, Error{Code: http.StatusBadRequest, Description: param + ": " + msg})
	}

	code := f.get("service_code")
	if code == "" {
		return badParam("service_code", "required.")
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	s := cat.byCode[code]
	if s == nil {
		return notFound("service_code: unknown service " + quote(code) + ".")
	}

	// exactly one location form: lat+long, address_string or address_id
	var loc types.GeoPoint
	forms := 0
	if f.has("lat") || f.has("long") {
		forms++
		lat, errLat := strconv.ParseFloat(f.get("lat"), 64)
		lon, errLon := strconv.ParseFloat(f.get("long"), 64)
		switch {
		case !f.has("lat"):
			bad("lat", "required with long.")
		case !f.has("long"):
			bad("long", "required with lat.")
		case errLat != nil || lat < -90 || lat > 90:
			bad("lat", "want a WGS84 latitude from -90 to 90.")
		case errLon != nil || lon < -180 || lon > 180:
			bad("long", "want a WGS84 longitude from -180 to 180.")
		case lat == 0 && lon == 0:
			bad("lat", "0,0 is not a place in the city.")
		default:
			loc = types.GeoPoint{Lat: lat, Lon: lon}
		}
	}
	if f.has("address_string") {
		forms++
	}
	if f.has("address_id") {
		forms++
	}
	switch {
	case forms > 1:
		bad("lat", "send exactly one location form: lat and long, address_string, or address_id.")
	case forms > 0 && s.location() == "none":
		param := "lat"
		if !f.has("lat") && !f.has("long") {
			param = "address_string"
			if !f.has("address_string") {
				param = "address_id"
			}
		}
		bad(param, "this service takes no location.")
	}

	desc := f.get("description")
	if n := utf8.RuneCountInString(desc); n > MaxDescription {
		bad("description", "at most 4,000 characters.")
	} else if htmlTag.MatchString(desc) {
		bad("description", "no HTML or code, please: plain text only.")
	}
	email := f.get("email")
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			bad("email", "not an e-mail address.")
		}
	}
	media := f.lists["media_url"]
	var mediaURL string
	switch {
	case len(media) > 1:
		bad("media_url", "at most one media_url per request.")
	case len(media) == 1:
		u, err := url.Parse(media[0])
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("media_url", "want an http or https URL.")
		}
		mediaURL = media[0]
	}
	if len(errs) > 0 {
		return &apiError{Status: http.StatusBadRequest, Errors: errs}
	}

	col, err := app.FindCachedCollectionByNameOrId("requests")
	if err != nil {
		return newError(http.StatusInternalServerError, "The server could not file the request.")
	}
	rec := core.NewRecord(col)
	answers := make(map[string]any, len(f.attrs))
	for k, v := range f.attrs {
		answers[k] = v
	}
	address := f.get("address_string")
	if id := f.get("address_id"); id != "" {
		// the workflow takes a point or an address; a master-address id is the address clerks look up
		address = "address_id " + id
	}
	rec.Load(map[string]any{
		"service":       s.id(),
		"answers":       answers,
		"description":   desc,
		"location":      loc,
		"address":       address,
		"address_id":    f.get("address_id"),
		"media_url":     mediaURL,
		"contact_name":  strings.TrimSpace(f.get("first_name") + " " + f.get("last_name")),
		"contact_email": email,
		"contact_phone": f.get("phone"),
		"device_id":     f.get("device_id"),
		"account_id":    f.get("account_id"),
		"api_client":    cl.ID,
		"source":        "open311",
	})
	if cl.LinkCitizens && email != "" {
		if id := verifiedCitizen(app, email); id != "" {
			rec.Set("citizen", id) // the request shows in that citizen's app, with its receipts
		}
	}
	workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorOpen311, ID: cl.ID})
	if err := app.Save(rec); err != nil {
		if ae, ok := fromValidation(err); ok {
			return ae
		}
		app.Logger().Error("open311: create request", "error", err, "api_client", cl.ID)
		return newError(http.StatusInternalServerError, "The server could not file the request; try again later.")
	}
	notice, ok := serviceNotices[c.lang]
	if !ok {
		notice = serviceNotices["en"]
	}
	out := createAnswer{ServiceRequestID: rec.GetString("number"), ServiceNotice: strings.Replace(notice, "%s", rec.GetString("number"), 1), AccountID: f.get("account_id")}
	return c.writeList("service_requests", "request", []createAnswer{out})
}

// verifiedCitizen returns the id of the verified citizen with email, or "".
func verifiedCitizen(app core.App, email string) string {
	var id string
	err := app.DB().NewQuery("SELECT [[id]] FROM [[citizens]] WHERE [[email]] = {:e} COLLATE NOCASE AND [[verified]] = TRUE LIMIT 1").
		Bind(dbx.Params{"e": email}).Row(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		app.Logger().Error("open311: find citizen", "error", err)
	}
	return id
}
