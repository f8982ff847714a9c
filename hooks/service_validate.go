package hooks

import (
	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// onServiceValidate refuses a malformed form schema on any write of a service
// (dashboard included), so requests are never validated against a broken form.
func onServiceValidate(e *core.RecordEvent) error {
	if _, err := workflow.ParseForm([]byte(e.Record.GetString("fields"))); err != nil {
		return validation.Errors{"fields": validation.NewError("validation_invalid_form_schema", err.Error())}
	}
	if e.Record.GetInt("fee") > 0 && e.Record.GetString("currency") == "" {
		return validation.Errors{"currency": validation.NewError("validation_required", "A fee needs an ISO 4217 currency.")}
	}
	return e.Next()
}
