package console

import (
	"fmt"
	"net/http"
	"net/mail"
	"time"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/mailer"
	"github.com/robfig/cron/v3"
)

// Notification kinds (staff_notifications.kind).
const (
	KindAssigned       = "assigned"
	KindCitizenReplied = "citizen_replied"
	KindDueSoon        = "due_soon"
)

// DueSoonWindow is how long before its due time an assignee is warned.
const DueSoonWindow = 4 * time.Hour

// Hook ids of the notification handlers.
const (
	HookIDNotifyAssignCreate = "civicdesk.console.notifyAssignCreate"
	HookIDNotifyAssignUpdate = "civicdesk.console.notifyAssignUpdate"
	HookIDNotifyReply        = "civicdesk.console.notifyReply"
	HookIDCronStart          = "civicdesk.console.cronStart"
	HookIDCronStop           = "civicdesk.console.cronStop"
)

// notifyPriority runs inside hooks/' handlers (priority -50), so e.App is the
// write's transaction and a notification commits or rolls back with it.
const notifyPriority = 10

// Notify writes one notification row through txApp.
func Notify(txApp core.App, staffID, kind string, req *core.Record, message string) error {
	if staffID == "" {
		return nil
	}
	col, err := txApp.FindCachedCollectionByNameOrId("staff_notifications")
	if err != nil {
		return fmt.Errorf("staff_notifications: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"staff": staffID, "kind": kind, "request": req.Id, "message": message})
	if err := txApp.Save(rec); err != nil {
		return fmt.Errorf("notify %s of %s: %w", staffID, req.Id, err)
	}
	// staff who opted in to web push get it on their devices too (the outbox commits with the row)
	cfg := city.Of(txApp)
	n, err := push.EnqueueStaff(txApp, staffID, req.Id, func(lang string) push.Payload {
		t := staffPushTexts[kind].In(cfg.MatchLang(lang), "en")
		return push.Payload{Title: fmt.Sprintf(t, req.GetString("number")), URL: cfg.PublicURL + "/staff/#/requests/" + req.Id, Request: req.GetString("number"), Tag: "staff-" + req.Id}
	}, time.Now(), push.DefaultTTL)
	if err != nil {
		return err
	}
	if n > 0 {
		workflow.AfterCommit(txApp, func() { push.Poke(txApp) })
	}
	return nil
}

// staffPushTexts are the web push titles of staff notifications (no personal data).
var staffPushTexts = map[string]workflow.Localized{
	KindAssigned:       {"it": "Assegnata a te: %s", "en": "Assigned to you: %s", "sv": "Tilldelat dig: %s", "et": "Sulle määratud: %s", "hu": "Önre osztva: %s"},
	KindCitizenReplied: {"it": "Il cittadino ha risposto: %s", "en": "The citizen replied: %s", "sv": "Medborgaren har svarat: %s", "et": "Kodanik vastas: %s", "hu": "Az ügyfél válaszolt: %s"},
	KindDueSoon:        {"it": "In scadenza: %s", "en": "Due soon: %s", "sv": "Förfaller snart: %s", "et": "Tähtaeg läheneb: %s", "hu": "Hamarosan lejár: %s"},
}

func bindNotifications(app core.App) {
	assigned := func(e *core.RecordEvent, before string) error {
		after := e.Record.GetString("assignee")
		if after == "" || after == before || after == workflow.ActorOf(e.Record).ID {
			return nil // nobody new, or they took it themselves
		}
		return Notify(e.App, after, KindAssigned, e.Record, e.Record.GetString("number"))
	}
	app.OnRecordCreate("requests").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookIDNotifyAssignCreate, Priority: notifyPriority,
		Func: func(e *core.RecordEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			return assigned(e, "")
		},
	})
	app.OnRecordUpdate("requests").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookIDNotifyAssignUpdate, Priority: notifyPriority,
		Func: func(e *core.RecordEvent) error {
			before := e.Record.Original().GetString("assignee")
			if err := e.Next(); err != nil {
				return err
			}
			return assigned(e, before)
		},
	})
	app.OnRecordCreate("request_events").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookIDNotifyReply, Priority: notifyPriority,
		Func: func(e *core.RecordEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			ev := e.Record
			if ev.GetString("author_type") != "citizen" || ev.GetString("type") != "comment" {
				return nil
			}
			req, err := e.App.FindRecordById("requests", ev.GetString("request"))
			if err != nil {
				return fmt.Errorf("reply's request: %w", err)
			}
			msg := ev.GetString("message")
			if len([]rune(msg)) > 200 {
				msg = string([]rune(msg)[:200]) + "…"
			}
			return Notify(e.App, req.GetString("assignee"), KindCitizenReplied, req, msg)
		},
	})
}

