package mobileapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// catalogService is one active service as the app shows it, in one language.
type catalogService struct {
	ID          string `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Group       string `json:"group"`
	Keywords    string `json:"keywords"`
	Department  string `json:"department"`
	Location    string `json:"location"`
	Photos      string `json:"photos"`
	Fee         int    `json:"fee"`
	Currency    string `json:"currency"`
	FeeMode     string `json:"feeMode,omitempty"` // payments: on_filing, assessed (then Fee is only indicative), none
	SLAHours    int    `json:"slaHours"`
	// ReopenDays is how long after resolution "not fixed" is offered (0: never);
	// ReopenMode says whether it reopens the request or asks a clerk.
	ReopenDays int            `json:"reopenDays"`
	ReopenMode string         `json:"reopenMode"`
	Fields     []catalogField `json:"fields"`
}

// catalogField is a form question with its texts in the catalogue's language.
type catalogField struct {
	Code        string         `json:"code"`
	Label       string         `json:"label"`
	Description string         `json:"description,omitempty"`
	Datatype    string         `json:"datatype"`
	Required    bool           `json:"required"`
	Order       int            `json:"order"`
	Values      []catalogValue `json:"values,omitempty"`
	Min         *float64       `json:"min,omitempty"`
	Max         *float64       `json:"max,omitempty"`
	Integer     bool           `json:"integer,omitempty"`
	MaxLength   int            `json:"maxLength,omitempty"`
	Pattern     string         `json:"pattern,omitempty"`
}

type catalogValue struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

type catalogDepartment struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

type catalogStatus struct {
	Code  string            `json:"code"`
	Names map[string]string `json:"names"`
}

// catalog is the body of GET /api/mobile/catalog.
type catalog struct {
	Lang        string              `json:"lang"`
	Languages   []string            `json:"languages"`
	Services    []catalogService    `json:"services"`
	Departments []catalogDepartment `json:"departments"`
	Statuses    []catalogStatus     `json:"statuses"`
	City        catalogCity         `json:"city"`
}

// catalogCity names the city in the app's header (arms: an image URL).
type catalogCity struct {
	Name      string `json:"name"`
	ShortName string `json:"shortName"`
	Arms      string `json:"arms"`
	// Map is the city's GeoJSON (outline, streets); Tiles an optional tile URL template.
	Map         string `json:"map"`
	Tiles       string `json:"tiles,omitempty"`
	Attribution string `json:"attribution,omitempty"`
}

// handleCatalog answers GET /api/mobile/catalog: public, localized by ?lang=
// or Accept-Language, with a content ETag so an unchanged catalogue costs a 304.
func handleCatalog(e *core.RequestEvent) error {
	cfg := city.Of(e.App)
	lang := cfg.MatchLang(e.Request.URL.Query().Get("lang"), e.Request.Header.Get("Accept-Language"))

	body, err := buildCatalog(e.App, cfg, lang)
	if err != nil {
		return e.InternalServerError("Failed to load the catalogue.", err)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return e.InternalServerError("Failed to encode the catalogue.", err)
	}
	sum := sha256.Sum256(raw)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`

	h := e.Response.Header()
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Language")
	h.Set("Cache-Control", "no-cache") // always revalidate: cheap with the ETag
	if etagMatches(e.Request.Header.Get("If-None-Match"), etag) {
		return e.NoContent(http.StatusNotModified)
	}
	return e.Blob(http.StatusOK, "application/json", raw)
}

// etagMatches implements If-None-Match (a list, weak comparison, or *).
func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == etag || part == "*" {
			return true
		}
	}
	return false
}

func buildCatalog(app core.App, cfg city.Config, lang string) (*catalog, error) {
	out := &catalog{Lang: lang, Languages: slices.Clone(cfg.Languages), Services: []catalogService{}, Departments: []catalogDepartment{},
		City: catalogCity{Name: cfg.Name, ShortName: cfg.ShortName, Arms: "/city/arms", Map: "/city/map.geojson", Tiles: cfg.MapTiles, Attribution: cfg.MapAttribution}}

	depts, err := app.FindRecordsByFilter("departments", "", "code", 0, 0)
	if err != nil {
		return nil, fmt.Errorf("load departments: %w", err)
	}
	for _, d := range depts {
		out.Departments = append(out.Departments, catalogDepartment{ID: d.Id, Code: d.GetString("code"), Name: localizedText(d, "name", lang, cfg.DefaultLang)})
	}

	services, err := app.FindRecordsByFilter("services", "active = {:active}", "code", 0, 0, dbx.Params{"active": true})
	if err != nil {
		return nil, fmt.Errorf("load services: %w", err)
	}
	for _, s := range services {
		form, err := workflow.ParseForm([]byte(s.GetString("fields")))
		if err != nil {
			app.Logger().Warn("catalog: service form is broken, skipped", "service", s.GetString("code"), "error", err)
			continue
		}
		cs := catalogService{
			ID: s.Id, Code: s.GetString("code"),
			Name:        localizedText(s, "name", lang, cfg.DefaultLang),
			Description: localizedText(s, "description", lang, cfg.DefaultLang),
			Group:       localizedText(s, "group", lang, cfg.DefaultLang),
			Keywords:    s.GetString("keywords"), Department: s.GetString("department"),
			Location: s.GetString("location"), Photos: s.GetString("photos"),
			Fee: s.GetInt("fee"), Currency: s.GetString("currency"), FeeMode: s.GetString("fee_mode"), SLAHours: s.GetInt("sla_hours"),
			ReopenDays: s.GetInt("reopen_days"), ReopenMode: reopenMode(s.GetString("reopen_mode")),
			Fields: []catalogField{},
		}
		for _, f := range form {
			cf := catalogField{
				Code: f.Code, Label: f.Label.In(lang, cfg.DefaultLang), Description: f.Description.In(lang, cfg.DefaultLang),
				Datatype: f.Datatype, Required: f.Required, Order: f.Order,
				Min: f.Min, Max: f.Max, Integer: f.Integer, MaxLength: f.MaxLength, Pattern: f.Pattern,
			}
			for _, v := range f.Values {
				cf.Values = append(cf.Values, catalogValue{Key: v.Key, Name: v.Name.In(lang, cfg.DefaultLang)})
			}
			cs.Fields = append(cs.Fields, cf)
		}
		out.Services = append(out.Services, cs)
	}

	for _, st := range workflow.Statuses {
		names := map[string]string{}
		for _, l := range cfg.Languages {
			names[l] = workflow.StatusName(st, l)
		}
		out.Statuses = append(out.Statuses, catalogStatus{Code: st, Names: names})
	}
	return out, nil
}

// localizedText returns i18n[lang][key] of rec, falling back to the default
// language and then to the plain field.
func localizedText(rec *core.Record, key, lang, fallback string) string {
	var i18n map[string]map[string]string
	_ = rec.UnmarshalJSONField("i18n", &i18n)
	for _, l := range []string{lang, fallback} {
		if v := i18n[l][key]; v != "" {
			return v
		}
	}
	return rec.GetString(key)
}

// reopenMode is a service's reopen_mode with its default ("reopen").
func reopenMode(m string) string {
	if m == "" {
		return "reopen"
	}
	return m
}
