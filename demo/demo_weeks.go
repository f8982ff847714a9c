package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
	"github.com/pocketbase/pocketbase/tools/types"
)

// WeeksDays is how far back the demo's request history reaches.
const WeeksDays = 28

// weeksMarker records that the history was seeded (it is seeded once: the
// requests are new records with new numbers, so a second run must not add more).
const weeksMarker = "weeks-v1"

const skipWeeksKey = "civicdesk.demo.skipWeeks"

// SkipWeeks makes Seed leave out the request history, the response templates
// and the staff languages (the test kit's worlds start as they were, so tests
// count exactly what they create).
func SkipWeeks(app core.App) { app.Store().Set(skipWeeksKey, true) }

// staffLang is each demo clerk's language: every language has a clerk.
var staffLang = map[string]string{"roads": "it", "environment": "en", "registry": "sv", "police": "et", "urp": "hu"}

// demoCitizen is one of the history's citizens (not the demo citizen account,
// whose own requests e2e tests follow).
type demoCitizen struct{ email, name, lang string }

var weekCitizens = []demoCitizen{
	{"giulia.bianchi@demo.civicdesk.example", "Giulia Bianchi", "it"},
	{"oliver.smith@demo.civicdesk.example", "Oliver Smith", "en"},
	{"elsa.lindqvist@demo.civicdesk.example", "Elsa Lindqvist", "sv"},
	{"kadri.tamm@demo.civicdesk.example", "Kadri Tamm", "et"},
	{"zsofia.nagy@demo.civicdesk.example", "Zsófia Nagy", "hu"},
}

// descriptions are what citizens write, per service and language.
var descriptions = map[string]map[string]string{
	"pothole":               {"it": "Buca profonda davanti al numero civico, le auto la scansano all'ultimo.", "en": "Deep pothole outside the house number, cars swerve at the last moment.", "sv": "Djupt hål utanför porten, bilarna väjer i sista stund.", "et": "Sügav auk maja ees, autod põiklevad viimasel hetkel.", "hu": "Mély kátyú a ház előtt, az autók az utolsó pillanatban kerülik ki."},
	"streetlight":           {"it": "Il lampione è spento da tre sere, la strada è buia.", "en": "The streetlight has been off for three evenings, the street is dark.", "sv": "Gatlampan har varit släckt i tre kvällar, gatan är mörk.", "et": "Tänavavalgusti on kolm õhtut kustunud, tänav on pime.", "hu": "Három este óta nem ég a lámpa, sötét az utca."},
	"graffiti":              {"it": "Scritte sul muro della scuola.", "en": "Graffiti on the school wall.", "sv": "Klotter på skolans vägg.", "et": "Grafiti kooli seinal.", "hu": "Graffiti az iskola falán."},
	"waste_pickup":          {"it": "Un divano e un materasso da ritirare.", "en": "A sofa and a mattress to collect.", "sv": "En soffa och en madrass att hämta.", "et": "Diivan ja madrats äraviimiseks.", "hu": "Egy kanapé és egy matrac elszállítása."},
	"residence_certificate": {"it": "Mi serve per la banca.", "en": "I need it for the bank.", "sv": "Jag behöver det till banken.", "et": "Vajan seda panga jaoks.", "hu": "A bankhoz kell."},
	"parking_permit":        {"it": "Rinnovo del permesso per la zona B.", "en": "Renewal of the zone B permit.", "sv": "Förnyelse av tillståndet för zon B.", "et": "B-tsooni loa pikendamine.", "hu": "B zónás engedély megújítása."},
	"noise":                 {"it": "Musica ad alto volume ogni notte dopo mezzanotte.", "en": "Loud music every night after midnight.", "sv": "Hög musik varje natt efter midnatt.", "et": "Vali muusika igal ööl pärast keskööd.", "hu": "Hangos zene minden éjjel éjfél után."},
	"enquiry":               {"it": "Quando passa lo spazzamento nella mia via?", "en": "When is my street swept?", "sv": "När sopas min gata?", "et": "Millal minu tänavat pühitakse?", "hu": "Mikor takarítják az utcámat?"},
}

