// Package rooms is the one list of civicdesk's packages ("rooms") and the order
// in which they register on the app. main.go and the test kit both call Register,
// so a test app has exactly the hooks, routes and jobs the binary has.
package rooms

import (
	"civicdesk/changelog"
	"civicdesk/cityweb"
	"civicdesk/console"
	"civicdesk/consultations"
	"civicdesk/demo"
	"civicdesk/doctor"
	"civicdesk/hooks"
	"civicdesk/jobs"
	mobileapi "civicdesk/mobile-api"
	"civicdesk/monitoring"
	"civicdesk/open311"
	"civicdesk/payments"
	pbpublic "civicdesk/pb_public"
	"civicdesk/push"
	"civicdesk/rawinsert"
	"civicdesk/receipts"
	"civicdesk/recovery"
	"civicdesk/websec"

	_ "civicdesk/migrations" // the collections every room relies on

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// Register registers every room on app; commands attach to rootCmd (tests pass
// an empty command). The static apps come last so API routes win.
func Register(app core.App, rootCmd *cobra.Command) {
	rawinsert.Register(app) // first: the root app for the after-commit hooks of raw rows
	changelog.Register(app)
	hooks.Register(app)
	recovery.Register(app)
	receipts.Register(app, rootCmd)
	push.Register(app)
	mobileapi.Register(app)
	payments.Register(app, rootCmd)
	consultations.Register(app)
	jobs.Register(app)
	console.Register(app)
	demo.Register(app, rootCmd)
	open311.Register(app)
	websec.Register(app, rootCmd)
	monitoring.Register(app)
	doctor.Register(app, rootCmd)
	cityweb.Register(app)
	pbpublic.Register(app)
}
