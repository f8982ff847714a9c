package migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Public requests near a point and following them (issue 13, docs/pwa.md):
//   - requests.geo_lat / geo_lon: the location as plain numbers (hidden; set by
//     hooks/ from `location` on every write) so a bounding box of one service
//     is an index range (idx_requests_geo);
//   - follows: a citizen follows someone else's public request and gets its
//     public status changes pushed.
func init() {
	m.Register(func(app core.App) error {
		req, err := app.FindCollectionByNameOrId("requests")
		if err != nil {
			return fmt.Errorf("requests: %w", err)
		}
		req.Fields.Add(
			&core.NumberField{Name: "geo_lat", Hidden: true},
			&core.NumberField{Name: "geo_lon", Hidden: true},
		)
		req.AddIndex("idx_requests_geo", false, "`service`, `geo_lat`, `geo_lon`", "")
		if err := app.Save(req); err != nil {
			return fmt.Errorf("requests geo fields: %w", err)
		}
		if _, err := app.DB().NewQuery("UPDATE {{requests}} SET [[geo_lat]] = json_extract([[location]], '$.lat'), [[geo_lon]] = json_extract([[location]], '$.lon') WHERE json_valid([[location]])").Execute(); err != nil {
			return fmt.Errorf("backfill geo fields: %w", err)
		}

		c := core.NewBaseCollection("follows")
		own := ruleCitizen + " && citizen = @request.auth.id"
		c.ListRule = types.Pointer(own)
		c.ViewRule = types.Pointer(own)
		c.CreateRule = types.Pointer(ruleCitizen + " && @request.body.citizen = @request.auth.id") // which requests: hooks/
		c.DeleteRule = types.Pointer(own)
		c.Fields.Add(
			&core.RelationField{Name: "citizen", Required: true, CollectionId: mustCollection(app, "citizens").Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "request", Required: true, CollectionId: req.Id, MaxSelect: 1, CascadeDelete: true},
		)
		autodates(c)
		c.AddIndex("idx_follows_citizen_request", true, "`citizen`, `request`", "")
		c.AddIndex("idx_follows_request", false, "`request`", "")
		if err := app.Save(c); err != nil {
			return fmt.Errorf("create follows: %w", err)
		}
		return nil
	}, func(app core.App) error {
		if c, err := app.FindCollectionByNameOrId("follows"); err == nil {
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		c, err := app.FindCollectionByNameOrId("requests")
		if err != nil {
			return nil
		}
		c.Fields.RemoveByName("geo_lat")
		c.Fields.RemoveByName("geo_lon")
		c.RemoveIndex("idx_requests_geo")
		return app.Save(c)
	})
}