// staffNotes are what clerks write: public notes to the citizen and internal notes.
var publicNotes = map[string]string{
	"it": "Abbiamo inviato una squadra, grazie per la segnalazione.", "en": "We have sent a team, thank you for reporting.",
	"sv": "Vi har skickat ett arbetslag, tack för anmälan.", "et": "Saatsime brigaadi, aitäh teatamast.", "hu": "Kiküldtünk egy csapatot, köszönjük a bejelentést.",
}
var waitingNotes = map[string]string{
	"it": "Ci può indicare il numero civico più vicino?", "en": "Could you tell us the nearest house number?",
	"sv": "Kan du ange närmaste gatunummer?", "et": "Kas saaksite öelda lähima majanumbri?", "hu": "Megadná a legközelebbi házszámot?",
}
var internalNotes = []string{"Checked on site, needs the asphalt crew.", "Waiting for the contractor's slot.", "Duplicate risk: look at the nearby list first.", "Called the citizen, no answer."}

// seedWeeks gives the demo city a few weeks of history: requests in every
// status, department and language, some overdue, some with photos and notes,
// assigned to the demo clerks, plus response templates and staff languages.
// Everything is written through app.Save and the workflow hooks; only the
// clock is moved back afterwards (created, due, resolved and event times),
// which no path of the running system can do.
func seedWeeks(app core.App, accounts []Account) error {
	if _, ok := app.Store().GetOk(skipWeeksKey); ok {
		return nil
	}
	clerks := map[string]Account{}
	for _, a := range accounts {
		if a.Collection != "staff" {
			continue
		}
		rec, err := app.FindRecordById("staff", a.ID)
		if err != nil {
			return err
		}
		lang := staffLang[a.Department]
		if a.Role == workflow.RoleSupervisor {
			lang = "en"
		}
		if rec.GetString("lang") == "" {
			rec.Set("lang", lang)
			if err := app.Save(rec); err != nil {
				return fmt.Errorf("staff lang: %w", err)
			}
		}
		if a.Department != "" {
			clerks[a.Department] = a
		}
	}
	if err := seedTemplates(app); err != nil {
		return err
	}
	if _, err := app.DB().NewQuery("CREATE TABLE IF NOT EXISTS [[demo_seeded]] ([[key]] TEXT PRIMARY KEY NOT NULL)").Execute(); err != nil {
		return fmt.Errorf("demo marker: %w", err)
	}
	var done int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM [[demo_seeded]] WHERE [[key]] = {:k}").Bind(dbx.Params{"k": weeksMarker}).Row(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	return app.RunInTransaction(func(tx core.App) error {
		if err := writeWeeks(tx, clerks, time.Now()); err != nil {
			return err
		}
		_, err := tx.DB().NewQuery("INSERT INTO [[demo_seeded]] ([[key]]) VALUES ({:k})").Bind(dbx.Params{"k": weeksMarker}).Execute()
		return err
	})
}

type svcInfo struct {
	rec    *core.Record
	fields []workflow.FormField
	dept   string
}

