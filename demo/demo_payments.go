package demo

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// seedPayments sets the demo's fee policies (payments room): the parking
// permit's fee is due on filing, payable within 30 days, and an unpaid permit
// stays open for a clerk; the residence certificate's fee is also due on filing.
func seedPayments(app core.App) error {
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
		if err := app.Save(svc); err != nil {
			return fmt.Errorf("demo payments: service %s: %w", code, err)
		}
	}
	return nil
}
