package mobileapi

import "civicdesk/workflow"

// statusNames are the citizen-facing names of every status in every language
// of city.Languages, so an offline app can show a status it has never seen.
var statusNames = map[string]map[string]string{
	workflow.StatusReceived: {
		"it": "Ricevuta", "en": "Received", "sv": "Mottagen", "et": "Vastu võetud", "hu": "Beérkezett",
	},
	workflow.StatusInProgress: {
		"it": "In lavorazione", "en": "In progress", "sv": "Pågår", "et": "Töös", "hu": "Folyamatban",
	},
	workflow.StatusWaitingCitizen: {
		"it": "In attesa di una tua risposta", "en": "Waiting for your reply", "sv": "Väntar på ditt svar", "et": "Ootab sinu vastust", "hu": "Válaszára vár",
	},
	workflow.StatusResolved: {
		"it": "Risolta", "en": "Resolved", "sv": "Åtgärdad", "et": "Lahendatud", "hu": "Megoldva",
	},
	workflow.StatusRejected: {
		"it": "Respinta", "en": "Rejected", "sv": "Avvisad", "et": "Tagasi lükatud", "hu": "Elutasítva",
	},
	workflow.StatusCancelled: {
		"it": "Annullata", "en": "Cancelled", "sv": "Återkallad", "et": "Tühistatud", "hu": "Visszavonva",
	},
}