func writeWeeks(tx core.App, clerks map[string]Account, now time.Time) error {
	rnd := rand.New(rand.NewSource(20261201))
	var citizens []*core.Record
	for _, c := range weekCitizens {
		a := Account{Collection: "citizens", Email: c.email, Password: DefaultPassword + "-" + c.lang, Name: c.name}
		if err := upsertAccount(tx, &a, nil); err != nil {
			return err
		}
		rec, err := tx.FindRecordById("citizens", a.ID)
		if err != nil {
			return err
		}
		rec.Set("lang", c.lang)
		if err := tx.Save(rec); err != nil {
			return err
		}
		citizens = append(citizens, rec)
	}
	svcRecs, err := tx.FindAllRecords("services", dbx.HashExp{"active": true})
	if err != nil {
		return err
	}
	depts, err := tx.FindAllRecords("departments")
	if err != nil {
		return err
	}
	deptCode := map[string]string{}
	for _, d := range depts {
		deptCode[d.Id] = d.GetString("code")
	}
	var services []svcInfo
	for _, s := range svcRecs {
		f, err := workflow.ParseForm([]byte(s.GetString("fields")))
		if err != nil {
			return err
		}
		services = append(services, svcInfo{rec: s, fields: f, dept: deptCode[s.GetString("department")]})
	}
	col, err := tx.FindCollectionByNameOrId("requests")
	if err != nil {
		return err
	}
	evCol, err := tx.FindCollectionByNameOrId("request_events")
	if err != nil {
		return err
	}

	const perDay = 8
	for day := WeeksDays; day >= 0; day-- {
		for i := 0; i < perDay; i++ {
			svc := services[rnd.Intn(len(services))]
			var citizen *core.Record
			lang := "it"
			if rnd.Intn(7) > 0 {
				citizen = citizens[rnd.Intn(len(citizens))]
				lang = citizen.GetString("lang")
			}
			created := now.Add(-time.Duration(day)*24*time.Hour - time.Duration(rnd.Intn(10*60))*time.Minute)
			if created.After(now) {
				created = now.Add(-time.Minute)
			}
			clerk := clerks[svc.dept]
			staffActor := workflow.Actor{Kind: workflow.ActorStaff, ID: clerk.ID, Role: workflow.RoleClerk, Departments: []string{svc.rec.GetString("department")}}

			rec := core.NewRecord(col)
			rec.Load(map[string]any{"service": svc.rec.Id, "answers": demoAnswers(svc.fields, rnd), "description": descriptions[svc.rec.GetString("code")][lang]})
			if svc.rec.GetString("location") != "none" {
				rec.Set("location", types.GeoPoint{Lat: 44.40 + rnd.Float64()*0.03, Lon: 8.90 + rnd.Float64()*0.06})
				rec.Set("address", fmt.Sprintf("Via %s %d, Genova", []string{"Balbi", "XX Settembre", "Garibaldi", "San Lorenzo", "Assarotti"}[rnd.Intn(5)], 1+rnd.Intn(120)))
			}
			if p := svc.rec.GetString("photos"); p == "required" || (p == "optional" && rnd.Intn(4) == 0) {
				f, err := filesystem.NewFileFromBytes(demoJPEG(rnd), "photo.jpg")
				if err != nil {
					return err
				}
				rec.Set("photos", []any{f})
			}
			if citizen != nil {
				rec.Set("citizen", citizen.Id)
				workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id})
			} else {
				rec.Set("contact_name", "Sportello URP")
				workflow.AttachActor(rec, staffActor)
			}
			if err := tx.Save(rec); err != nil {
				return fmt.Errorf("demo request (%s): %w", svc.rec.GetString("code"), err)
			}

			// its life so far: older requests are further along
			age := float64(day) + rnd.Float64()
			steps := lifeOf(age, rnd)
			for _, st := range steps {
				fresh, err := tx.FindRecordById("requests", rec.Id)
				if err != nil {
					return err
				}
				fresh.Set("status", st)
				fresh.Set("assignee", clerk.ID)
				switch st {
				case workflow.StatusWaitingCitizen:
					fresh.Set("status_note", waitingNotes[lang])
				case workflow.StatusResolved, workflow.StatusInProgress:
					fresh.Set("status_note", publicNotes[lang])
				}
				workflow.AttachActor(fresh, staffActor)
				if err := tx.Save(fresh); err != nil {
					return fmt.Errorf("demo request %s → %s: %w", rec.GetString("number"), st, err)
				}
			}
			if len(steps) > 0 && rnd.Intn(3) == 0 {
				ev := core.NewRecord(evCol)
				ev.Load(map[string]any{"request": rec.Id, "type": "comment", "message": internalNotes[rnd.Intn(len(internalNotes))], "public": false})
				workflow.AttachActor(ev, staffActor)
				if err := tx.Save(ev); err != nil {
					return err
				}
			}
			if err := backdate(tx, rec.Id, created, now, svc.rec.GetInt("sla_hours"), age, rnd); err != nil {
				return err
			}
		}
	}
	return nil
}

// lifeOf picks the statuses a request of that age went through.
func lifeOf(ageDays float64, rnd *rand.Rand) []string {
	r := rnd.Float64()
	switch {
	case ageDays < 1:
		if r < 0.7 {
			return nil
		}
		return []string{workflow.StatusInProgress}
	case ageDays < 7:
		switch {
		case r < 0.3:
			return nil // some of these become overdue
		case r < 0.6:
			return []string{workflow.StatusInProgress}
		case r < 0.75:
			return []string{workflow.StatusWaitingCitizen}
		default:
			return []string{workflow.StatusInProgress, workflow.StatusResolved}
		}
	default:
		switch {
		case r < 0.1:
			return []string{workflow.StatusInProgress} // overdue
		case r < 0.2:
			return []string{workflow.StatusRejected}
		default:
			return []string{workflow.StatusInProgress, workflow.StatusResolved}
		}
	}
}

