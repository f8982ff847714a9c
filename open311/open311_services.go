package open311

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// Spec is the specification token of discovery's endpoints.
const Spec = "http://wiki.open311.org/GeoReport_v2"

// MaxRequests is the most requests one GET requests returns (the spec's default volume).
const MaxRequests = 1000

type discovery struct {
	Changeset   string     `xml:"changeset" json:"changeset"`
	Contact     string     `xml:"contact" json:"contact"`
	KeyService  string     `xml:"key_service" json:"key_service"`
	MaxRequests int        `xml:"max_requests" json:"max_requests"`
	Endpoints   []endpoint `xml:"endpoints>endpoint" json:"endpoints"`
}

type endpoint struct {
	Specification string   `xml:"specification" json:"specification"`
	URL           string   `xml:"url" json:"url"`
	Changeset     string   `xml:"changeset" json:"changeset"`
	Type          string   `xml:"type" json:"type"`
	Formats       []string `xml:"formats>format" json:"formats"`
}

// service is one entry of GET services.
type service struct {
	ServiceCode string `xml:"service_code" json:"service_code"`
	ServiceName string `xml:"service_name" json:"service_name"`
	Description string `xml:"description" json:"description"`
	Metadata    bool   `xml:"metadata" json:"metadata"`
	Type        string `xml:"type" json:"type"`
	Keywords    string `xml:"keywords" json:"keywords"`
	Group       string `xml:"group" json:"group"`
}

type serviceDefinition struct {
	ServiceCode string      `xml:"service_code" json:"service_code"`
	Attributes  []attribute `xml:"attributes>attribute" json:"attributes"`
}

type attribute struct {
	Variable            bool       `xml:"variable" json:"variable"`
	Code                string     `xml:"code" json:"code"`
	Datatype            string     `xml:"datatype" json:"datatype"`
	Required            bool       `xml:"required" json:"required"`
	DatatypeDescription string     `xml:"datatype_description" json:"datatype_description"`
	Order               int        `xml:"order" json:"order"`
	Description         string     `xml:"description" json:"description"`
	Values              *valueList `xml:"values,omitempty" json:"values,omitempty"`
}

// valueList is <values><value/>...</values>, only on list questions; an array in JSON.
type valueList struct {
	Items []value `xml:"value"`
}

// MarshalJSON writes the list as an array (the Spark convention).
func (l *valueList) MarshalJSON() ([]byte, error) {
	if l.Items == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(l.Items)
}

type value struct {
	Key  string `xml:"key" json:"key"`
	Name string `xml:"name" json:"name"`
}

// svc is a services record with what Open311 shows of it.
type svc struct {
	rec  *core.Record
	i18n map[string]map[string]string
}

func (s *svc) id() string       { return s.rec.Id }
func (s *svc) code() string     { return s.rec.GetString("code") }
func (s *svc) public() bool     { return s.rec.GetBool("public") }
func (s *svc) active() bool     { return s.rec.GetBool("active") }
func (s *svc) location() string { return s.rec.GetString("location") }

// text returns the service's name/description/group in lang, else the stored default.
func (s *svc) text(lang, key string) string {
	if v := s.i18n[lang][key]; v != "" {
		return v
	}
	return s.rec.GetString(key)
}

func (s *svc) form() ([]workflow.FormField, error) {
	return workflow.ParseForm([]byte(s.rec.GetString("fields")))
}

// catalogue is every service by id and by code.
type catalogue struct {
	byID, byCode map[string]*svc
	changed      time.Time
}

// loadCatalogue reads the services (a city has tens, not thousands).
func loadCatalogue(app core.App) (*catalogue, error) {
	recs, err := app.FindAllRecords("services")
	if err != nil {
		return nil, err
	}
	c := &catalogue{byID: map[string]*svc{}, byCode: map[string]*svc{}}
	for _, r := range recs {
		s := &svc{rec: r}
		_ = json.Unmarshal([]byte(r.GetString("i18n")), &s.i18n) // texts fall back to the default language
		c.byID[r.Id] = s
		c.byCode[r.GetString("code")] = s
		if u := r.GetDateTime("updated").Time(); u.After(c.changed) {
			c.changed = u
		}
	}
	return c, nil
}

