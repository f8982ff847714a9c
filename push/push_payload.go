package push

import (
	"encoding/json"
	"fmt"
	"net/url"

	"civicdesk/city"
	"civicdesk/workflow"
)

// Notification kinds: what happened to the request.
const (
	KindStatus  = "status"  // a public status change
	KindNote    = "note"    // a public note from staff
	KindReceipt = "receipt" // a new receipt (received, resolved, payment)
)

// Payload is the JSON a device receives (CONTRACT §5). It carries no personal
// data: the request number and status, never descriptions, notes or names.
type Payload struct {
	Title   string `json:"title"`
	Body    string `json:"body"`
	URL     string `json:"url"`
	Request string `json:"request"`
	Status  string `json:"status"`
	Tag     string `json:"tag"`
}

// Message describes one event to notify about, before it is rendered per device.
type Message struct {
	Kind string
	// RequestID is the request record id (for the link, Topic and tag).
	RequestID string
	// Number is the request's human number ("2026-000042").
	Number string
	// Status is the request's status after the event.
	Status string
	// ReceiptKind is the receipts.kind for KindReceipt (received, resolved, payment).
	ReceiptKind string
	// Follow marks a message to a follower of someone else's request: its link
	// opens the request's public page.
	Follow bool
}

// Topic returns the push Topic of a request: one per request, so a device that
// was offline receives only the latest message (RFC 8030 §5.4: ≤ 32 URL-safe characters).
func Topic(requestID string) string {
	t := "req-" + requestID
	if len(t) > 32 {
		t = t[:32]
	}
	return t
}

// Render builds the payload for one device in lang (generic text only when cfg.PushGeneric).
func Render(cfg city.Config, m Message, lang string) Payload {
	lang = cfg.MatchLang(lang)
	t, ok := texts[lang]
	if !ok {
		t = texts["en"]
	}
	p := Payload{
		URL: cfg.PublicURL + "/#/requests/" + url.PathEscape(m.RequestID),
		Tag: "req-" + m.RequestID,
	}
	if m.Follow {
		p.URL = cfg.PublicURL + "/#/public/requests/" + url.PathEscape(m.RequestID)
	}
	if cfg.PushGeneric {
		// generic mode: nothing on a lock screen says which request or what happened
		p.Title = t.genericTitle
		p.Body = t.genericBody
		return p
	}
	p.Request = m.Number
	p.Status = m.Status
	status := workflow.StatusNameInSentence(m.Status, lang)
	p.Title = fmt.Sprintf(t.title, m.Number)
	switch m.Kind {
	case KindNote:
		p.Body = t.note
	case KindReceipt:
		switch m.ReceiptKind {
		case "payment":
			p.Body = t.receiptPayment
		case "refund":
			p.Body = refundText(lang)
		default:
			p.Body = fmt.Sprintf(t.receiptStatus, status)
		}
	default:
		p.Body = fmt.Sprintf(t.statusBody, status)
		if m.Status == workflow.StatusWaitingCitizen && !m.Follow {
			p.Body = t.question // say what to do, not only the status name
		}
	}
	return p
}

// Encode returns the payload's JSON (what is encrypted per device).
func (p Payload) Encode() []byte {
	b, _ := json.Marshal(p) // only strings: cannot fail
	return b
}

// Urgency returns the RFC 8030 urgency of a message: "high" when the citizen must act.
func (m Message) Urgency() string {
	if m.Kind == KindStatus && m.Status == workflow.StatusWaitingCitizen && !m.Follow {
		return "high"
	}
	return "normal"
}

type langTexts struct {
	title          string // %s = request number
	statusBody     string // %s = status name
	question       string // waiting_citizen: the city asks the citizen something
	note           string
	receiptStatus  string // %s = status name
	receiptPayment string
	genericTitle   string
	genericBody    string
}

// texts holds every push string in each city.Languages language.
var texts = map[string]langTexts{
	"it": {
		title:          "Segnalazione %s",
		statusBody:     "Nuovo stato: %s.",
		question:       "Il Comune ti chiede qualcosa: apri la segnalazione per rispondere.",
		note:           "L'ufficio ha aggiunto un messaggio.",
		receiptStatus:  "Stato: %s. La ricevuta è disponibile.",
		receiptPayment: "Pagamento registrato. La ricevuta è disponibile.",
		genericTitle:   "Aggiornamento",
		genericBody:    "La tua segnalazione è stata aggiornata.",
	},
	"en": {
		title:          "Request %s",
		statusBody:     "New status: %s.",
		question:       "The city has a question for you: open the request to reply.",
		note:           "The office added a message.",
		receiptStatus:  "Status: %s. Your receipt is ready.",
		receiptPayment: "Payment recorded. Your receipt is ready.",
		genericTitle:   "Update",
		genericBody:    "Your request was updated.",
	},
	"sv": {
		title:          "Ärende %s",
		statusBody:     "Ny status: %s.",
		question:       "Kommunen har en fråga till dig: öppna ärendet för att svara.",
		note:           "Handläggaren har lagt till ett meddelande.",
		receiptStatus:  "Status: %s. Ditt kvitto är klart.",
		receiptPayment: "Betalningen är registrerad. Ditt kvitto är klart.",
		genericTitle:   "Uppdatering",
		genericBody:    "Ditt ärende har uppdaterats.",
	},
	"et": {
		title:          "Pöördumine %s",
		statusBody:     "Uus olek: %s.",
		question:       "Linnal on sulle küsimus: ava pöördumine, et vastata.",
		note:           "Ametnik lisas sõnumi.",
		receiptStatus:  "Olek: %s. Kviitung on valmis.",
		receiptPayment: "Makse on registreeritud. Kviitung on valmis.",
		genericTitle:   "Uuendus",
		genericBody:    "Teie pöördumist uuendati.",
	},
	"hu": {
		title:          "Bejelentés: %s",
		statusBody:     "Új állapot: %s.",
		question:       "A város kérdést tett fel Önnek: nyissa meg a bejelentést a válaszhoz.",
		note:           "Az ügyintéző üzenetet írt.",
		receiptStatus:  "Állapot: %s. Az igazolás elkészült.",
		receiptPayment: "A befizetés rögzítve. Az igazolás elkészült.",
		genericTitle:   "Frissítés",
		genericBody:    "A bejelentése frissült.",
	},
}
