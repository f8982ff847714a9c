package push

// refundTexts is the body of the push about a refund receipt (payments
// records a refund on a fee), in each city.Languages language.
var refundTexts = map[string]string{
	"it": "Rimborso registrato. La ricevuta è disponibile.",
	"en": "Refund recorded. Your receipt is ready.",
	"sv": "Återbetalningen är registrerad. Ditt kvitto är klart.",
	"et": "Tagasimakse on registreeritud. Kviitung on valmis.",
	"hu": "A visszatérítés rögzítve. Az igazolás elkészült.",
}

func refundText(lang string) string {
	if s, ok := refundTexts[lang]; ok {
		return s
	}
	return refundTexts["en"]
}
