// Package rooms is the one list of civicdesk's packages ("rooms") and the order
// in which they register on the app. main.go and the test kit both call Register,
// so a test app has exactly the hooks, routes and jobs the binary has.
package rooms

import (
	"civicdesk/changelog"
	"civicdesk/cityweb"
	"civicdesk/demo"
	"civicdesk/hooks"
	"civicdesk/jobs"
	mobileapi "civicdesk/mobile-api"
	pbpublic "civicdesk/pb_public"
	"civicdesk/push"
	"civicdesk/receipts"

	_ "civicdesk/migrations" // the collections every room relies on

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// Register registers every room on app; commands attach to rootCmd (tests pass
// an empty command). The static apps come last so API routes win.
func Register(app core.App, rootCmd *cobra.Command) {
	changelog.Register(app)
	hooks.Register(app)
	receipts.Register(app, rootCmd)
	push.Register(app)
	mobileapi.Register(app)
	jobs.Register(app)
	demo.Register(app, rootCmd)
	cityweb.Register(app)
	pbpublic.Register(app)
}
