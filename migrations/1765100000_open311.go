package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Open311 (docs/open311.md): per-key scope, rate limit and citizen linking on
// api_clients; the POST fields of GeoReport v2 on requests (the personal ones
// hidden, like the contact fields); and open311_updates, the idempotency log of
// FixMyStreet's servicerequestupdates POSTs, unique per (api client, update_id).
func init() {
	m.Register(func(app core.App) error {
		clients := mustCollection(app, "api_clients")
		clients.Fields.Add(
			// read: GET only; write: may POST requests and updates (empty = read)
			&core.SelectField{Name: "scope", MaxSelect: 1, Values: []string{"read", "write"}},
			// requests per minute for this key; 0 = the default (docs/open311.md)
			&core.NumberField{Name: "rate_limit", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(100000.0)},
			// a POST whose email is a verified citizen's files the request for that citizen
			&core.BoolField{Name: "link_citizens"},
		)
		if err := app.Save(clients); err != nil {
			return fmt.Errorf("api_clients open311 fields: %w", err)
		}

		requests := mustCollection(app, "requests")
		requests.Fields.Add(
			&core.URLField{Name: "media_url"},
			&core.TextField{Name: "address_id", Max: 100},
			&core.TextField{Name: "device_id", Max: 200, Hidden: true},
			&core.TextField{Name: "account_id", Max: 200, Hidden: true},
			&core.RelationField{Name: "api_client", CollectionId: clients.Id, MaxSelect: 1, Hidden: true},
		)
		// GET requests.{fmt}: newest first within a date window, and updated_after
		requests.AddIndex("idx_requests_created", false, "`created`, `id`", "")
		if err := app.Save(requests); err != nil {
			return fmt.Errorf("requests open311 fields: %w", err)
		}

		c := core.NewBaseCollection("open311_updates") // superusers only: all rules nil
		c.Fields.Add(
			&core.RelationField{Name: "api_client", Required: true, CollectionId: clients.Id, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "update_id", Required: true, Max: 100},
			&core.RelationField{Name: "request", Required: true, CollectionId: requests.Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "event", CollectionId: mustCollection(app, "request_events").Id, MaxSelect: 1},
			&core.TextField{Name: "status", Max: 64},
		)
		autodates(c)
		c.AddIndex("idx_open311_updates_key", true, "`api_client`, `update_id`", "")
		if err := app.Save(c); err != nil {
			return fmt.Errorf("create open311_updates: %w", err)
		}
		return nil
	}, func(app core.App) error {
		if c, err := app.FindCollectionByNameOrId("open311_updates"); err == nil {
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		requests := mustCollection(app, "requests")
		for _, f := range []string{"media_url", "address_id", "device_id", "account_id", "api_client"} {
			requests.Fields.RemoveByName(f)
		}
		requests.RemoveIndex("idx_requests_created")
		if err := app.Save(requests); err != nil {
			return err
		}
		clients := mustCollection(app, "api_clients")
		for _, f := range []string{"scope", "rate_limit", "link_citizens"} {
			clients.Fields.RemoveByName(f)
		}
		return app.Save(clients)
	})
}
