package mobileapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/pocketbase/pocketbase/tools/types"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Result statuses of a mutation.
const (
	ResultApplied   = "applied"
	ResultRejected  = "rejected"
	ResultDuplicate = "duplicate"
)

// mutationError is why a mutation was rejected; stored and returned again for duplicates.
type mutationError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// mutationResult is one entry of the push response.
type mutationResult struct {
	ID     int64          `json:"id"`
	Status string         `json:"status"`
	Error  *mutationError `json:"error,omitempty"`
}

// pushResponse is the (advisory) body of a successful push.
type pushResponse struct {
	LastMutationID int64            `json:"lastMutationID"`
	Results        []mutationResult `json:"results"`
}

var (
	errClientForeign = errors.New("clientID belongs to another citizen")
	// errRedo rolls a batch back after a rejection so the rejected mutation's
	// partial writes vanish; the batch is then re-run with that mutation recorded only.
	errRedo = errors.New("redo batch without the rejected mutation")
)

// transientError is a failure worth retrying (busy or failing storage): the
// transaction rolls back and the client gets 503 with Retry-After.
type transientError struct{ err error }

func (e *transientError) Error() string { return "transient: " + e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// gapError stops a push at a mutation id beyond lastMutationID+1.
type gapError struct{ last int64 }

func (e *gapError) Error() string { return fmt.Sprintf("mutation gap after %d", e.last) }

// handlePush answers POST /api/mobile/sync/push.
func handlePush(e *core.RequestEvent) error {
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, MaxPushBytes+1))
	if err != nil {
		return e.BadRequestError("Failed to read the body.", err)
	}
	req, err := ParsePushBody(body)
	if err != nil {
		return requestErrorResponse(e, err)
	}

	resp, err := Push(e.App, e.Auth.Id, req)
	var gap *gapError
	switch {
	case err == nil:
		return e.JSON(http.StatusOK, resp)
	case errors.Is(err, errClientForeign):
		return e.ForbiddenError("This clientID is bound to another account; start a new installation id.", nil)
	case errors.As(err, &gap):
		return e.JSON(http.StatusConflict, map[string]any{
			"status":  http.StatusConflict,
			"message": fmt.Sprintf("Mutation ids must follow %d without gaps; send the mutations from %d on.", gap.last, gap.last+1),
			"data":    map[string]any{"code": "mutation_gap", "lastMutationID": gap.last, "results": resp.Results},
		})
	case isTransient(err):
		e.App.Logger().Warn("sync push: transient failure", "clientID", req.ClientID, "error", err)
		e.Response.Header().Set("Retry-After", "1")
		return router.NewApiError(http.StatusServiceUnavailable, "The server is busy; retry the push shortly.", nil)
	default:
		return e.InternalServerError("Failed to apply the push.", err)
	}
}

func requestErrorResponse(e *core.RequestEvent, err error) error {
	var re *RequestError
	if !errors.As(err, &re) {
		return e.BadRequestError("Invalid body.", err)
	}
	var data any
	if re.Field != "" {
		data = validation.Errors{re.Field: validation.NewError("validation_invalid_value", re.Message)}
	}
	return router.NewApiError(re.Status, re.Message, data)
}

