package demo

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
)

// demoConsultationCode is the demo city's participatory budget consultation.
const demoConsultationCode = "BP-2027"

func l5(it, en, sv, et, hu string) map[string]string {
	return map[string]string{"it": it, "en": en, "sv": sv, "et": et, "hu": hu}
}

// seedConsultation adds an open participatory-budget consultation (opened
// yesterday, closing in 14 days, city time) unless one exists: an open
// consultation's questions and times are frozen, so a re-seed leaves it be.
func seedConsultation(txApp core.App) error {
	if _, err := txApp.FindFirstRecordByData("consultations", "code", demoConsultationCode); err == nil {
		return nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("demo consultation: %w", err)
	}
	col, err := txApp.FindCollectionByNameOrId("consultations")
	if err != nil {
		return fmt.Errorf("demo consultation: %w", err)
	}
	loc := city.Of(txApp).Location
	now := time.Now().In(loc)
	day := func(d int) string { return now.AddDate(0, 0, d).Format("2006-01-02") }
	opt := func(id string, label map[string]string) map[string]any {
		return map[string]any{"id": id, "label": label}
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"code":   demoConsultationCode,
		"status": "scheduled",
		"title":  l5("Bilancio partecipativo 2027", "Participatory budget 2027", "Medborgarbudget 2027", "Kaasav eelarve 2027", "Részvételi költségvetés 2027"),
		"description": l5(
			"Come spendere 200.000 euro nei quartieri? Scegli i progetti.",
			"How should 200,000 euros be spent in the neighbourhoods? Choose the projects.",
			"Hur ska 200 000 euro användas i stadsdelarna? Välj projekten.",
			"Kuidas kulutada linnaosades 200 000 eurot? Vali projektid.",
			"Hogyan költsünk el 200 000 eurót a városrészekben? Válassza ki a projekteket."),
		"opens_local":  day(-1) + "T08:00",
		"closes_local": day(14) + "T23:59",
		"questions": []map[string]any{
			{"id": "priority", "kind": "single", "required": true, "other": true,
				"title": l5("Quale progetto è il più importante?", "Which project matters most?", "Vilket projekt är viktigast?", "Milline projekt on kõige olulisem?", "Melyik projekt a legfontosabb?"),
				"options": []map[string]any{
					opt("park", l5("Nuovo parco giochi", "New playground", "Ny lekplats", "Uus mänguväljak", "Új játszótér")),
					opt("bikes", l5("Piste ciclabili", "Cycle lanes", "Cykelbanor", "Rattateed", "Kerékpárutak")),
					opt("library", l5("Biblioteca aperta la sera", "Library open in the evening", "Bibliotek öppet på kvällen", "Raamatukogu õhtuti avatud", "Esti nyitvatartású könyvtár")),
				}},
			{"id": "areas", "kind": "multiple", "min": 1, "max": 2,
				"title": l5("Dove? (fino a due quartieri)", "Where? (up to two neighbourhoods)", "Var? (högst två stadsdelar)", "Kus? (kuni kaks linnaosa)", "Hol? (legfeljebb két városrész)"),
				"options": []map[string]any{
					opt("centro", l5("Centro", "Centre", "Centrum", "Kesklinn", "Belváros")),
					opt("levante", l5("Levante", "East", "Öst", "Ida", "Kelet")),
					opt("ponente", l5("Ponente", "West", "Väst", "Lääs", "Nyugat")),
				}},
			{"id": "order", "kind": "ranking",
				"title": l5("Metti in ordine i tre progetti", "Put the three projects in order", "Ordna de tre projekten", "Sea kolm projekti järjekorda", "Rendezze sorba a három projektet"),
				"options": []map[string]any{
					opt("park", l5("Parco giochi", "Playground", "Lekplats", "Mänguväljak", "Játszótér")),
					opt("bikes", l5("Piste ciclabili", "Cycle lanes", "Cykelbanor", "Rattateed", "Kerékpárutak")),
					opt("library", l5("Biblioteca", "Library", "Bibliotek", "Raamatukogu", "Könyvtár")),
				}},
			{"id": "ideas", "kind": "text", "maxLength": 500,
				"title": l5("Altre idee?", "Any other ideas?", "Andra idéer?", "Muid ideid?", "Egyéb ötletek?")},
		},
	})
	if err := txApp.Save(rec); err != nil {
		return fmt.Errorf("demo consultation: %w", err)
	}
	return nil
}
