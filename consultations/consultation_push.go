package consultations

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"civicdesk/city"
	"civicdesk/push"

	"github.com/pocketbase/pocketbase/core"
)

// noticeTexts are the push bodies per language; the title is the
// consultation's title in that language.
var noticeTexts = map[string]map[string]string{
	"en": {noticeOpened: "A consultation is open: have your say until %s.", noticeReminder: "This consultation closes on %s and you have not answered yet.", noticePublished: "The results of this consultation are published."},
	"it": {noticeOpened: "Una consultazione è aperta: partecipa entro %s.", noticeReminder: "Questa consultazione chiude il %s e non hai ancora risposto.", noticePublished: "I risultati di questa consultazione sono pubblicati."},
	"sv": {noticeOpened: "En konsultation är öppen: säg din mening senast %s.", noticeReminder: "Den här konsultationen stänger %s och du har inte svarat ännu.", noticePublished: "Resultatet av den här konsultationen är publicerat."},
	"et": {noticeOpened: "Konsultatsioon on avatud: vasta kuni %s.", noticeReminder: "See konsultatsioon sulgub %s ja sa pole veel vastanud.", noticePublished: "Selle konsultatsiooni tulemused on avaldatud."},
	"hu": {noticeOpened: "Konzultáció indult: %s-ig mondhatja el véleményét.", noticeReminder: "Ez a konzultáció %s-kor zárul, és Ön még nem válaszolt.", noticePublished: "A konzultáció eredményei megjelentek."},
}

// queueNotice writes push_outbox rows (kind consultation) for every push
// subscription of the citizens for whom include is true (nil: every
// eligible citizen), in tx. It returns the number of rows.
func queueNotice(tx core.App, rec *core.Record, kind string, include map[string]bool, now time.Time, ttl time.Duration) (int, error) {
	if ttl < time.Hour {
		ttl = time.Hour
	}
	c, err := Load(rec)
	if err != nil {
		return 0, err
	}
	subs, err := tx.FindAllRecords(push.CollectionSubscriptions)
	if err != nil {
		return 0, fmt.Errorf("push subscriptions: %w", err)
	}
	outbox, err := tx.FindCachedCollectionByNameOrId(push.CollectionOutbox)
	if err != nil {
		return 0, fmt.Errorf("push outbox: %w", err)
	}
	cfg := city.Of(tx)
	var titles map[string]string
	_ = decodeJSON(rec.Get("title"), &titles)
	eligible := map[string]bool{}
	n := 0
	for _, sub := range subs {
		cid := sub.GetString("citizen")
		ok, seen := eligible[cid]
		if !seen {
			switch {
			case include != nil:
				ok = include[cid]
			default:
				cit, err := tx.FindRecordById("citizens", cid)
				ok = err == nil && Of(tx).eligible(c, cit) == ""
			}
			eligible[cid] = ok
		}
		if !ok {
			continue
		}
		lang := cfg.MatchLang(sub.GetString("lang"))
		texts, found := noticeTexts[lang]
		if !found {
			texts = noticeTexts["en"]
		}
		title := titles[lang]
		if title == "" {
			title = titles[cfg.DefaultLang]
		}
		body := texts[kind]
		if kind != noticePublished {
			body = fmt.Sprintf(body, c.ClosesAt.In(c.Location).Format("2006-01-02 15:04 MST"))
		}
		payload, _ := json.Marshal(push.Payload{
			Title: title, Body: body,
			URL: cfg.PublicURL + "/#/consultations/" + url.PathEscape(c.ID),
			Tag: "cons-" + c.ID,
		})
		row := core.NewRecord(outbox)
		row.Load(map[string]any{
			"subscription": sub.Id,
			"kind":         "consultation",
			"payload":      string(payload),
			"topic":        "cons-" + c.ID,
			"urgency":      "normal",
			"ttl":          int(ttl / time.Second),
			"state":        push.StatePending,
			"next_at":      now.UTC(),
			"expires_at":   now.Add(ttl).UTC(),
		})
		if err := tx.Save(row); err != nil {
			return n, fmt.Errorf("queue consultation push: %w", err)
		}
		n++
	}
	return n, nil
}

func pokePush(app core.App) { push.Poke(app) }
