package demo

import (
	"fmt"
	"math"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
)

// demoRates turn the demo catalogue's euro fees into the currency of a city
// whose payment profile takes another (demo figures, not exchange rates).
var demoRates = map[string]float64{"EUR": 1, "SEK": 11, "HUF": 400, "GBP": 0.875}

// seedPayments sets the demo's fee policies (payments room): the parking
// permit's fee is due on filing, payable within 30 days, processing waits for
// it, and an unpaid permit stays open for a clerk; the residence certificate's
// fee is also due on filing. A city whose payment profile takes another
// currency than the catalogue's euros gets the fees in its own currency.
func seedPayments(app core.App) error {
	cfg := city.Of(app).Payments
	for code, fields := range map[string]map[string]any{
		"parking_permit":        {"fee_mode": "on_filing", "fee_due_days": 30, "fee_on_expiry": "keep_open", "fee_blocks": true},
		"residence_certificate": {"fee_mode": "on_filing", "fee_due_days": 30, "fee_on_expiry": "keep_open"},
	} {
		svc, err := app.FindFirstRecordByData("services", "code", code)
		if err != nil {
			return fmt.Errorf("demo payments: service %s: %w", code, err)
		}
		if _, ok := svc.Collection().Fields.GetByName("fee_mode").(*core.SelectField); !ok {
			return nil // the payments migration has not run
		}
		svc.Load(fields)
		if cur := svc.GetString("currency"); cur != "" {
			if _, err := cfg.RailFor(cur); err != nil {
				for to := range cfg.Rails {
					if rate, ok := demoRates[to]; ok && demoRates[cur] > 0 {
						minor := float64(svc.GetInt("fee")) * rate / demoRates[cur]
						if to == "HUF" {
							minor = math.Round(minor/100) * 100 // whole forints (the MNB QR takes no fillér)
						}
						svc.Set("fee", int(math.Max(100, math.Round(minor))))
						svc.Set("currency", to)
						break
					}
				}
			}
		}
		if err := app.Save(svc); err != nil {
			return fmt.Errorf("demo payments: service %s: %w", code, err)
		}
	}
	return nil
}