// publicIDs returns the ids of the services whose requests are listed.
func (c *catalogue) publicIDs() []string {
	var out []string
	for id, s := range c.byID {
		if s.public() {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (c *call) catalogue() (*catalogue, *apiError) {
	cat, err := loadCatalogue(c.e.App)
	if err != nil {
		c.e.App.Logger().Error("open311: load services", "error", err)
		return nil, newError(http.StatusInternalServerError, "The server could not read the service list.")
	}
	return cat, nil
}

func (c *call) discovery() *apiError {
	if _, ae := c.getPrologue(); ae != nil {
		return ae
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	changeset := formatTime(cat.changed, c.cfg.Location)
	if changeset == "" {
		changeset = formatTime(time.Unix(0, 0), c.cfg.Location)
	}
	d := discovery{
		Changeset:   changeset,
		Contact:     c.cfg.Name + " — " + c.cfg.PushSubject,
		KeyService:  "API keys that may post are issued by the city's administrators (api_clients in the dashboard, /_/). Reading needs no key.",
		MaxRequests: MaxRequests,
		Endpoints: []endpoint{{
			Specification: Spec, URL: c.cfg.PublicURL + "/open311/v2", Changeset: changeset, Type: "production",
			Formats: []string{"text/xml", "application/json"},
		}},
	}
	return c.writeObject("discovery", d)
}

func (c *call) services() *apiError {
	if _, ae := c.getPrologue(); ae != nil {
		return ae
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	codes := make([]string, 0, len(cat.byCode))
	for code, s := range cat.byCode {
		if s.active() {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	out := make([]service, 0, len(codes))
	for _, code := range codes {
		s := cat.byCode[code]
		fields, _ := s.form()
		out = append(out, service{
			ServiceCode: code, ServiceName: s.text(c.lang, "name"), Description: s.text(c.lang, "description"),
			Metadata: len(fields) > 0, Type: "realtime", Keywords: keywords(s), Group: s.text(c.lang, "group"),
		})
	}
	return c.writeList("services", "service", out)
}

// keywords turns the catalogue's space-separated keywords into the spec's
// comma-separated list; a service whose requests are not listed carries
// FixMyStreet's `private` keyword, so FMS marks its reports non-public.
func keywords(s *svc) string {
	words := strings.FieldsFunc(s.rec.GetString("keywords"), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if !s.public() {
		words = append(words, "private")
	}
	return strings.Join(words, ",")
}

// boolNames are the names of the true/false keys a boolean question shows as.
var boolNames = map[string][2]string{
	"it": {"Sì", "No"}, "en": {"Yes", "No"}, "sv": {"Ja", "Nej"}, "et": {"Jah", "Ei"}, "hu": {"Igen", "Nem"},
}

func (c *call) serviceDefinition(code string) *apiError {
	if _, ae := c.getPrologue(); ae != nil {
		return ae
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	s := cat.byCode[code]
	if s == nil || !s.active() {
		return notFound("service_code: unknown service " + quote(code) + ".")
	}
	fields, err := s.form()
	if err != nil {
		return newError(http.StatusBadRequest, "This service's form is misconfigured; staff have been told.")
	}
	def := serviceDefinition{ServiceCode: code, Attributes: make([]attribute, 0, len(fields))}
	for i, f := range fields {
		a := attribute{
			Variable: true, Code: f.Code, Datatype: f.Datatype, Required: f.Required,
			DatatypeDescription: f.Description.In(c.lang, c.cfg.DefaultLang),
			Order:               i + 1, // unique and from 1, whatever the catalogue numbered
			Description:         f.Label.In(c.lang, c.cfg.DefaultLang),
		}
		if len(f.Values) > 0 {
			a.Values = &valueList{}
			for _, v := range f.Values {
				a.Values.Items = append(a.Values.Items, value{Key: v.Key, Name: v.Name.In(c.lang, c.cfg.DefaultLang)})
			}
		}
		if f.Datatype == workflow.TypeBoolean {
			names, ok := boolNames[c.lang]
			if !ok {
				names = boolNames["en"]
			}
			a.Datatype = workflow.TypeSingleValueList
			a.Values = &valueList{Items: []value{{Key: "true", Name: names[0]}, {Key: "false", Name: names[1]}}}
		}
		if a.DatatypeDescription == "" {
			a.DatatypeDescription = datatypeHint(f)
		}
		def.Attributes = append(def.Attributes, a)
	}
	return c.writeObject("service_definition", def)
}

// datatypeHint describes what a question accepts when the catalogue gives no help text.
func datatypeHint(f workflow.FormField) string {
	switch f.Datatype {
	case workflow.TypeDatetime:
		return "A date (YYYY-MM-DD) or an ISO 8601 date-time with a zone."
	case workflow.TypeNumber:
		if f.Integer {
			return "A whole number."
		}
		return "A number."
	case workflow.TypeMultiValueList:
		return "One or more keys, each as attribute[" + f.Code + "][]."
	case workflow.TypeSingleValueList, workflow.TypeBoolean:
		return "One of the keys."
	}
	return ""
}

func (c *call) writeList(root, item string, items any) *apiError {
	if err := writeList(c.e, c.format, http.StatusOK, root, item, items); err != nil {
		c.e.App.Logger().Error("open311: write", "error", err)
		return newError(http.StatusInternalServerError, "The server could not write the answer.")
	}
	return nil
}

func (c *call) writeObject(root string, v any) *apiError {
	if err := writeObject(c.e, c.format, http.StatusOK, root, v); err != nil {
		c.e.App.Logger().Error("open311: write", "error", err)
		return newError(http.StatusInternalServerError, "The server could not write the answer.")
	}
	return nil
}
