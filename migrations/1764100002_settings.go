package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

func init() {
	m.Register(func(app core.App) error {
		s := app.Settings()
		s.Meta.AppName = "civicdesk"
		// PocketBase's default rules (auth 2/3s, create 20/5s, 300/10s per IP) guard sign-up and login storms
		s.RateLimits.Enabled = true
		// request logs are useful for a week and cost throughput: keep them bounded
		s.Logs.MaxDays = 7
		s.Logs.LogIP = true
		// a daily local backup at 03:00 (server time), seven kept; docs/operations.md covers off-site copies
		s.Backups.Cron = "0 3 * * *"
		s.Backups.CronMaxKeep = 7
		return app.Save(s)
	}, nil)
}
