package open311

import (
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// FixMyStreet's update statuses (UPPERCASE on POST, lowercase on GET).
var fmsStatuses = []string{
	"unchanged", "open", "closed", "fixed", "in_progress", "planned", "action_scheduled", "investigating",
	"duplicate", "not_councils_responsibility", "no_further_action", "internal_referral", "cancelled",
	"reopen", "for_triage",
}

// maxUpdateID bounds FixMyStreet's update_id (its comment ids are integers).
const maxUpdateID = 100

// maxUpdateMessage is request_events.message's limit.
const maxUpdateMessage = 2000

// requestUpdate is one entry of GET servicerequestupdates.
type requestUpdate struct {
	UpdateID           string `xml:"update_id" json:"update_id"`
	ServiceRequestID   string `xml:"service_request_id" json:"service_request_id"`
	Status             string `xml:"status" json:"status"`
	UpdatedDatetime    string `xml:"updated_datetime" json:"updated_datetime"`
	Description        string `xml:"description" json:"description"`
	MediaURL           string `xml:"media_url" json:"media_url"`
	ExternalStatusCode string `xml:"external_status_code,omitempty" json:"external_status_code,omitempty"`
}

// updateAnswer is POST servicerequestupdates' answer entry.
type updateAnswer struct {
	UpdateID  string `xml:"update_id" json:"update_id"`
	AccountID string `xml:"account_id,omitempty" json:"account_id,omitempty"`
}

// updates answers GET servicerequestupdates.{fmt}: the city's public updates
// (status changes and public notes; a citizen's own comments stay private) of
// listed requests between start_date and end_date (at most 90 days), oldest
// first, so FixMyStreet can follow the reports it sent.
func (c *call) updates() *apiError {
	if _, ae := c.getPrologue(); ae != nil {
		return ae
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}
	start, end, ae := c.window("start_date", "end_date", time.Now(), true)
	if ae != nil {
		return ae
	}
	var rows []struct {
		eventRow
		Number string `db:"number"`
	}
	q := c.e.App.DB().Select("e.id", "e.request", "e.type", "e.from_status", "e.to_status", "e.message", "e.author_type", "e.created", "r.number").
		From("request_events e").InnerJoin("requests r", dbx.NewExp("r.id = e.request")).
		Where(dbx.HashExp{"e.public": true}).
		AndWhere(dbx.In("e.type", "status", "comment")).
		AndWhere(dbx.NewExp("COALESCE(e.[[author_type]], '') != 'citizen'")).
		AndWhere(dbx.NewExp("e.[[created]] >= {:start} AND e.[[created]] <= {:end}", dbx.Params{"start": dbTime(start), "end": dbTime(end)})).
		AndWhere(c.visible(cat))
	if err := q.OrderBy("e.created ASC", "e.id ASC").Limit(MaxRequests).All(&rows); err != nil {
		c.e.App.Logger().Error("open311: list updates", "error", err)
		return newError(http.StatusInternalServerError, "The server could not read the updates.")
	}
	out := make([]requestUpdate, 0, len(rows))
	for _, r := range rows {
		u := requestUpdate{
			UpdateID: r.ID, ServiceRequestID: r.Number, UpdatedDatetime: formatTime(r.Created.Time(), c.cfg.Location),
			Description: publicMessage(r.eventRow), Status: "unchanged",
		}
		if r.Type == "status" {
			u.Status, u.ExternalStatusCode = fmsStatus(r.ToStatus), r.ToStatus
		}
		out = append(out, u)
	}
	return c.writeList("service_request_updates", "request_update", out)
}

// postUpdate handles POST servicerequestupdates.{fmt}: an update relayed by
// an API client (FixMyStreet sends its users' updates) becomes a public
// comment in the request's timeline, written through the workflow with the
// client as actor (author_type open311). The status it carries is recorded in
// the message, never applied: the city's clerks decide transitions. update_id
// is the idempotency key: the same key and update_id again answers the first
// answer and writes nothing, however many arrive at once.
func (c *call) postUpdate(cl *client, f *form) *apiError {
	var errs []Error
	for _, p := range []string{"service_request_id", "update_id", "status", "updated_datetime", "description"} {
		if !f.has(p) {
			errs = append(errs, Error{Code: http.StatusBadRequest, Description: p + ": required."})
		}
	}
	if len(errs) > 0 {
		return &apiError{Status: http.StatusBadRequest, Errors: errs}
	}
	updateID := f.get("update_id")
	if len(updateID) > maxUpdateID || strings.ContainsAny(updateID, "\r\n\t") {
		return badParam("update_id", "at most 100 characters on one line.")
	}
	status := strings.ToLower(f.get("status"))
	if !slices.Contains(fmsStatuses, status) {
		return badParam("status", "unknown status "+quote(f.get("status"))+"; want one of "+strings.ToUpper(strings.Join(fmsStatuses, ", "))+".")
	}
	if _, ok := parseW3C(f.get("updated_datetime"), c.cfg.Location); !ok {
		return badParam("updated_datetime", "want a W3C date-time with a zone.")
	}
	desc := f.get("description")
	if utf8.RuneCountInString(desc) > maxUpdateMessage {
		return badParam("description", "at most 2,000 characters.")
	}
	cat, ae := c.catalogue()
	if ae != nil {
		return ae
	}

	var answer updateAnswer
	var apiErr *apiError
	err := c.e.App.RunInTransaction(func(tx core.App) error {
		apiErr = nil
		if prev, ok, err := storedUpdate(tx, cl.ID, updateID); err != nil || ok {
			answer = prev
			return err
		}
		req, err := tx.FindFirstRecordByData("requests", "number", f.get("service_request_id"))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !updatable(cat, req, cl)) {
			apiErr = notFound("service_request_id: no request " + quote(f.get("service_request_id")) + ".")
			return nil
		}
		if err != nil {
			return err
		}
		col, err := tx.FindCachedCollectionByNameOrId("request_events")
		if err != nil {
			return err
		}
		ev := core.NewRecord(col)
		msg := desc
		if status != "unchanged" {
			msg = "[" + strings.ToUpper(status) + "] " + desc
			if utf8.RuneCountInString(msg) > maxUpdateMessage {
				msg = desc
			}
		}
		ev.Load(map[string]any{"request": req.Id, "type": "comment", "message": msg})
		workflow.AttachActor(ev, workflow.Actor{Kind: workflow.ActorOpen311, ID: cl.ID})
		if err := tx.Save(ev); err != nil {
			if ae, ok := fromValidation(err); ok {
				apiErr = ae
				return errRollback
			}
			return err
		}
		logCol, err := tx.FindCachedCollectionByNameOrId("open311_updates")
		if err != nil {
			return err
		}
		row := core.NewRecord(logCol)
		row.Load(map[string]any{"api_client": cl.ID, "update_id": updateID, "request": req.Id, "event": ev.Id, "status": status})
		if err := tx.Save(row); err != nil {
			return err
		}
		answer = updateAnswer{UpdateID: ev.Id}
		return nil
	})
	if errors.Is(err, errRollback) {
		return apiErr
	}
	if err != nil {
		// a unique-index race (another server process) leaves the first answer stored
		if prev, ok, err2 := storedUpdate(c.e.App, cl.ID, updateID); err2 == nil && ok {
			answer = prev
		} else {
			c.e.App.Logger().Error("open311: post update", "error", err, "api_client", cl.ID)
			return newError(http.StatusInternalServerError, "The server could not store the update; try again later.")
		}
	}
	if apiErr != nil {
		return apiErr
	}
	answer.AccountID = f.get("account_id")
	return c.writeList("service_request_updates", "request_update", []updateAnswer{answer})
}

// errRollback rolls a transaction back for a refusal that has its own answer.
var errRollback = errors.New("open311: rolled back")

// updatable reports whether an API client may add updates to req: a request
// of a public service, or one the client filed itself.
func updatable(cat *catalogue, req *core.Record, cl *client) bool {
	if s := cat.byID[req.GetString("service")]; s != nil && s.public() {
		return true
	}
	return req.GetString("api_client") == cl.ID
}

// storedUpdate returns the first answer to (client, update_id), if any.
func storedUpdate(app core.App, clientID, updateID string) (updateAnswer, bool, error) {
	var event string
	err := app.DB().NewQuery("SELECT COALESCE([[event]], '') FROM [[open311_updates]] WHERE [[api_client]] = {:c} AND [[update_id]] = {:u}").
		Bind(dbx.Params{"c": clientID, "u": updateID}).Row(&event)
	if errors.Is(err, sql.ErrNoRows) {
		return updateAnswer{}, false, nil
	}
	if err != nil {
		return updateAnswer{}, false, err
	}
	return updateAnswer{UpdateID: event}, true, nil
}
