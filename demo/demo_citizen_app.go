package demo

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// demoReopen is each demo service's "not fixed" window and what it does
// (issue 13): potholes and graffiti reopen by themselves, a streetlight or a
// missed pickup goes to a clerk to decide.
var demoReopen = map[string]struct {
	Days int
	Mode string
}{
	"pothole":      {14, "reopen"},
	"graffiti":     {30, "reopen"},
	"streetlight":  {14, "clerk"},
	"waste_pickup": {7, "clerk"},
}

// seedCitizenApp sets the demo services' reopen policy.
func seedCitizenApp(app core.App) error {
	for code, p := range demoReopen {
		rec, err := app.FindFirstRecordByData("services", "code", code)
		if err != nil {
			continue // a city file without this service
		}
		rec.Set("reopen_days", p.Days)
		rec.Set("reopen_mode", p.Mode)
		if err := app.Save(rec); err != nil {
			return fmt.Errorf("service %s reopen policy: %w", code, err)
		}
	}
	return nil
}
