// Package push sends web push notifications through a persistent outbox (CONTRACT §5).
package push

import "github.com/pocketbase/pocketbase/core"

// Register mounts the push routes and queues notifications on workflow events.
func Register(app core.App) {
	// filled in by the push issue (#5)
}
