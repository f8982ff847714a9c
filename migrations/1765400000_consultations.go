package migrations

import (
	"fmt"
	"slices"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Consultations (issue 16, docs/consultations.md): the consultations and their
// event log and moderated free texts as collections; ballots as a plain table
// that no API, realtime channel or dashboard view can read; citizens' profile
// fields for eligibility; ballot receipts in `receipts` (kind ballot, owned by
// the citizen, no request); a push kind for consultation notices.
var ballotsSQL = []string{
	// voter = HMAC-SHA256(voter key in the data dir, consultation|citizen):
	// the UNIQUE index is the one-ballot-per-citizen rule, on every path
	`CREATE TABLE IF NOT EXISTS [[ballots]] (
		[[id]]           INTEGER PRIMARY KEY AUTOINCREMENT,
		[[consultation]] TEXT NOT NULL,
		[[voter]]        TEXT NOT NULL,
		[[version]]      INTEGER NOT NULL,
		[[answers]]      TEXT NOT NULL,
		[[accepted_at]]  TEXT NOT NULL,
		[[client_time]]  TEXT NOT NULL DEFAULT '',
		[[late]]         INTEGER NOT NULL DEFAULT 0,
		[[origin]]       TEXT NOT NULL DEFAULT 'app'
	)`,
	"CREATE UNIQUE INDEX IF NOT EXISTS [[idx_ballots_voter]] ON [[ballots]] ([[consultation]], [[voter]])",
}

func init() {
	m.Register(func(app core.App) error {
		for _, step := range []func(core.App) error{
			addCitizenProfile, createConsultations, createConsultationEvents, createConsultationTexts,
			ballotReceipts, consultationPushKind,
		} {
			if err := step(app); err != nil {
				return err
			}
		}
		for _, q := range ballotsSQL {
			if _, err := app.DB().NewQuery(q).Execute(); err != nil {
				return fmt.Errorf("ballots table: %w", err)
			}
		}
		return nil
	}, nil)
}

func addCitizenProfile(app core.App) error {
	c := mustCollection(app, "citizens")
	c.Fields.Add(
		// self-declared; used only for a consultation's minimum age
		&core.DateField{Name: "birthdate"},
		// a district code of the city (free text, matched exactly)
		&core.TextField{Name: "district", Max: 64},
	)
	return app.Save(c)
}

func createConsultations(app core.App) error {
	c := core.NewBaseCollection("consultations")
	visible := "status != 'draft' || " + ruleStaff
	c.ListRule = types.Pointer(visible)
	c.ViewRule = types.Pointer(visible)
	c.CreateRule = types.Pointer(ruleSupervisor)
	c.UpdateRule = types.Pointer(ruleSupervisor)
	c.DeleteRule = types.Pointer(ruleSupervisor + " && status = 'draft'")
	c.Fields.Add(
		&core.TextField{Name: "code", Required: true, Max: 16, Pattern: `^[A-Z0-9][A-Z0-9-]*$`, Presentable: true},
		// {lang: text}
		&core.JSONField{Name: "title", MaxSize: 16 << 10},
		&core.JSONField{Name: "description", MaxSize: 64 << 10},
		&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"draft", "scheduled", "open", "closed", "published"}},
		&core.TextField{Name: "time_zone", Max: 64},
		// local wall-clock times in time_zone ("2026-03-29T23:59"); the hooks derive the UTC instants
		&core.TextField{Name: "opens_local", Max: 16},
		&core.TextField{Name: "closes_local", Max: 16},
		&core.DateField{Name: "opens_at"},
		&core.DateField{Name: "closes_at"},
		&core.JSONField{Name: "questions", MaxSize: 256 << 10},
		&core.JSONField{Name: "eligibility", MaxSize: 4 << 10},
		&core.SelectField{Name: "late_policy", MaxSelect: 1, Values: []string{"strict", "grace"}},
		&core.NumberField{Name: "grace_minutes", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(1440.0)},
		// aggregates only, written by the publish route
		&core.JSONField{Name: "results", MaxSize: 1 << 20},
		&core.DateField{Name: "published_at"},
		// notices already queued (opened, reminder, published), so a job run twice sends once
		&core.JSONField{Name: "notices", MaxSize: 1 << 10},
	)
	autodates(c)
	c.AddIndex("idx_consultations_code", true, "`code`", "")
	c.AddIndex("idx_consultations_status", false, "`status`, `closes_at`", "")
	return app.Save(c)
}

