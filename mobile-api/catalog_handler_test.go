package mobileapi_test

import (
	"net/http"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func TestCatalogETag(t *testing.T) {
	w := testkit.NewApp(t)
	base := serve(t, w)
	get := func(query string, headers map[string]string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/mobile/catalog"+query, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	hu := get("?lang=hu", nil)
	etag := hu.Header.Get("ETag")
	hu.Body.Close()
	if hu.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("catalog: %d etag %q", hu.StatusCode, etag)
	}
	if r := get("?lang=hu", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: want 304, got %d", r.StatusCode)
	}
	if r := get("", map[string]string{"Accept-Language": "hu-HU,hu;q=0.9", "If-None-Match": etag}); r.StatusCode != http.StatusNotModified {
		t.Fatalf("Accept-Language hu: want 304 for the same body, got %d", r.StatusCode)
	}
	if r := get("?lang=sv", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusOK || r.Header.Get("ETag") == etag {
		t.Fatalf("another language must have another ETag: %d", r.StatusCode)
	}

}

func TestCatalogRoutes(t *testing.T) {
	// a fresh city per scenario: PocketBase binds its router hooks to the app on every run
	factory := func(t testing.TB) *tests.TestApp { return testkit.NewApp(t).App }
	scenarios := []tests.ApiScenario{
		{
			Name: "localized by ?lang=", Method: http.MethodGet, URL: "/api/mobile/catalog?lang=hu",
			ExpectedStatus: 200,
			ExpectedContent: []string{`"lang":"hu"`, `"name":"Kátyú az úton"`, `"label":"Méret"`, `"name":"Kicsi (30 cm alatt)"`,
				`"code":"received","names":{`, `"hu":"Beérkezett"`, `"it":"Ricevuta"`, `"code":"residence_certificate"`, `"fee":52`},
			NotExpectedContent: []string{`"name":"Pothole"`},
			TestAppFactory:     factory,
		},
		{
			Name: "Accept-Language, unknown falls back", Method: http.MethodGet, URL: "/api/mobile/catalog",
			Headers:         map[string]string{"Accept-Language": "xx, en;q=0.8"},
			ExpectedStatus:  200,
			ExpectedContent: []string{`"lang":"en"`, `"name":"Pothole"`, `"departments":[`},
			TestAppFactory:  factory,
		},
		{
			Name: "inactive services are not listed", Method: http.MethodGet, URL: "/api/mobile/catalog?lang=en",
			BeforeTestFunc: func(t testing.TB, app *tests.TestApp, e *core.ServeEvent) {
				svc, _ := app.FindFirstRecordByData("services", "code", "noise")
				svc.Set("active", false)
				if err := app.Save(svc); err != nil {
					t.Fatal(err)
				}
			},
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"code":"pothole"`},
			NotExpectedContent: []string{`"code":"noise"`},
			TestAppFactory:     factory,
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}
