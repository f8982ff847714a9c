// Package receipts issues and verifies signed QR receipts (CONTRACT §6).
package receipts

import "github.com/pocketbase/pocketbase/core"

// Register binds receipt issuing to the workflow events and mounts the receipt routes.
func Register(app core.App) {
	// filled in by the receipts issue (#4)
}