// Push applies a client's mutations exactly once, in id order. Runs of
// accepted mutations commit together with their results and the client's
// lastMutationID; a rejected mutation's writes are rolled back and only its
// result and the lastMutationID advance are committed. The response is
// advisory: the acknowledgement is pull's lastMutationID.
func Push(app core.App, citizenID string, req *PushRequest) (*pushResponse, error) {
	resp := &pushResponse{Results: make([]mutationResult, 0, len(req.Mutations))}
	known := map[int]*mutationError{} // index -> rejection found by an earlier attempt
	services := map[string]string{}   // service code or id -> id, for this push
	parsed := make([]parsedMutation, len(req.Mutations))
	for i, m := range req.Mutations {
		parsed[i] = parseMutation(m)
	}
	start := 0
	for start < len(req.Mutations) || (start == 0 && len(req.Mutations) == 0) {
		var batch []mutationResult
		var results []storedMutation // written together, before lastMutationID advances
		var end int
		var lmid int64
		err := app.RunInTransaction(func(tx core.App) error {
			batch, results, end = batch[:0], results[:0], start
			var err error
			lmid, err = bindClient(tx, req.ClientID, citizenID)
			if err != nil {
				return err
			}
			first := lmid
			for i := start; i < len(req.Mutations); i++ {
				m := req.Mutations[i]
				if m.ID <= lmid {
					batch = append(batch, storedResult(tx, req.ClientID, m.ID))
					end = i + 1
					continue
				}
				if m.ID > lmid+1 {
					break
				}
				rej, isKnown := known[i]
				if !isKnown && parsed[i].invalid != nil {
					rej = parsed[i].invalid // refused before writing anything: no rollback needed
				} else if !isKnown {
					var err error
					rej, err = applyMutation(tx, citizenID, m, parsed[i], services)
					if err != nil {
						return err
					}
					if rej != nil {
						known[i] = rej
						return errRedo
					}
				}
				results = append(results, storedMutation{m: m, rej: rej})
				status := ResultApplied
				if rej != nil {
					status = ResultRejected
				}
				batch = append(batch, mutationResult{ID: m.ID, Status: status, Error: rej})
				lmid, end = m.ID, i+1
				if isKnown {
					break // commit the rejection now; the rest goes in the next batch
				}
			}
			if err := storeResults(tx, req.ClientID, results); err != nil {
				return err
			}
			if lmid != first {
				if _, err := tx.DB().NewQuery("UPDATE [[sync_clients]] SET [[last_mutation_id]] = {:lmid}, [[updated]] = {:now} WHERE [[client_id]] = {:id}").
					Bind(dbx.Params{"lmid": lmid, "now": types.NowDateTime().String(), "id": req.ClientID}).Execute(); err != nil {
					return fmt.Errorf("advance lastMutationID: %w", err)
				}
			}
			return nil
		})
		if errors.Is(err, errRedo) {
			continue
		}
		if err != nil {
			if isTransient(err) {
				return resp, &transientError{err}
			}
			return resp, err
		}
		resp.Results = append(resp.Results, batch...)
		resp.LastMutationID = lmid
		if end < len(req.Mutations) && end == start {
			return resp, &gapError{last: lmid} // the next mutation is beyond lastMutationID+1
		}
		start = end
		if len(req.Mutations) == 0 {
			break
		}
	}
	return resp, nil
}

