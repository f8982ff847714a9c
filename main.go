// Command civicdesk is a city's service-request backend: PocketBase with the
// civicdesk collections, workflow, offline sync, receipts, push and web apps.
package main

import (
	"fmt"
	"log"
	"os"

	"civicdesk/city"
	"civicdesk/rooms"
	"civicdesk/sqlitedb"

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
	rooms.Register(app, app.RootCmd)

	if err := app.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "civicdesk:", err)
		os.Exit(1)
	}
}
