package demo

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// demoTemplate is one response template in every language.
type demoTemplate struct {
	key, service, status string
	title, body          localized
}

var templates = []demoTemplate{
	{key: "taken", status: "in_progress",
		title: localized{"it": "Presa in carico", "en": "Taken up", "sv": "Påbörjad", "et": "Menetlusse võetud", "hu": "Ügyintézés alatt"},
		body: localized{"it": "La richiesta {number} ({service}) è stata presa in carico. La risolveremo entro il {due}.", "en": "Request {number} ({service}) has been taken up. We will deal with it by {due}.",
			"sv": "Ärende {number} ({service}) har påbörjats. Vi åtgärdar det senast {due}.", "et": "Pöördumine {number} ({service}) on menetluses. Lahendame selle hiljemalt {due}.",
			"hu": "A(z) {number} számú bejelentését ({service}) átvettük. Legkésőbb {due} napjáig intézkedünk."}},
	{key: "need_info", status: "waiting_citizen",
		title: localized{"it": "Servono informazioni", "en": "We need information", "sv": "Vi behöver uppgifter", "et": "Vajame lisateavet", "hu": "További adatok szükségesek"},
		body: localized{"it": "Per procedere con la richiesta {number} ci servono altre informazioni: risponda da questa pagina.", "en": "To go on with request {number} we need more information: please reply from this page.",
			"sv": "För att gå vidare med ärende {number} behöver vi fler uppgifter: svara via den här sidan.", "et": "Pöördumise {number} jätkamiseks vajame lisateavet: palun vastake sellel lehel.",
			"hu": "A(z) {number} számú bejelentés folytatásához további adatokra van szükségünk: kérjük, válaszoljon ezen az oldalon."}},
	{key: "resolved", status: "resolved",
		title: localized{"it": "Risolta", "en": "Resolved", "sv": "Åtgärdad", "et": "Lahendatud", "hu": "Megoldva"},
		body: localized{"it": "La richiesta {number} è risolta. Grazie per aver aiutato {city}.", "en": "Request {number} is resolved. Thank you for helping {city}.",
			"sv": "Ärende {number} är åtgärdat. Tack för att du hjälper {city}.", "et": "Pöördumine {number} on lahendatud. Aitäh, et aitate: {city}.",
			"hu": "A(z) {number} számú bejelentés megoldódott. Köszönjük, hogy segíti: {city}."}},
	{key: "rejected", status: "rejected",
		title: localized{"it": "Non di competenza", "en": "Not for us", "sv": "Inte vårt ansvar", "et": "Ei kuulu meie pädevusse", "hu": "Nem hozzánk tartozik"},
		body: localized{"it": "La richiesta {number} non riguarda i servizi del Comune; l'abbiamo chiusa.", "en": "Request {number} is not about a city service; we have closed it.",
			"sv": "Ärende {number} gäller inte kommunens tjänster; vi har avslutat det.", "et": "Pöördumine {number} ei puuduta linna teenuseid; sulgesime selle.",
			"hu": "A(z) {number} számú bejelentés nem városi szolgáltatást érint, ezért lezártuk."}},
	{key: "pothole_fixed", service: "pothole", status: "resolved",
		title: localized{"it": "Buca riparata", "en": "Pothole repaired", "sv": "Hålet lagat", "et": "Auk parandatud", "hu": "Kátyú kijavítva"},
		body: localized{"it": "La buca della richiesta {number} è stata riparata. Grazie!", "en": "The pothole of request {number} has been repaired. Thank you!",
			"sv": "Hålet i ärende {number} är lagat. Tack!", "et": "Pöördumise {number} auk on parandatud. Aitäh!", "hu": "A(z) {number} számú bejelentésben jelzett kátyút kijavítottuk. Köszönjük!"}},
	{key: "light_fixed", service: "streetlight", status: "resolved",
		title: localized{"it": "Lampione riparato", "en": "Streetlight repaired", "sv": "Gatlampan lagad", "et": "Valgusti parandatud", "hu": "Lámpa megjavítva"},
		body: localized{"it": "Il lampione della richiesta {number} funziona di nuovo.", "en": "The streetlight of request {number} works again.",
			"sv": "Gatlampan i ärende {number} fungerar igen.", "et": "Pöördumise {number} valgusti töötab taas.", "hu": "A(z) {number} számú bejelentésben jelzett lámpa ismét működik."}},
}

// seedTemplates upserts the demo's response templates (by key and language).
func seedTemplates(app core.App) error {
	for _, t := range templates {
		svc := ""
		if t.service != "" {
			s, err := app.FindFirstRecordByData("services", "code", t.service)
			if err != nil {
				return fmt.Errorf("template %s: service %s: %w", t.key, t.service, err)
			}
			svc = s.Id
		}
		for lang, title := range t.title {
			rec, err := app.FindFirstRecordByFilter("response_templates", "key = {:k} && lang = {:l}", dbx.Params{"k": t.key, "l": lang})
			if err != nil {
				col, err := app.FindCollectionByNameOrId("response_templates")
				if err != nil {
					return err
				}
				rec = core.NewRecord(col)
			}
			rec.Load(map[string]any{"key": t.key, "lang": lang, "service": svc, "status": t.status, "title": title, "body": t.body[lang]})
			if err := app.Save(rec); err != nil {
				return fmt.Errorf("template %s/%s: %w", t.key, lang, err)
			}
		}
	}
	return nil
}
