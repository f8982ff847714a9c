package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// syncTablesSQL are the offline-sync bookkeeping tables of mobile-api (plain
// tables, not collections: nobody edits them by hand and no API exposes them).
var syncTablesSQL = []string{
	// one row per app installation; bound to the first citizen that pushes or pulls with it
	`CREATE TABLE IF NOT EXISTS [[sync_clients]] (
		[[client_id]]        TEXT PRIMARY KEY NOT NULL,
		[[citizen]]          TEXT NOT NULL,
		[[last_mutation_id]] INTEGER NOT NULL DEFAULT 0,
		[[created]]          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ', 'now')),
		[[updated]]          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ', 'now'))
	)`,
	"CREATE INDEX IF NOT EXISTS [[idx_sync_clients_citizen]] ON [[sync_clients]] ([[citizen]])",
	// the stored outcome of every applied or rejected mutation, returned for duplicates
	`CREATE TABLE IF NOT EXISTS [[sync_results]] (
		[[client_id]]     TEXT NOT NULL,
		[[mutation_id]]   INTEGER NOT NULL,
		[[name]]          TEXT NOT NULL,
		[[status]]        TEXT NOT NULL,
		[[error_code]]    TEXT NOT NULL DEFAULT '',
		[[error_message]] TEXT NOT NULL DEFAULT '',
		[[error_field]]   TEXT NOT NULL DEFAULT '',
		[[client_time]]   TEXT NOT NULL DEFAULT '',
		[[created]]       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ', 'now')),
		PRIMARY KEY ([[client_id]], [[mutation_id]])
	) WITHOUT ROWID`,
	// resumable photo uploads (tus) keyed by the client's attachmentId
	`CREATE TABLE IF NOT EXISTS [[sync_uploads]] (
		[[attachment_id]] TEXT PRIMARY KEY NOT NULL,
		[[citizen]]       TEXT NOT NULL,
		[[request_id]]    TEXT NOT NULL DEFAULT '',
		[[size]]          INTEGER NOT NULL,
		[[sha256]]        TEXT NOT NULL,
		[[filetype]]      TEXT NOT NULL DEFAULT '',
		[[status]]        TEXT NOT NULL,
		[[processed]]     TEXT NOT NULL DEFAULT '',
		[[filename]]      TEXT NOT NULL DEFAULT '',
		[[error_code]]    TEXT NOT NULL DEFAULT '',
		[[error_message]] TEXT NOT NULL DEFAULT '',
		[[created]]       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ', 'now')),
		[[updated]]       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ', 'now'))
	)`,
	"CREATE INDEX IF NOT EXISTS [[idx_sync_uploads_citizen_request]] ON [[sync_uploads]] ([[citizen]], [[request_id]])",
	"CREATE INDEX IF NOT EXISTS [[idx_sync_uploads_status_updated]] ON [[sync_uploads]] ([[status]], [[updated]])",
}

// mobileRateLimit is the per-IP rule for the mobile API. It must come before
// PocketBase's "/api/" rule: prefix rules match in list order. Phones behind
// carrier NAT share addresses, so the per-IP ceiling is high; mobile-api adds
// its own per-citizen limit (docs/sync-protocol.md "Rate limits").
const mobileRateLimitLabel = "/api/mobile/"

func init() {
	m.Register(func(app core.App) error {
		for _, stmt := range syncTablesSQL {
			if _, err := app.DB().NewQuery(stmt).Execute(); err != nil {
				return err
			}
		}
		s := app.Settings()
		for _, r := range s.RateLimits.Rules {
			if r.Label == mobileRateLimitLabel {
				return nil
			}
		}
		s.RateLimits.Rules = append([]core.RateLimitRule{{Label: mobileRateLimitLabel, MaxRequests: 5000, Duration: 10}}, s.RateLimits.Rules...)
		return app.Save(s)
	}, func(app core.App) error {
		for _, name := range []string{"sync_uploads", "sync_results", "sync_clients"} {
			if _, err := app.DB().NewQuery("DROP TABLE IF EXISTS [[" + name + "]]").Execute(); err != nil {
				return err
			}
		}
		s := app.Settings()
		rules := s.RateLimits.Rules[:0]
		for _, r := range s.RateLimits.Rules {
			if r.Label != mobileRateLimitLabel {
				rules = append(rules, r)
			}
		}
		s.RateLimits.Rules = rules
		return app.Save(s)
	})
}
