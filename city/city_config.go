// Package city holds the settings that make one deployment a particular city:
// its name, time zone, languages, receipt issuer code and operational knobs.
//
// Zero configuration works: Default returns a demo city (Genoa), and every
// value can be overridden with a CIVICDESK_* environment variable.
package city

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Languages are the languages every user-facing string must exist in (the floor, not the ceiling).
var Languages = []string{"it", "en", "sv", "et", "hu"}

// Config describes the city a civicdesk binary serves.
type Config struct {
	// Name is the city's display name.
	Name string
	// ShortName is the name under an installed app's icon (≤ 12 characters reads best).
	ShortName string
	// ArmsFile is the path of the city's arms (SVG or PNG) shown by the apps;
	// empty: the embedded demo arms (city_arms.go).
	ArmsFile string
	// MapFile is the path of the city's map as GeoJSON (outline and named
	// streets, docs/pwa.md "Map file"); empty: the embedded demo map.
	MapFile string
	// MapTiles is an optional raster tile URL template ({z}/{x}/{y}); empty:
	// the app draws only the map file (no tile server needed).
	MapTiles string
	// MapAttribution is shown with the tiles when MapTiles is set.
	MapAttribution string
	// IssuerCode is the receipt issuer (`iss`), e.g. "IT-GE".
	IssuerCode string
	// TimeZone is the city's IANA time zone name; Location is its loaded form.
	TimeZone string
	Location *time.Location
	// Languages lists the languages offered, DefaultLang first fallback.
	Languages   []string
	DefaultLang string
	// PublicURL is the externally visible base URL (used in push payloads and receipts links).
	PublicURL string
	// PushAllowHosts are extra push-service hosts (host or host:port); plain http is allowed only for these.
	PushAllowHosts []string
	// PushSubject is the VAPID contact (an email address without "mailto:" or an https URL).
	PushSubject string
	// PushGeneric sends a generic text only ("Your request was updated") instead of status details.
	PushGeneric bool
	// TombstoneDays is how long deletions stay in the change sequence for sync clients.
	TombstoneDays int
	// RetentionYears is how long closed requests keep personal data before anonymisation.
	RetentionYears int
	// Jurisdiction is the city's Open311 jurisdiction_id (the spec suggests its root domain).
	Jurisdiction string
	// CORSOrigins are origins besides PublicURL's whose browsers may call the API
	// (e.g. the city's website embedding a status widget); see docs/security.md.
	CORSOrigins []string
	// Payments is the cashless-fee configuration (rails per currency), see city_payments.go.
	Payments PaymentConfig
}

// Default returns the embedded demo city.
func Default() Config {
	loc, _ := time.LoadLocation("Europe/Rome")
	if loc == nil {
		loc = time.UTC
	}
	return Config{
		Name:           "Comune di Genova (demo)",
		ShortName:      "Genova",
		IssuerCode:     "IT-GE",
		TimeZone:       "Europe/Rome",
		Location:       loc,
		Languages:      slices.Clone(Languages),
		DefaultLang:    "it",
		PublicURL:      "http://127.0.0.1:8090",
		PushSubject:    "ops@civicdesk.example",
		TombstoneDays:  90,
		RetentionYears: 5,
		Jurisdiction:   "genova.demo.civicdesk.example",
		Payments:       PaymentProfiles["it"],
	}
}

// FromEnv returns Default overridden by the CIVICDESK_* environment variables.
func FromEnv() (Config, error) {
	return FromLookup(os.LookupEnv)
}

// FromLookup is FromEnv with an injectable variable lookup (for tests).
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			*dst = strings.TrimSpace(v)
		}
	}
	list := func(name string, dst *[]string) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			var out []string
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			*dst = out
		}
	}
	num := func(name string, dst *int) error {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return fmt.Errorf("%s: want a non-negative integer, got %q", name, v)
			}
			*dst = n
		}
		return nil
	}

	str("CIVICDESK_CITY_NAME", &c.Name)
	str("CIVICDESK_CITY_SHORT_NAME", &c.ShortName)
	str("CIVICDESK_CITY_ARMS", &c.ArmsFile)
	str("CIVICDESK_CITY_MAP", &c.MapFile)
	str("CIVICDESK_MAP_TILES", &c.MapTiles)
	str("CIVICDESK_MAP_ATTRIBUTION", &c.MapAttribution)
	str("CIVICDESK_ISSUER", &c.IssuerCode)
	str("CIVICDESK_TIMEZONE", &c.TimeZone)
	list("CIVICDESK_LANGUAGES", &c.Languages)
	str("CIVICDESK_DEFAULT_LANG", &c.DefaultLang)
	str("CIVICDESK_PUBLIC_URL", &c.PublicURL)
	list("CIVICDESK_PUSH_ALLOW_HOSTS", &c.PushAllowHosts)
	str("CIVICDESK_PUSH_SUBJECT", &c.PushSubject)
	str("CIVICDESK_JURISDICTION", &c.Jurisdiction)
	list("CIVICDESK_CORS_ORIGINS", &c.CORSOrigins)
	if v, ok := lookup("CIVICDESK_PUSH_GENERIC"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return c, fmt.Errorf("CIVICDESK_PUSH_GENERIC: want true or false, got %q", v)
		}
		c.PushGeneric = b
	}
	if err := num("CIVICDESK_TOMBSTONE_DAYS", &c.TombstoneDays); err != nil {
		return c, err
	}
	if err := num("CIVICDESK_RETENTION_YEARS", &c.RetentionYears); err != nil {
		return c, err
	}

	pay, err := paymentsFromLookup(lookup)
	if err != nil {
		return c, err
	}
	c.Payments = pay

	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return c, fmt.Errorf("CIVICDESK_TIMEZONE %q: %w", c.TimeZone, err)
	}
	c.Location = loc
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if !slices.Contains(c.Languages, c.DefaultLang) {
		return c, fmt.Errorf("CIVICDESK_DEFAULT_LANG %q is not among CIVICDESK_LANGUAGES %v", c.DefaultLang, c.Languages)
	}
	if c.TombstoneDays == 0 {
		return c, fmt.Errorf("CIVICDESK_TOMBSTONE_DAYS must be at least 1")
	}
	return c, nil
}

// MatchLang returns the best supported language for an Accept-Language style
// list or a single tag, falling back to DefaultLang.
func (c Config) MatchLang(tags ...string) string {
	for _, raw := range tags {
		for _, part := range strings.Split(raw, ",") {
			tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
			if tag == "" {
				continue
			}
			base := strings.SplitN(tag, "-", 2)[0]
			if slices.Contains(c.Languages, base) {
				return base
			}
		}
	}
	return c.DefaultLang
}

const storeKey = "civicdesk.city"

// Set makes cfg the city configuration of app (Register and tests call it).
func Set(app core.App, cfg Config) {
	app.Store().Set(storeKey, cfg)
}

// Of returns the city configuration of app, or Default when none was set.
func Of(app core.App) Config {
	if v, ok := app.Store().GetOk(storeKey); ok {
		if c, ok := v.(Config); ok {
			return c
		}
	}
	return Default()
}
