package open311_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// demoKey returns the demo Open311 client's key from app.
func demoKey(t testing.TB, app core.App) string {
	rec, err := app.FindFirstRecordByData("api_clients", "name", "Demo Open311 client")
	if err != nil {
		t.Fatal(err)
	}
	return rec.GetString("key")
}

// count returns how many records of collection match (for "nothing written").
func count(t testing.TB, app core.App, collection string) int64 {
	n, err := app.CountRecords(collection)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// conformance is one checklist item (research civic.md §1.12), run in both formats.
type conformance struct {
	name   string
	method string
	path   string // with {fmt} for the format suffix
	// body builds the POST form from the demo key (nil: no body)
	body        func(key string) string
	contentType string
	status      int
	contains    []string // for both formats; {fmt}-independent text
	xmlContains []string
	notContains []string
	// writes is whether a request may be created (false: the POST must write nothing)
	writes bool
	before func(t testing.TB, app *tests.TestApp)
	after  func(t testing.TB, app *tests.TestApp, body string)
}

// TestConformance walks the GeoReport v2 checklist in XML and JSON through
// the real router: every resource, every error code, the spec's error shape,
// and that a refused POST writes nothing.
func TestConformance(t *testing.T) {
	pub, priv := fixtureNumbers()
	first := snapshotApp(t)
	key := demoKey(t, first) // the same in every copy of the snapshot
	first.Cleanup()
	day := time.Now().UTC()
	long := func(n int) string { return strings.Repeat("x", n) }
	items := []conformance{
		{name: "1 discovery", method: "GET", path: "discovery.{fmt}", status: 200,
			contains: []string{"changeset", "contact", "key_service", "http://wiki.open311.org/GeoReport_v2", "production", "text/xml", "application/json", "/open311/v2"}},
		{name: "3 service list", method: "GET", path: "services.{fmt}", status: 200,
			contains:    []string{"pothole", "service_name", "realtime", "metadata", "residence_certificate", "private"},
			xmlContains: []string{"<services><service><service_code>"}},
		{name: "3 service list localized", method: "GET", path: "services.{fmt}?locale=hu", status: 200, contains: []string{"Kátyú az úton"}},
		{name: "4 service definition", method: "GET", path: "services/pothole.{fmt}", status: 200,
			contains:    []string{"size", "singlevaluelist", "large", "variable", "datatype_description", "order"},
			xmlContains: []string{"<service_definition>", "<attributes><attribute><variable>true</variable>", "<key>true</key>", "<key>false</key>", "<order>3</order>"}},
		{name: "4 boolean is a singlevaluelist", method: "GET", path: "services/noise.{fmt}?locale=en", status: 200,
			contains: []string{"ongoing", "Yes", "No"}, notContains: []string{"boolean"}},
		{name: "4 unknown service 404", method: "GET", path: "services/nope.{fmt}", status: 404, contains: []string{"service_code"}},
		{name: "8 requests lists public ones", method: "GET", path: "requests.{fmt}", status: 200,
			contains: []string{pub, "Crew scheduled"}, notContains: append([]string{priv, "<notes>", "<attributes>", "extended_attributes"}, personal...)},
		{name: "8 status=open", method: "GET", path: "requests.{fmt}?status=open", status: 200, contains: []string{pub}},
		{name: "8 status=closed", method: "GET", path: "requests.{fmt}?status=closed", status: 200, notContains: []string{pub}},
		{name: "8 bad status 400", method: "GET", path: "requests.{fmt}?status=pending", status: 400, contains: []string{"status:"}},
		{name: "8 service_code filter", method: "GET", path: "requests.{fmt}?service_code=streetlight,noise", status: 200, notContains: []string{pub}},
		{name: "8 unknown service_code 400", method: "GET", path: "requests.{fmt}?service_code=nope", status: 400, contains: []string{"service_code:"}},
		{name: "8 id list overrides filters", method: "GET", path: "requests.{fmt}?service_request_id=" + pub + "," + priv + "&status=closed&service_code=noise", status: 200,
			contains: []string{pub}, notContains: []string{priv}},
		{name: "8 empty parameter is absent", method: "GET", path: "requests.{fmt}?status=&service_code=&start_date=", status: 200, contains: []string{pub}},
		{name: "8 window over 90 days 400", method: "GET", path: "requests.{fmt}?start_date=" + day.AddDate(0, 0, -100).Format(time.RFC3339) + "&end_date=" + day.Format(time.RFC3339), status: 400, contains: []string{"end_date:", "90 days"}},
		{name: "8 window without zone 400", method: "GET", path: "requests.{fmt}?start_date=2026-01-01T10:00:00", status: 400, contains: []string{"start_date:"}},
		{name: "8 end before start 400", method: "GET", path: "requests.{fmt}?start_date=" + day.Format(time.RFC3339) + "&end_date=" + day.AddDate(0, 0, -1).Format(time.RFC3339), status: 400, contains: []string{"end_date:"}},
		{name: "8 old window is empty", method: "GET", path: "requests.{fmt}?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z", status: 200, notContains: []string{pub}},
		{name: "9 one request", method: "GET", path: "requests/" + pub + ".{fmt}", status: 200,
			contains:    []string{pub, "open", "Crew scheduled", "pothole", "Hole near the station", "Piazza De Ferrari", "44.4071", "8.9339", "https://media.example.net/hole.jpg", "expected_datetime"},
			xmlContains: []string{"<service_requests><request><service_request_id>" + pub + "</service_request_id><status>open</status>"}, notContains: personal},
		{name: "9 private service's request 404", method: "GET", path: "requests/" + priv + ".{fmt}", status: 404, notContains: personal},
		{name: "9 unknown request 404", method: "GET", path: "requests/1999-000001.{fmt}", status: 404, contains: []string{"service_request_id"}},
		{name: "7 token of a public request", method: "GET", path: "tokens/" + pubID + ".{fmt}", status: 200, contains: []string{pub, pubID}},
		{name: "7 token of a private request 404", method: "GET", path: "tokens/" + privID + ".{fmt}", status: 404, notContains: []string{priv}},
		{name: "7 unknown token 404", method: "GET", path: "tokens/zzz.{fmt}", status: 404, contains: []string{"token"}},
		{name: "10 wrong jurisdiction 404", method: "GET", path: "services.{fmt}?jurisdiction_id=sfgov.org", status: 404, contains: []string{"jurisdiction_id"}},
		{name: "10 right jurisdiction", method: "GET", path: "services.{fmt}?jurisdiction_id=genova.demo.civicdesk.example", status: 200, contains: []string{"pothole"}},
		{name: "10 unknown api_key on GET 403", method: "GET", path: "requests.{fmt}?api_key=nope-nope-nope-nope-nope-nope", status: 403, contains: []string{"api_key"}},
		{name: "10 unknown resource 404", method: "GET", path: "nothing.{fmt}", status: 404},
		{name: "10 unknown nested path 404", method: "GET", path: "requests/a/b.{fmt}", status: 404},
		{name: "10 method not allowed", method: "PUT", path: "services.{fmt}", status: 405},
		{name: "12 page and page_size", method: "GET", path: "requests.{fmt}?page=2&page_size=1", status: 200, notContains: []string{pub}},
		{name: "12 page_size over 500 400", method: "GET", path: "requests.{fmt}?page_size=501", status: 400, contains: []string{"page_size:"}},
		{name: "13 updated_after", method: "GET", path: "requests.{fmt}?updated_after=" + day.Add(-time.Hour).Format(time.RFC3339), status: 200, contains: []string{pub}},
		{name: "13 updated_before the past", method: "GET", path: "requests.{fmt}?updated_before=2020-01-01T00:00:00Z", status: 200, notContains: []string{pub}},
		{name: "14 extensions notes", method: "GET", path: "requests.{fmt}?extensions=true", status: 200,
			contains:    []string{"notes", "submitted", "Patched tomorrow", "Crew scheduled", "extended_attributes", "external_status_code", "in_progress", "fixmystreet_status", "size", "large"},
			notContains: personal},
		{name: "15 servicerequestupdates", method: "GET", path: "servicerequestupdates.{fmt}?start_date=" + day.Add(-time.Hour).Format(time.RFC3339) + "&end_date=" + day.Add(time.Hour).Format(time.RFC3339), status: 200,
			contains: []string{pub, "in_progress", "Patched tomorrow", "unchanged", "update_id"}, xmlContains: []string{"<service_request_updates><request_update>"}, notContains: personal},

		// POST requests
		{name: "5 create", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return potholeForm(k, "email", "new.person@example.net", "first_name", "Nina", "phone", "123")
		}, status: 200,
			contains: []string{"service_request_id", "service_notice"}, writes: true,
			after: func(t testing.TB, app *tests.TestApp, body string) {
				rec, err := app.FindFirstRecordByFilter("requests", "contact_email = 'new.person@example.net'")
				if err != nil {
					t.Fatal(err)
				}
				if rec.GetString("source") != "open311" || rec.GetString("contact_name") != "Nina" || rec.GetString("number") == "" || rec.GetString("due_at") == "" || rec.GetString("department") == "" {
					t.Errorf("stored: %v", rec.FieldsData())
				}
				if !strings.Contains(body, rec.GetString("number")) {
					t.Errorf("answer %s lacks number %s", body, rec.GetString("number"))
				}
				ev, err := app.FindFirstRecordByFilter("request_events", "request = {:r} && type = 'created'", map[string]any{"r": rec.Id})
				if err != nil || ev.GetString("author_type") != "open311" {
					t.Errorf("created event: %v %v", ev, err)
				}
				if n, _ := app.CountRecords("receipts", nil); n == 0 {
					t.Error("no received receipt")
				}
			}},
		{name: "5 non-geo service without location", method: "POST", path: "requests.{fmt}", status: 200, writes: true,
			body: func(k string) string {
				return form("api_key", k, "service_code", "enquiry", "attribute[topic]", "Opening hours", "attribute[question]", "When is the registry open?")
			}},
		{name: "5 address_string form", method: "POST", path: "requests.{fmt}", status: 200, writes: true,
			body: func(k string) string {
				return form("api_key", k, "service_code", "pothole", "address_string", "Via Roma 1", "attribute[size]", "small")
			}},
		{name: "5 address_id form", method: "POST", path: "requests.{fmt}", status: 200, writes: true,
			body: func(k string) string {
				return form("api_key", k, "service_code", "pothole", "address_id", "GE-12345", "attribute[size]", "small")
			}},
		{name: "5 multivaluelist attribute[code][]", method: "POST", path: "requests.{fmt}", status: 200, writes: true,
			body: func(k string) string {
				return form("api_key", k, "service_code", "waste_pickup", "lat", "44.41", "long", "8.93", "attribute[items][]", "furniture", "attribute[items][]", "mattress", "attribute[preferred_date]", "2026-12-20")
			},
			after: func(t testing.TB, app *tests.TestApp, body string) {
				rec, err := app.FindFirstRecordByFilter("requests", "source = 'open311' && service.code = 'waste_pickup'")
				if err != nil || !strings.Contains(rec.GetString("answers"), `"furniture","mattress"`) {
					t.Errorf("answers: %v %v", rec, err)
				}
			}},
		{name: "5 boolean as true/false", method: "POST", path: "requests.{fmt}", status: 200, writes: true,
			body: func(k string) string {
				return potholeForm(k, "attribute[danger]", "false", "attribute[depth_cm]", "12")
			}},
		{name: "5 no api_key 403", method: "POST", path: "requests.{fmt}", body: func(string) string { return potholeForm("") }, status: 403, contains: []string{"api_key"}},
		{name: "5 unknown api_key 403", method: "POST", path: "requests.{fmt}", body: func(string) string { return potholeForm("nope-nope-nope-nope-nope-nope") }, status: 403},
		{name: "5 api_key in the query", method: "POST", path: "requests.{fmt}?api_key=" + key, body: func(string) string {
			return form("service_code", "pothole", "lat", "44.4", "long", "8.9", "attribute[size]", "small")
		}, status: 200, writes: true},
		{name: "5 missing service_code 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return form("api_key", k, "lat", "44.4", "long", "8.9") }, status: 400, contains: []string{"service_code:"}},
		{name: "5 unknown service_code 404", method: "POST", path: "requests.{fmt}", body: func(k string) string { return form("api_key", k, "service_code", "nope", "lat", "44.4", "long", "8.9") }, status: 404, contains: []string{"service_code"}},
		{name: "5 no location 400", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return form("api_key", k, "service_code", "pothole", "attribute[size]", "small")
		}, status: 400, contains: []string{"lat:"}},
		{name: "5 two location forms 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "address_string", "Via Roma 1") }, status: 400, contains: []string{"lat:", "exactly one"}},
		{name: "5 lat without long 400", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return form("api_key", k, "service_code", "pothole", "lat", "44.4", "attribute[size]", "small")
		}, status: 400, contains: []string{"long:"}},
		{name: "5 lat out of range 400", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return form("api_key", k, "service_code", "pothole", "lat", "144.4", "long", "8.9", "attribute[size]", "small")
		}, status: 400, contains: []string{"lat:"}},
		{name: "5 location for a non-geo service 400", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return form("api_key", k, "service_code", "enquiry", "lat", "44.4", "long", "8.9", "attribute[topic]", "x", "attribute[question]", "y")
		}, status: 400, contains: []string{"lat:", "no location"}},
		{name: "5 missing required attribute names it 400", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return form("api_key", k, "service_code", "pothole", "lat", "44.4", "long", "8.9")
		}, status: 400, contains: []string{"attribute[size]:", "required"}},
		{name: "5 value not among the keys 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "attribute[danger]", "maybe") }, status: 400, contains: []string{"attribute[danger]:"}},
		{name: "5 attribute of another service 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "attribute[problem]", "off") }, status: 400, contains: []string{"attribute[problem]:", "no such question"}},
		{name: "5 attribute and attribute[] both 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "attribute[depth_cm]", "1", "attribute[depth_cm][]", "2") }, status: 400, contains: []string{"attribute[depth_cm]:"}},
		{name: "5 description over 4,000 400", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return potholeForm(k)[0:0] + form("api_key", k, "service_code", "pothole", "lat", "44.4", "long", "8.9", "attribute[size]", "small", "description", long(4001))
		}, status: 400, contains: []string{"description:"}},
		{name: "5 description of 4,000 is fine", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return form("api_key", k, "service_code", "pothole", "lat", "44.4", "long", "8.9", "attribute[size]", "small", "description", long(4000))
		}, status: 200, writes: true},
		{name: "5 HTML in description 400", method: "POST", path: "requests.{fmt}", body: func(k string) string {
			return form("api_key", k, "service_code", "pothole", "lat", "44.4", "long", "8.9", "attribute[size]", "small", "description", "<script>alert(1)</script>")
		}, status: 400, contains: []string{"description:"}},
		{name: "5 bad email 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "email", "not-an-address") }, status: 400, contains: []string{"email:"}},
		{name: "16 media_url must be a URL 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "media_url", "javascript:alert(1)") }, status: 400, contains: []string{"media_url:"}},
		{name: "5 malformed body 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return "api_key=" + k + "&service_code=%zz" }, status: 400, contains: []string{"body:"}},
		{name: "5 body over its limit 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "device_id", long(70<<10)) }, status: 400, contains: []string{"body:"}},
		{name: "5 same parameter twice 400", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "service_code", "noise") }, status: 400, contains: []string{"service_code:"}},
		{name: "5 multipart refused 400", method: "POST", path: "requests.{fmt}", contentType: "multipart/form-data; boundary=x", body: func(k string) string { return "--x--" }, status: 400, contains: []string{"Content-Type:"}},
		{name: "5 wrong jurisdiction in the body 404", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k, "jurisdiction_id", "sfgov.org") }, status: 404, contains: []string{"jurisdiction_id"}},
		{name: "5 inactive service 400 (workflow's message)", method: "POST", path: "requests.{fmt}", body: func(k string) string { return potholeForm(k) }, status: 400, contains: []string{"service_code:", "does not accept requests"},
			before: func(t testing.TB, app *tests.TestApp) {
				s, _ := app.FindFirstRecordByData("services", "code", "pothole")
				s.Set("active", false)
				if err := app.Save(s); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "5 GET-only resource refuses POST 405", method: "POST", path: "services.{fmt}", body: func(k string) string { return "api_key=" + k }, status: 405},
	}

	factory := snapshotApp
	for _, it := range items {
		for _, f := range []string{"xml", "json"} {
			it, f := it, f
			var before int64
			s := tests.ApiScenario{
				Name:           it.name + " (" + f + ")",
				Method:         it.method,
				URL:            "/open311/v2/" + strings.ReplaceAll(it.path, "{fmt}", f),
				ExpectedStatus: it.status,
				// the answer always opens with the declaration or the JSON root; the checks are in AfterTestFunc
				ExpectedContent: []string{map[string]string{"xml": `<?xml version="1.0" encoding="UTF-8"?>`, "json": ""}[f]},
				TestAppFactory:  factory,
				BeforeTestFunc: func(t testing.TB, app *tests.TestApp, e *core.ServeEvent) {
					if it.before != nil {
						it.before(t, app)
					}
					before = count(t, app, "requests")
				},
				AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
					raw, _ := io.ReadAll(res.Body)
					body := string(raw)
					wantType := map[string]string{"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}[f]
					if got := res.Header.Get("Content-Type"); got != wantType {
						t.Errorf("Content-Type %q, want %q", got, wantType)
					}
					if f == "xml" {
						if !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`) {
							t.Errorf("no UTF-8 declaration: %.80s", body)
						}
						if err := wellFormed(body); err != nil {
							t.Errorf("XML not well-formed: %v\n%s", err, body)
						}
					}
					if res.StatusCode >= 400 {
						errs := resp{Status: res.StatusCode, Body: body}.errorsOf(t)
						if len(errs) == 0 {
							t.Errorf("error without errors/error entries: %s", body)
						}
					}
					for _, c := range it.contains {
						if !strings.Contains(body, c) {
							t.Errorf("missing %q in %s", c, body)
						}
					}
					if f == "xml" {
						for _, c := range it.xmlContains {
							if !strings.Contains(body, c) {
								t.Errorf("missing %q in %s", c, body)
							}
						}
					}
					for _, c := range it.notContains {
						if strings.Contains(body, c) {
							t.Errorf("must not contain %q: %s", c, body)
						}
					}
					if after := count(t, app, "requests"); !it.writes && after != before {
						t.Errorf("a refused or read-only call wrote %d requests", after-before)
					} else if it.writes && after != before+1 {
						t.Errorf("want one new request, got %d", after-before)
					}
					if it.after != nil {
						it.after(t, app, body)
					}
				},
			}
			if it.body != nil {
				s.Body = strings.NewReader(it.body(key))
				ct := it.contentType
				if ct == "" {
					ct = "application/x-www-form-urlencoded"
				}
				s.Headers = map[string]string{"Content-Type": ct}
			}
			s.Test(t)
		}
	}
}

// wellFormed parses the whole document.
func wellFormed(doc string) error {
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