func createConsultationEvents(app core.App) error {
	c := core.NewBaseCollection("consultation_events") // append-only: written by hooks
	c.ListRule = types.Pointer(ruleStaff)
	c.ViewRule = types.Pointer(ruleStaff)
	c.Fields.Add(
		&core.RelationField{Name: "consultation", Required: true, CollectionId: mustCollection(app, "consultations").Id, MaxSelect: 1, CascadeDelete: true},
		&core.SelectField{Name: "type", Required: true, MaxSelect: 1, Values: []string{"created", "status", "close_extended", "published", "text_moderated"}},
		&core.TextField{Name: "from_value", Max: 64},
		&core.TextField{Name: "to_value", Max: 64},
		&core.TextField{Name: "author", Max: 32},
		&core.TextField{Name: "author_type", Max: 16},
		&core.AutodateField{Name: "created", OnCreate: true},
	)
	c.AddIndex("idx_consultation_events_c", false, "`consultation`, `created`", "")
	return app.Save(c)
}

func createConsultationTexts(app core.App) error {
	c := core.NewBaseCollection("consultation_texts") // free-text answers, unlinked from voters, written at publication
	view := "(approved = true && consultation.status = 'published') || " + ruleSupervisor
	c.ListRule = types.Pointer(view)
	c.ViewRule = types.Pointer(view)
	c.UpdateRule = types.Pointer(ruleSupervisor) // moderation: the hooks allow only `approved` to change
	c.Fields.Add(
		&core.RelationField{Name: "consultation", Required: true, CollectionId: mustCollection(app, "consultations").Id, MaxSelect: 1, CascadeDelete: true},
		&core.TextField{Name: "question", Required: true, Max: 32},
		&core.TextField{Name: "text", Max: 10000},
		&core.BoolField{Name: "approved"},
		&core.NumberField{Name: "position", OnlyInt: true},
	)
	autodates(c)
	c.AddIndex("idx_consultation_texts_c", false, "`consultation`, `question`, `position`", "")
	return app.Save(c)
}

func ballotReceipts(app core.App) error {
	c := mustCollection(app, "receipts")
	if f, ok := c.Fields.GetByName("request").(*core.RelationField); ok {
		f.Required = false // ballot receipts belong to a citizen, not a request
	}
	if f, ok := c.Fields.GetByName("kind").(*core.SelectField); ok && !slices.Contains(f.Values, "ballot") {
		f.Values = append(f.Values, "ballot")
	}
	c.Fields.Add(
		&core.RelationField{Name: "citizen", CollectionId: mustCollection(app, "citizens").Id, MaxSelect: 1, CascadeDelete: true},
		&core.RelationField{Name: "consultation", CollectionId: mustCollection(app, "consultations").Id, MaxSelect: 1, CascadeDelete: true},
		&core.NumberField{Name: "ballot_version", OnlyInt: true},
		&core.SelectField{Name: "ballot_status", MaxSelect: 1, Values: []string{"counted", "late_counted"}},
		&core.BoolField{Name: "superseded"},
	)
	// wrap whatever rule is in place: a ballot receipt is its citizen's alone
	// (staff do not even learn who took part from it)
	own := "(kind = 'ballot' && " + ruleCitizen + " && citizen = @request.auth.id)"
	for _, r := range []**string{&c.ListRule, &c.ViewRule} {
		if *r != nil {
			*r = types.Pointer("(kind != 'ballot' && (" + **r + ")) || " + own)
		}
	}
	c.AddIndex("idx_receipts_ballot", false, "`consultation`, `citizen`", "`kind` = 'ballot'")
	return app.Save(c)
}

func consultationPushKind(app core.App) error {
	c := mustCollection(app, "push_outbox")
	if f, ok := c.Fields.GetByName("kind").(*core.SelectField); ok && !slices.Contains(f.Values, "consultation") {
		f.Values = append(f.Values, "consultation")
	}
	return app.Save(c)
}