// bindClient returns the client's lastMutationID, binding an unknown clientID
// to citizenID; a clientID bound to someone else is refused.
func bindClient(tx core.App, clientID, citizenID string) (int64, error) {
	var row struct {
		Citizen string `db:"citizen"`
		LMID    int64  `db:"last_mutation_id"`
	}
	err := tx.DB().NewQuery("SELECT [[citizen]], [[last_mutation_id]] FROM [[sync_clients]] WHERE [[client_id]] = {:id}").
		Bind(dbx.Params{"id": clientID}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.DB().NewQuery("INSERT INTO [[sync_clients]] ([[client_id]], [[citizen]]) VALUES ({:id}, {:c})").
			Bind(dbx.Params{"id": clientID, "c": citizenID}).Execute()
		if err != nil {
			return 0, fmt.Errorf("bind client: %w", err)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load client: %w", err)
	}
	if row.Citizen != citizenID {
		return 0, errClientForeign
	}
	return row.LMID, nil
}

// storedResult answers a mutation that was already processed.
func storedResult(tx core.App, clientID string, id int64) mutationResult {
	var row struct {
		Status  string `db:"status"`
		Code    string `db:"error_code"`
		Message string `db:"error_message"`
		Field   string `db:"error_field"`
	}
	res := mutationResult{ID: id, Status: ResultDuplicate}
	err := tx.DB().NewQuery("SELECT [[status]], [[error_code]], [[error_message]], [[error_field]] FROM [[sync_results]] WHERE [[client_id]] = {:c} AND [[mutation_id]] = {:m}").
		Bind(dbx.Params{"c": clientID, "m": id}).One(&row)
	if err == nil && row.Status == ResultRejected {
		res.Error = &mutationError{Code: row.Code, Message: row.Message, Field: row.Field}
	}
	return res
}

// storedMutation is a processed mutation whose result the transaction stores.
type storedMutation struct {
	m   Mutation
	rej *mutationError
}

// storeResults stores the results of a transaction's mutations (what a
// duplicate is answered with) with one INSERT: a push of 20 mutations
// writes 20 rows through one statement instead of 20.
func storeResults(tx core.App, clientID string, results []storedMutation) error {
	if len(results) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO [[sync_results]] ([[client_id]], [[mutation_id]], [[name]], [[status]], [[error_code]], [[error_message]], [[error_field]], [[client_time]]) VALUES ")
	params := dbx.Params{"c": clientID}
	for i, r := range results {
		status, code, msg, field := ResultApplied, "", "", ""
		if r.rej != nil {
			status, code, msg, field = ResultRejected, r.rej.Code, r.rej.Message, r.rej.Field
		}
		clientTime := ""
		if t, ok := clientTimeOf(r.m); ok {
			clientTime = t.Format(time.RFC3339Nano)
		}
		n := strconv.Itoa(i)
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("({:c}, {:m" + n + "}, {:n" + n + "}, {:s" + n + "}, {:code" + n + "}, {:msg" + n + "}, {:field" + n + "}, {:ct" + n + "})")
		params["m"+n], params["n"+n], params["s"+n] = r.m.ID, truncate(r.m.Name, 64), status
		params["code"+n], params["msg"+n], params["field"+n], params["ct"+n] = code, truncate(msg, 1000), field, clientTime
	}
	if _, err := tx.DB().NewQuery(q.String()).Bind(params).Execute(); err != nil {
		return fmt.Errorf("store results of mutations %d-%d: %w", results[0].m.ID, results[len(results)-1].m.ID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// parsedMutation is a mutation's args decoded and checked, or why they are not.
type parsedMutation struct {
	create  *createArgs
	comment *commentArgs
	cancel  *cancelArgs
	ext     *extMutation // a mutation registered by another room (RegisterMutation)
	// request.edit, request.notFixed, request.rate (sync_push_citizen.go)
	edit     *editArgs
	notFixed *notFixedArgs
	rate     *rateArgs
	invalid  *mutationError
}

// parseMutation decodes and checks m's args. It runs before the transaction,
// so the single writer is not held while JSON is decoded.
func parseMutation(m Mutation) parsedMutation {
	switch m.Name {
	case MutationCreate:
		a := &createArgs{}
		if rej := decodeArgs(m.Args, a); rej != nil {
			return parsedMutation{invalid: rej}
		}
		return parsedMutation{create: a, invalid: a.check()}
	case MutationComment:
		a := &commentArgs{}
		if rej := decodeArgs(m.Args, a); rej != nil {
			return parsedMutation{invalid: rej}
		}
		return parsedMutation{comment: a, invalid: a.check()}
	case MutationCancel:
		a := &cancelArgs{}
		if rej := decodeArgs(m.Args, a); rej != nil {
			return parsedMutation{invalid: rej}
		}
		return parsedMutation{cancel: a, invalid: a.check()}
	default:
		if p, ok := parseRegistered(m); ok {
			return p
		}
		if p, ok := parseCitizenMutation(m); ok {
			return p
		}
		return parsedMutation{invalid: &mutationError{Code: "unknown_mutation", Message: fmt.Sprintf("Unknown mutation %q.", truncate(m.Name, 64))}}
	}
}

// applyMutation performs one parsed mutation inside tx. It returns a
// rejection for permanent problems (validation, permission, conflicts) and an
// error for failures that must abort the transaction.
func applyMutation(tx core.App, citizenID string, m Mutation, p parsedMutation, services map[string]string) (*mutationError, error) {
	if p.invalid != nil {
		return p.invalid, nil
	}
	actor := workflow.Actor{Kind: workflow.ActorCitizen, ID: citizenID}
	switch {
	case p.create != nil:
		return classify(applyCreate(tx, actor, m, p.create, services))
	case p.comment != nil:
		return classify(applyComment(tx, actor, p.comment))
	case p.ext != nil:
		return classify(p.ext.h.Apply(tx, citizenID, m, p.ext.args))
	case p.cancel == nil:
		return classify(applyCitizenMutation(tx, actor, p))
	default:
		return classify(applyCancel(tx, actor, p.cancel))
	}
}

// rejection is a permanent refusal raised by the apply functions.
type rejection struct{ mutationError }

func (r *rejection) Error() string { return r.Message }

func reject(code, field, msg string) error {
	return &rejection{mutationError{Code: code, Field: field, Message: msg}}
}

func applyCreate(tx core.App, actor workflow.Actor, m Mutation, a *createArgs, services map[string]string) error {
	// one narrow read for both questions: is the id taken (by whom), and did
	// photos for it arrive before the create (nothing else writes uploads in
	// this transaction, so the answer holds after the Save)
	var probe struct {
		Citizen sql.NullString `db:"citizen"` // NULL: no such request
		Uploads bool           `db:"uploads"`
	}
	err := tx.DB().NewQuery("SELECT (SELECT COALESCE([[citizen]], '') FROM [[requests]] WHERE [[id]] = {:r}) AS [[citizen]], " +
		"EXISTS (SELECT 1 FROM [[sync_uploads]] WHERE [[citizen]] = {:c} AND [[request_id]] = {:r}) AS [[uploads]]").
		Bind(dbx.Params{"r": a.RequestID, "c": actor.ID}).One(&probe)
	if err != nil {
		return fmt.Errorf("look up request %s: %w", a.RequestID, err)
	}
	if probe.Citizen.Valid {
		if probe.Citizen.String != actor.ID {
			return reject("conflict", "requestId", "This requestId is already taken; generate a new one.")
		}
		// the same request re-sent under a new mutation id (e.g. a restored outbox): already done
		existing, err := tx.FindRecordById("requests", a.RequestID)
		if err != nil {
			return fmt.Errorf("look up request %s: %w", a.RequestID, err)
		}
		return attachReady(tx, existing, actor, a.Attachments)
	}

	serviceID, ok := services[a.Service]
	kept := ""
	if !ok || a.Receipt != "" {
		svc, err := findService(tx, a.Service)
		if err != nil {
			return err
		}
		serviceID, services[a.Service] = svc.ID, svc.ID
		kept = keptNumber(tx, actor.ID, svc.Code, a.Receipt)
	}
	col, err := tx.FindCachedCollectionByNameOrId("requests")
	if err != nil {
		return fmt.Errorf("requests collection: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Id = a.RequestID
	rec.Set("citizen", actor.ID)
	rec.Set("service", serviceID)
	if a.Answers != nil {
		rec.Set("answers", a.Answers)
	}
	rec.Set("description", a.Description)
	if a.Location != nil {
		rec.Set("location", types.GeoPoint{Lon: a.Location.Lon, Lat: a.Location.Lat})
	}
	rec.Set("address", a.Address)
	rec.Set("source", "app")
	if t, ok := clientTimeOf(m); ok {
		rec.Set("reported_at", t) // informational only: never used to order or filter
	}
	workflow.AttachActor(rec, actor)
	workflow.SetPendingPhotos(rec, len(a.Attachments))
	if kept != "" {
		workflow.SetKeptNumber(rec, kept) // re-pushed after a restore: keep the receipt's number
	}
	if err := tx.Save(rec); err != nil {
		return err
	}
	if len(a.Attachments) == 0 && !probe.Uploads {
		return nil
	}
	// reload: the saved record holds the hooks' in-memory values (e.g. normalized
	// answers) that would read as changes on the photo update
	saved, err := tx.FindRecordById("requests", rec.Id)
	if err != nil {
		return fmt.Errorf("reload request %s: %w", rec.Id, err)
	}
	return attachReady(tx, saved, actor, a.Attachments)
}

// serviceRef is what a push needs of a service: its id and code.
type serviceRef struct {
	ID   string `db:"id"`
	Code string `db:"code"`
}

// findService accepts a service code (what the catalogue shows) or its id.
// A narrow read: the service record also carries large localized texts.
func findService(tx core.App, codeOrID string) (*serviceRef, error) {
	svc := &serviceRef{}
	err := tx.DB().NewQuery("SELECT [[id]], COALESCE([[code]], '') AS [[code]] FROM [[services]] WHERE [[code]] = {:v} OR [[id]] = {:v} ORDER BY ([[code]] = {:v}) DESC LIMIT 1").
		Bind(dbx.Params{"v": codeOrID}).One(svc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, reject("validation_failed", "service", "No such service.")
	}
	if err != nil {
		return nil, fmt.Errorf("load service: %w", err)
	}
	return svc, nil
}

func applyComment(tx core.App, actor workflow.Actor, a *commentArgs) error {
	return saveOwnEvent(tx, actor, a.EventID, a.RequestID, "comment", a.Message)
}

// saveOwnEvent writes the citizen's public event of type typ with message on
// their own request, under the client-chosen eventID; the same event sent
// again is a no-op (exactly once), an id taken by anything else a conflict.
// Through app.Save: it is the citizen's text, checked by hooks/.
func saveOwnEvent(tx core.App, actor workflow.Actor, eventID, requestID, typ, message string) error {
	existing, err := tx.FindRecordById("request_events", eventID)
	switch {
	case err == nil:
		if existing.GetString("author") == actor.ID && existing.GetString("request") == requestID {
			return nil // already there
		}
		return reject("conflict", "eventId", "This eventId is already taken; generate a new one.")
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("look up event %s: %w", eventID, err)
	}
	if _, err := ownRequest(tx, actor, requestID); err != nil {
		return err
	}
	col, err := tx.FindCachedCollectionByNameOrId("request_events")
	if err != nil {
		return fmt.Errorf("request_events collection: %w", err)
	}
	ev := core.NewRecord(col)
	ev.Id = eventID
	ev.Set("request", requestID)
	ev.Set("type", typ)
	ev.Set("message", message)
	ev.Set("public", true)
	workflow.AttachActor(ev, actor)
	return tx.Save(ev)
}

func applyCancel(tx core.App, actor workflow.Actor, a *cancelArgs) error {
	rec, err := ownRequest(tx, actor, a.RequestID)
	if err != nil {
		return err
	}
	if rec.GetString("status") == workflow.StatusCancelled {
		return nil // cancelling twice is the same as once
	}
	rec.Set("status", workflow.StatusCancelled)
	workflow.AttachActor(rec, actor)
	return tx.Save(rec)
}

// ownRequest loads a request of the actor; someone else's looks like a missing one.
func ownRequest(tx core.App, actor workflow.Actor, id string) (*core.Record, error) {
	rec, err := tx.FindRecordById("requests", id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && rec.GetString("citizen") != actor.ID) {
		return nil, reject("not_found", "requestId", "No such request.")
	}
	if err != nil {
		return nil, fmt.Errorf("load request %s: %w", id, err)
	}
	return rec, nil
}

// classify turns an apply error into a rejection (permanent) or an error
// (transient or unexpected: the transaction must roll back).
func classify(err error) (*mutationError, error) {
	if err == nil {
		return nil, nil
	}
	if isTransient(err) {
		return nil, err
	}
	var rej *rejection
	if errors.As(err, &rej) {
		m := rej.mutationError
		return &m, nil
	}
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		return fromValidation(verrs), nil
	}
	var verr validation.Error
	if errors.As(err, &verr) {
		return &mutationError{Code: "validation_failed", Message: verr.Error()}, nil
	}
	var te *workflow.TransitionError
	if errors.As(err, &te) {
		return &mutationError{Code: te.Code, Message: te.Message, Field: "status"}, nil
	}
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) && apiErr.Status < 500 {
		return &mutationError{Code: "rejected", Message: apiErr.Message}, nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		return &mutationError{Code: "conflict", Message: "The mutation conflicts with existing data."}, nil
	}
	// an unexpected error must not wedge the client's queue forever: reject it
	// (the client shows it) and leave a trace for the operators
	return &mutationError{Code: "server_error", Message: "The server could not apply this change."}, nil
}

// fromValidation maps the hooks' field errors to a rejection naming the
// first field; a refused status change is invalid_transition.
func fromValidation(verrs validation.Errors) *mutationError {
	fields := make([]string, 0, len(verrs))
	for f := range verrs {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	f := fields[0]
	msg := verrs[f].Error()
	code := "validation_failed"
	if ve, ok := verrs[f].(validation.Error); ok {
		msg = ve.Message()
		if f == "status" && strings.HasSuffix(ve.Code(), "invalid_transition") {
			code = "invalid_transition"
		}
	}
	if len(msg) > 0 {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return &mutationError{Code: code, Field: f, Message: msg}
}

// isTransient reports whether err is worth a retry: the database is busy or
// locked, or storage failed. Constraint violations are not transient.
func isTransient(err error) bool {
	var te *transientError
	if errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) {
		return true // a query that ran out of time (e.g. waiting for the writer) may succeed later
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
			return true
		}
	}
	return false
}
