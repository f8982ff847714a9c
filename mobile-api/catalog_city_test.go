package mobileapi_test

import (
	"net/http"
	"testing"

	"civicdesk/city"
	"civicdesk/testkit"
)

// The catalogue names the city (the app's header) and carries each service's
// "not fixed" window; a tile URL only when the city set one.
func TestCatalogCityAndReopen(t *testing.T) {
	cfg := city.Default()
	cfg.Name, cfg.MapTiles = "Comune di Prova", "https://tiles.city.example/{z}/{x}/{y}.png"
	w := testkit.NewApp(t, testkit.WithCity(cfg))
	r := w.Do(t, http.MethodGet, "/api/mobile/catalog?lang=en", "", "")
	var body struct {
		City struct {
			Name, Arms, Map, Tiles string
		} `json:"city"`
		Services []struct {
			Code       string `json:"code"`
			ReopenDays int    `json:"reopenDays"`
			ReopenMode string `json:"reopenMode"`
		} `json:"services"`
	}
	r.JSON(t, &body)
	if body.City.Name != "Comune di Prova" || body.City.Arms != "/city/arms" || body.City.Map != "/city/map.geojson" || body.City.Tiles != cfg.MapTiles {
		t.Fatalf("city %+v", body.City)
	}
	got := map[string]string{}
	for _, s := range body.Services {
		got[s.Code] = s.ReopenMode
		if s.Code == "pothole" && s.ReopenDays != 14 {
			t.Errorf("pothole reopenDays %d", s.ReopenDays)
		}
	}
	if got["pothole"] != "reopen" || got["streetlight"] != "clerk" || got["residence_certificate"] != "reopen" {
		t.Errorf("reopen modes %v", got)
	}
}
