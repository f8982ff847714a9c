package demo_test

import (
	"testing"

	"civicdesk/city"
	"civicdesk/demo"
	"civicdesk/workflow"

	_ "civicdesk/migrations"

	"github.com/pocketbase/pocketbase/tests"
)

// TestSeedIsIdempotentAndComplete: a second run changes nothing, and the
// catalogue is a real one: ≥ 8 active services with valid forms in every language.
func TestSeedIsIdempotentAndComplete(t *testing.T) {
	t.Parallel()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	city.Set(app, city.Default())
	demo.SkipWeeks(app) // no workflow hooks here: demo_weeks_test.go seeds the history on a full app

	first, err := demo.Seed(app)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, c := range []string{"departments", "services", "staff", "citizens"} {
		counts[c], _ = app.CountRecords(c)
	}
	second, err := demo.Seed(app)
	if err != nil {
		t.Fatal(err)
	}
	for c, n := range counts {
		if again, _ := app.CountRecords(c); again != n {
			t.Errorf("%s: %d after the first seed, %d after the second", c, n, again)
		}
	}
	if len(first) != len(second) || len(first) < 7 {
		t.Fatalf("accounts: %d then %d", len(first), len(second))
	}
	for i := range first {
		if first[i].ID != second[i].ID {
			t.Errorf("account %s got a new id", first[i].Email)
		}
	}

	services, err := app.FindAllRecords("services")
	if err != nil {
		t.Fatal(err)
	}
	if len(services) < 8 {
		t.Fatalf("%d services, want at least 8", len(services))
	}
	kinds := map[string]bool{}
	for _, s := range services {
		kinds[s.GetString("location")] = true
		if !s.GetBool("active") || s.GetString("department") == "" || s.GetInt("sla_hours") <= 0 {
			t.Errorf("%s: active=%v department=%q sla=%d", s.GetString("code"), s.GetBool("active"), s.GetString("department"), s.GetInt("sla_hours"))
		}
		fields, err := workflow.ParseForm([]byte(s.GetString("fields")))
		if err != nil || len(fields) == 0 {
			t.Errorf("%s: form %v (%v)", s.GetString("code"), fields, err)
		}
		var i18n map[string]map[string]string
		if err := s.UnmarshalJSONField("i18n", &i18n); err != nil {
			t.Fatal(err)
		}
		for _, lang := range city.Languages {
			if i18n[lang]["name"] == "" || i18n[lang]["description"] == "" {
				t.Errorf("%s: no %s name/description", s.GetString("code"), lang)
			}
			for _, f := range fields {
				if f.Label[lang] == "" {
					t.Errorf("%s.%s: no %s label", s.GetString("code"), f.Code, lang)
				}
				for _, v := range f.Values {
					if v.Name[lang] == "" {
						t.Errorf("%s.%s=%s: no %s name", s.GetString("code"), f.Code, v.Key, lang)
					}
				}
			}
		}
	}
	if !kinds["none"] || !kinds["required"] {
		t.Errorf("want geo and non-geo services, got location kinds %v", kinds)
	}
}