// backdate moves a demo request's clock back to created: its events spread
// over its life, resolved some hours or days later, due by its SLA, overdue set.
func backdate(tx core.App, id string, created, now time.Time, slaHours int, ageDays float64, rnd *rand.Rand) error {
	rec, err := tx.FindRecordById("requests", id)
	if err != nil {
		return err
	}
	life := now.Sub(created)
	var events []struct {
		ID string `db:"id"`
	}
	if err := tx.DB().NewQuery("SELECT [[id]] FROM [[request_events]] WHERE [[request]] = {:r} ORDER BY [[created]], [[id]]").Bind(dbx.Params{"r": id}).All(&events); err != nil {
		return err
	}
	last := created
	for i, ev := range events {
		at := created
		if i > 0 {
			at = created.Add(time.Duration(float64(life) * (float64(i) / float64(len(events)+1)) * (0.5 + rnd.Float64()/2)))
			if at.Before(last) {
				at = last.Add(time.Minute)
			}
		}
		last = at
		if _, err := tx.DB().NewQuery("UPDATE [[request_events]] SET [[created]] = {:t}, [[updated]] = {:t} WHERE [[id]] = {:id}").Bind(dbx.Params{"t": dbTime(at), "id": ev.ID}).Execute(); err != nil {
			return err
		}
	}
	due := ""
	if slaHours > 0 {
		due = dbTime(created.Add(time.Duration(slaHours) * time.Hour))
	}
	resolved := ""
	if rec.GetString("status") == workflow.StatusResolved {
		resolved = dbTime(last)
	}
	overdue := !workflow.IsClosed(rec.GetString("status")) && due != "" && due < dbTime(now)
	_, err = tx.DB().NewQuery("UPDATE [[requests]] SET [[created]] = {:c}, [[updated]] = {:u}, [[due_at]] = {:d}, [[resolved_at]] = {:r}, [[overdue]] = {:o} WHERE [[id]] = {:id}").
		Bind(dbx.Params{"c": dbTime(created), "u": dbTime(last), "d": due, "r": resolved, "o": overdue, "id": id}).Execute()
	if err != nil {
		return err
	}
	_, err = tx.DB().NewQuery("UPDATE [[receipts]] SET [[issued_at]] = {:c} WHERE [[request]] = {:id} AND [[kind]] = 'received'").Bind(dbx.Params{"c": dbTime(created), "id": id}).Execute()
	return err
}

func dbTime(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

// demoAnswers are valid answers for a form: every required question, some optional ones.
func demoAnswers(fields []workflow.FormField, rnd *rand.Rand) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		if !f.Required && rnd.Intn(2) == 0 {
			continue
		}
		switch f.Datatype {
		case workflow.TypeSingleValueList:
			out[f.Code] = f.Values[rnd.Intn(len(f.Values))].Key
		case workflow.TypeMultiValueList:
			out[f.Code] = []string{f.Values[rnd.Intn(len(f.Values))].Key}
		case workflow.TypeBoolean:
			out[f.Code] = rnd.Intn(2) == 0
		case workflow.TypeNumber:
			out[f.Code] = 1 + rnd.Intn(3)
		case workflow.TypeDatetime:
			out[f.Code] = time.Now().AddDate(0, 0, 7+rnd.Intn(20)).UTC().Format(time.RFC3339)
		case workflow.TypeText:
			out[f.Code] = "Grazie."
		default:
			out[f.Code] = fmt.Sprintf("GE%05d", rnd.Intn(100000))
		}
	}
	return out
}

// demoJPEG draws a small photo-like JPEG (sky, wall, a dark patch).
func demoJPEG(rnd *rand.Rand) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	sky := color.RGBA{uint8(120 + rnd.Intn(60)), uint8(160 + rnd.Intn(60)), 230, 255}
	ground := color.RGBA{uint8(90 + rnd.Intn(40)), uint8(90 + rnd.Intn(40)), uint8(90 + rnd.Intn(40)), 255}
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			c := sky
			if y > 100 {
				c = ground
			}
			if dx, dy := x-160-rnd.Intn(3), y-170; dx*dx/4+dy*dy < 900 {
				c = color.RGBA{30, 30, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70})
	return buf.Bytes()
}
