package workflow

import (
	"unicode"
	"unicode/utf8"
)

// StatusNames are the citizen-facing names of every status in every language
// of city.Languages: one table for the catalogue, push messages and anything
// else that names a status to a citizen.
var StatusNames = map[string]Localized{
	StatusReceived:       {"it": "Ricevuta", "en": "Received", "sv": "Mottagen", "et": "Vastu võetud", "hu": "Beérkezett"},
	StatusInProgress:     {"it": "In lavorazione", "en": "In progress", "sv": "Pågår", "et": "Menetluses", "hu": "Folyamatban"},
	StatusWaitingCitizen: {"it": "In attesa di una tua risposta", "en": "Waiting for your reply", "sv": "Väntar på ditt svar", "et": "Ootab sinu vastust", "hu": "Válaszára vár"},
	StatusResolved:       {"it": "Risolta", "en": "Resolved", "sv": "Åtgärdad", "et": "Lahendatud", "hu": "Megoldva"},
	StatusRejected:       {"it": "Respinta", "en": "Rejected", "sv": "Avvisad", "et": "Tagasi lükatud", "hu": "Elutasítva"},
	StatusCancelled:      {"it": "Annullata", "en": "Cancelled", "sv": "Återkallad", "et": "Tühistatud", "hu": "Visszavonva"},
}

// StatusName returns status's name in lang (English, then the code, as fallbacks).
func StatusName(status, lang string) string {
	if n := StatusNames[status].In(lang, "en"); n != "" {
		return n
	}
	return status
}

// StatusNameInSentence is StatusName with a lower-case first letter, for use
// inside a sentence ("New status: in progress.").
func StatusNameInSentence(status, lang string) string {
	n := StatusName(status, lang)
	r, size := utf8.DecodeRuneInString(n)
	return string(unicode.ToLower(r)) + n[size:]
}