// DueSoon warns the assignees of open requests due within DueSoonWindow, once per request.
func DueSoon(app core.App, now time.Time) (int, error) {
	var rows []struct {
		ID       string `db:"id"`
		Assignee string `db:"assignee"`
	}
	open, op := openStatusParams()
	err := app.DB().NewQuery("SELECT [[id]], [[assignee]] FROM [[requests]] WHERE " + open + " AND [[due_at]] >= {:now} AND [[due_at]] < {:soon} AND [[assignee]] != '' " +
		"AND NOT EXISTS (SELECT 1 FROM [[staff_notifications]] [[n]] WHERE [[n]].[[request]] = [[requests]].[[id]] AND [[n]].[[kind]] = 'due_soon')").
		Bind(mergeParams(op, dbx.Params{"now": dbTime(now), "soon": dbTime(now.Add(DueSoonWindow))})).All(&rows)
	if err != nil {
		return 0, fmt.Errorf("due soon: %w", err)
	}
	n := 0
	for _, r := range rows {
		err := app.RunInTransaction(func(tx core.App) error {
			req, err := tx.FindRecordById("requests", r.ID)
			if err != nil {
				return err
			}
			return Notify(tx, r.Assignee, KindDueSoon, req, req.GetDateTime("due_at").Time().In(city.Of(tx).Location).Format("15:04"))
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Digest mails each department its morning numbers (open, unassigned, due
// today, overdue, waiting for the citizen), after any transaction; without
// SMTP each digest is written to the app log instead.
func Digest(app core.App, now time.Time) (int, error) {
	cfg := city.Of(app)
	depts, err := app.FindAllRecords("departments")
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, d := range depts {
		c, err := CountQueue(app.DB(), Scope{Departments: []string{d.Id}}, now, cfg.Location)
		if err != nil {
			return sent, err
		}
		var open int
		o, op := openStatusParams()
		if err := app.DB().NewQuery("SELECT COUNT(*) FROM [[requests]] WHERE [[department]] = {:d} AND " + o).Bind(mergeParams(op, dbx.Params{"d": d.Id})).Row(&open); err != nil {
			return sent, err
		}
		text := fmt.Sprintf("%s — %s\n\nOpen: %d\nUnassigned: %d\nDue today: %d\nOverdue: %d\nWaiting for the citizen: %d\n\n%s/staff/\n",
			d.GetString("name"), now.In(cfg.Location).Format("2006-01-02"), open, c.Unassigned, c.DueToday, c.Overdue, c.WaitingCitizen, cfg.PublicURL)
		to := digestRecipients(app, d)
		if !app.Settings().SMTP.Enabled || len(to) == 0 {
			app.Logger().Info("civicdesk: department digest (no SMTP)", "department", d.GetString("code"), "open", open,
				"unassigned", c.Unassigned, "dueToday", c.DueToday, "overdue", c.Overdue, "waitingCitizen", c.WaitingCitizen)
			continue
		}
		s := app.Settings()
		msg := &mailer.Message{
			From:    mail.Address{Name: s.Meta.SenderName, Address: s.Meta.SenderAddress},
			To:      to,
			Subject: fmt.Sprintf("[%s] %s: %d open, %d overdue", cfg.Name, d.GetString("name"), open, c.Overdue),
			Text:    text,
		}
		if err := app.NewMailClient().Send(msg); err != nil {
			app.Logger().Error("civicdesk: department digest not sent", "department", d.GetString("code"), "error", err.Error())
			continue
		}
		sent++
	}
	return sent, nil
}

// digestRecipients are the department's address and its clerks.
func digestRecipients(app core.App, d *core.Record) []mail.Address {
	var to []mail.Address
	if e := d.GetString("email"); e != "" {
		to = append(to, mail.Address{Name: d.GetString("name"), Address: e})
	}
	staff, _ := app.FindRecordsByFilter("staff", "departments ~ {:d}", "", 0, 0, dbx.Params{"d": d.Id})
	for _, s := range staff {
		if s.Email() != "" {
			to = append(to, mail.Address{Name: s.GetString("name"), Address: s.Email()})
		}
	}
	return to
}

// startCron runs the console's schedule in the city's time zone: due-soon
// warnings every 15 minutes, the department digest at 07:00.
func startCron(app core.App) *cron.Cron {
	c := cron.New(cron.WithLocation(city.Of(app).Location), cron.WithChain(cron.Recover(cron.DefaultLogger), cron.SkipIfStillRunning(cron.DefaultLogger)))
	_, _ = c.AddFunc("*/15 * * * *", func() {
		if n, err := DueSoon(app, time.Now()); err != nil {
			app.Logger().Error("civicdesk: due-soon warnings failed", "error", err.Error(), "written", n)
		}
	})
	_, _ = c.AddFunc("0 7 * * *", func() {
		if _, err := Digest(app, time.Now()); err != nil {
			app.Logger().Error("civicdesk: department digest failed", "error", err.Error())
		}
	})
	c.Start()
	return c
}

const cronStoreKey = "civicdesk.console.cron"

func bindCron(app core.App) {
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookIDCronStart,
		Func: func(se *core.ServeEvent) error {
			if _, ok := se.App.Store().GetOk(cronStoreKey); !ok {
				se.App.Store().Set(cronStoreKey, startCron(se.App))
			}
			return se.Next()
		},
	})
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: HookIDCronStop,
		Func: func(e *core.TerminateEvent) error {
			if c, ok := e.App.Store().Get(cronStoreKey).(*cron.Cron); ok {
				e.App.Store().Remove(cronStoreKey)
				<-c.Stop().Done()
			}
			return e.Next()
		},
	})
}

// NotificationOut is one notification on the wire.
type NotificationOut struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Request NumberRef `json:"request"`
	Message string    `json:"message"`
	Created string    `json:"created"`
	Read    bool      `json:"read"`
}

