package migrations

import (
	"fmt"
	"slices"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The citizen's side of the conversation (issue 13, docs/workflow.md):
//   - services.reopen_days / reopen_mode: how long after resolution the citizen
//     may say "not fixed", and whether that reopens the request or asks a clerk;
//   - requests.not_fixed_at: a "not fixed" waiting for a clerk's decision;
//   - request_events types `edit` (the owner edited while received),
//     `not_fixed` (the owner's reason) and `rating` (the owner rated the outcome);
//   - request_ratings: the short questionnaire after resolution, one per
//     request, readable by its citizen and by supervisors (for the figures).
func init() {
	m.Register(func(app core.App) error {
		svc, err := app.FindCollectionByNameOrId("services")
		if err != nil {
			return fmt.Errorf("services: %w", err)
		}
		svc.Fields.Add(
			&core.NumberField{Name: "reopen_days", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(365.0)},
			&core.SelectField{Name: "reopen_mode", MaxSelect: 1, Values: []string{"reopen", "clerk"}},
		)
		if err := app.Save(svc); err != nil {
			return fmt.Errorf("services reopen fields: %w", err)
		}

		req, err := app.FindCollectionByNameOrId("requests")
		if err != nil {
			return fmt.Errorf("requests: %w", err)
		}
		req.Fields.Add(&core.DateField{Name: "not_fixed_at"})
		req.AddIndex("idx_requests_not_fixed", false, "`not_fixed_at`", "`not_fixed_at` != ''")
		if err := app.Save(req); err != nil {
			return fmt.Errorf("requests not_fixed_at: %w", err)
		}

		ev, err := app.FindCollectionByNameOrId("request_events")
		if err != nil {
			return fmt.Errorf("request_events: %w", err)
		}
		typ, ok := ev.Fields.GetByName("type").(*core.SelectField)
		if !ok {
			return fmt.Errorf("request_events.type is not a select field")
		}
		for _, v := range []string{"edit", "not_fixed", "rating"} {
			if !slices.Contains(typ.Values, v) {
				typ.Values = append(typ.Values, v)
			}
		}
		if err := app.Save(ev); err != nil {
			return fmt.Errorf("request_events types: %w", err)
		}

		c := core.NewBaseCollection("request_ratings")
		own := "(" + ruleCitizen + " && citizen = @request.auth.id)"
		c.ListRule = types.Pointer(own + " || " + ruleSupervisor)
		c.ViewRule = c.ListRule
		// written by sync's request.rate (and superusers); hooks/ validates every path
		c.Fields.Add(
			&core.RelationField{Name: "request", Required: true, CollectionId: req.Id, MaxSelect: 1, CascadeDelete: true},
			&core.RelationField{Name: "citizen", Required: true, CollectionId: mustCollection(app, "citizens").Id, MaxSelect: 1},
			&core.RelationField{Name: "service", CollectionId: svc.Id, MaxSelect: 1},
			&core.SelectField{Name: "solved", Required: true, MaxSelect: 1, Values: []string{"yes", "partly", "no"}},
			&core.NumberField{Name: "satisfaction", Required: true, OnlyInt: true, Min: types.Pointer(1.0), Max: types.Pointer(5.0)},
			&core.SelectField{Name: "speed", Required: true, MaxSelect: 1, Values: []string{"fast", "ok", "slow"}},
			&core.TextField{Name: "comment", Max: 500},
		)
		autodates(c)
		c.AddIndex("idx_request_ratings_request", true, "`request`", "")
		c.AddIndex("idx_request_ratings_citizen", false, "`citizen`", "")
		c.AddIndex("idx_request_ratings_service", false, "`service`, `created`", "")
		if err := app.Save(c); err != nil {
			return fmt.Errorf("create request_ratings: %w", err)
		}
		return nil
	}, func(app core.App) error {
		if c, err := app.FindCollectionByNameOrId("request_ratings"); err == nil {
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		for name, fields := range map[string][]string{"services": {"reopen_days", "reopen_mode"}, "requests": {"not_fixed_at"}} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			for _, f := range fields {
				c.Fields.RemoveByName(f)
			}
			c.RemoveIndex("idx_requests_not_fixed")
			if err := app.Save(c); err != nil {
				return err
			}
		}
		return nil
	})
}
