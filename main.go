// Command civicdesk is a city's service-request backend: PocketBase with the
// civicdesk collections, workflow, offline sync, receipts, push and web apps.
package main

import (
	"fmt"
	"log"
	"os"

	"civicdesk/changelog"
	"civicdesk/city"
	"civicdesk/demo"
	"civicdesk/hooks"
	"civicdesk/jobs"
	mobileapi "civicdesk/mobile-api"
	pbpublic "civicdesk/pb_public"
	"civicdesk/push"
	"civicdesk/receipts"
	"civicdesk/sqlitedb"

	_ "civicdesk/migrations"

	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"
)

func main() {
	cfg, err := city.FromEnv()
	if err != nil {
		log.Fatalf("civicdesk: configuration: %v", err)
	}

	app := pocketbase.NewWithConfig(pocketbase.Config{
		DefaultDev: false, // explicit: never guess dev mode from the binary's path
		DBConnect:  sqlitedb.Connect,
	})
	city.Set(app, cfg)

	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{Automigrate: false})
	changelog.Register(app)
	hooks.Register(app)
	receipts.Register(app, app.RootCmd)
	push.Register(app)
	mobileapi.Register(app)
	jobs.Register(app)
	demo.Register(app, app.RootCmd)
	pbpublic.Register(app)

	if err := app.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "civicdesk:", err)
		os.Exit(1)
	}
}
