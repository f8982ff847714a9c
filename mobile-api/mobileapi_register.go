// Package mobileapi is the citizen app's API: offline sync, uploads, catalogue (CONTRACT §4).
package mobileapi

import "github.com/pocketbase/pocketbase/core"

// Register mounts the mobile API routes.
func Register(app core.App) {
	// filled in by the sync issue (#3)
}
