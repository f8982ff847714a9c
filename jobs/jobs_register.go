// Package jobs runs civicdesk's scheduled work in the city's time zone.
package jobs

import "github.com/pocketbase/pocketbase/core"

// Register starts the scheduler on serve and stops it on terminate.
func Register(app core.App) {
	// filled in by the push/jobs issue (#5)
}
