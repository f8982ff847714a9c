package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// PocketBase's default per-address sign-in rule (2 per 3 s) turns away a city
// hall whose 40 clerks share one address at 09:00. websec limits sign-in per
// address and per account with its own figures (docs/security.md); this rule
// stays as a coarse backstop for the other auth routes (OAuth2).
const (
	authRateLimitLabel = "*:auth"
	authRateLimitMax   = 300
	authRateLimitSecs  = 60
	staffPasswordMin   = 12
)

func init() {
	m.Register(func(app core.App) error {
		s := app.Settings()
		found := false
		for i, r := range s.RateLimits.Rules {
			if r.Label == authRateLimitLabel {
				s.RateLimits.Rules[i].MaxRequests, s.RateLimits.Rules[i].Duration = authRateLimitMax, authRateLimitSecs
				found = true
			}
		}
		if !found {
			s.RateLimits.Rules = append([]core.RateLimitRule{{Label: authRateLimitLabel, MaxRequests: authRateLimitMax, Duration: authRateLimitSecs}}, s.RateLimits.Rules...)
		}
		if err := app.Save(s); err != nil {
			return err
		}
		// staff passwords: at least 12 characters, shown in the dashboard too
		staff, err := app.FindCollectionByNameOrId("staff")
		if err != nil {
			return err
		}
		if f, ok := staff.Fields.GetByName("password").(*core.PasswordField); ok && f.Min < staffPasswordMin {
			f.Min = staffPasswordMin
			return app.Save(staff)
		}
		return nil
	}, func(app core.App) error {
		s := app.Settings()
		for i, r := range s.RateLimits.Rules {
			if r.Label == authRateLimitLabel {
				s.RateLimits.Rules[i].MaxRequests, s.RateLimits.Rules[i].Duration = 2, 3
			}
		}
		return app.Save(s)
	})
}