func handleNotifications(e *core.RequestEvent) error {
	params := dbx.Params{"me": e.Auth.Id}
	where := "[[n]].[[staff]] = {:me}"
	if a := e.Request.URL.Query().Get("after"); a != "" {
		t, err := time.Parse(time.RFC3339Nano, a)
		if err != nil {
			return e.BadRequestError("Invalid after.", validation.Errors{"after": validation.NewError("validation_invalid_date", "after is an RFC 3339 time (the created of the newest notification you have).")})
		}
		where += " AND [[n]].[[created]] > {:after}"
		params["after"] = dbTime(t)
	}
	if e.Request.URL.Query().Get("unread") == "1" {
		where += " AND [[n]].[[read]] = FALSE"
	}
	var rows []struct {
		ID      string `db:"id"`
		Kind    string `db:"kind"`
		Request string `db:"request"`
		Number  string `db:"number"`
		Message string `db:"message"`
		Created string `db:"created"`
		Read    bool   `db:"read"`
	}
	err := e.App.DB().NewQuery("SELECT [[n]].[[id]], [[n]].[[kind]], [[n]].[[request]], COALESCE([[r]].[[number]], '') AS [[number]], [[n]].[[message]], [[n]].[[created]], [[n]].[[read]] " +
		"FROM [[staff_notifications]] [[n]] LEFT JOIN [[requests]] [[r]] ON [[r]].[[id]] = [[n]].[[request]] WHERE " + where +
		" ORDER BY [[n]].[[created]] DESC, [[n]].[[id]] DESC LIMIT 100").Bind(params).All(&rows)
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]NotificationOut, 0, len(rows))
	for _, r := range rows {
		out = append(out, NotificationOut{ID: r.ID, Kind: r.Kind, Request: NumberRef{ID: r.Request, Number: r.Number}, Message: r.Message, Created: wireTime(r.Created), Read: r.Read})
	}
	return e.JSON(http.StatusOK, out)
}

func handleNotificationsRead(e *core.RequestEvent) error {
	var body struct {
		IDs []string `json:"ids"`
		All bool     `json:"all"`
	}
	if err := e.BindBody(&body); err != nil || (len(body.IDs) == 0 && !body.All) || len(body.IDs) > 500 {
		return e.BadRequestError("Invalid body.", validation.Errors{"ids": validation.NewError("validation_required", "Give ids (at most 500) or all: true.")})
	}
	filter := dbx.And(dbx.HashExp{"staff": e.Auth.Id, "read": false})
	if !body.All {
		filter = dbx.And(filter, dbx.In("id", toAny(body.IDs)...))
	}
	// through app.Save, so realtime tells the caller's other tabs
	err := e.App.RunInTransaction(func(tx core.App) error {
		recs, err := tx.FindAllRecords("staff_notifications", filter)
		if err != nil {
			return err
		}
		for _, r := range recs {
			r.Set("read", true)
			if err := tx.Save(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.NoContent(http.StatusNoContent)
}
