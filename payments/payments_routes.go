package payments

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Route paths (docs/payments.md "API").
const (
	PathAssess     = "/api/payments/requests/{id}/fee"
	PathWaive      = "/api/payments/fees/{id}/waive"
	PathRefund     = "/api/payments/fees/{id}/refund"
	PathReopen     = "/api/payments/fees/{id}/reopen"
	PathFeeQR      = "/api/payments/fees/{id}/qr.png"
	PathStatements = "/api/payments/statements"
	PathResolve    = "/api/payments/exceptions/{id}/resolve"
)

// actionBodyLimit caps the JSON bodies of the staff actions.
const actionBodyLimit = 8 << 10

func bindRoutes(se *core.ServeEvent) {
	se.Router.POST(PathAssess, handleAssess).Bind(apis.RequireAuth("staff", core.CollectionNameSuperusers), apis.BodyLimit(actionBodyLimit))
	se.Router.POST(PathWaive, handleWaive).Bind(requireSupervisor(), apis.BodyLimit(actionBodyLimit))
	se.Router.POST(PathRefund, handleRefund).Bind(requireSupervisor(), apis.BodyLimit(actionBodyLimit))
	se.Router.POST(PathReopen, handleReopen).Bind(requireSupervisor(), apis.BodyLimit(actionBodyLimit))
	se.Router.POST(PathResolve, handleResolve).Bind(requireSupervisor(), apis.BodyLimit(actionBodyLimit))
	se.Router.POST(PathStatements, handleStatement).Bind(requireSupervisor(), apis.BodyLimit(MaxStatementSize+1<<20))
	se.Router.GET(PathFeeQR, handleFeeQR).Bind(apis.RequireAuth())
}

// requireSupervisor lets supervisors and superusers through.
func requireSupervisor() *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id: "civicdeskPaymentsSupervisor",
		Func: func(e *core.RequestEvent) error {
			a := workflow.ActorFromAuth(e.Auth)
			if e.Auth == nil {
				return e.UnauthorizedError("Sign in as a supervisor.", nil)
			}
			if a.Kind == workflow.ActorSuperuser || (a.Kind == workflow.ActorStaff && a.Role == workflow.RoleSupervisor) {
				return e.Next()
			}
			return e.ForbiddenError("Only a supervisor can do this.", nil)
		},
	}
}

// readJSON decodes a small JSON body into dst, naming the problem.
func readJSON(e *core.RequestEvent, dst any) error {
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, actionBodyLimit+1))
	if err != nil {
		return e.BadRequestError("Failed to read the body.", err)
	}
	if len(body) > actionBodyLimit {
		return e.Error(http.StatusRequestEntityTooLarge, fmt.Sprintf("The body may have at most %d bytes.", actionBodyLimit), nil)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		return e.BadRequestError("The body is not valid JSON for this action: "+err.Error(), nil)
	}
	return nil
}

func fieldError(e *core.RequestEvent, field, code, msg string) error {
	return e.BadRequestError(msg, validation.Errors{field: validation.NewError(code, msg)})
}

// loadFeeFor finds a fee the caller may see (its view rule), or answers 404.
func loadFeeFor(e *core.RequestEvent, app core.App, id string) (*core.Record, error) {
	fee, err := app.FindRecordById(collFees, id)
	if err != nil {
		return nil, e.NotFoundError("No such fee.", nil)
	}
	if e.Auth == nil || !e.Auth.IsSuperuser() {
		info, err := e.RequestInfo()
		if err != nil {
			return nil, e.BadRequestError("", err)
		}
		ok, err := app.CanAccessRecord(fee, info, fee.Collection().ViewRule)
		if err != nil || !ok {
			return nil, e.NotFoundError("No such fee.", nil)
		}
	}
	return fee, nil
}

// handleAssess: a clerk of the request's department sets the fee of a
// request whose service has an assessed fee: {"amount": "25.00", "currency": "EUR"}.
func handleAssess(e *core.RequestEvent) error {
	req, err := e.App.FindRecordById(collRequests, e.Request.PathValue("id"))
	if err != nil {
		return e.NotFoundError("No such request.", nil)
	}
	if !e.Auth.IsSuperuser() {
		info, err := e.RequestInfo()
		if err != nil {
			return e.BadRequestError("", err)
		}
		ok, err := e.App.CanAccessRecord(req, info, req.Collection().UpdateRule)
		if err != nil || !ok {
			return e.NotFoundError("No such request.", nil)
		}
	}
	var body struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}
	if err := readJSON(e, &body); err != nil {
		return err
	}
	svc, err := e.App.FindRecordById(collServices, req.GetString("service"))
	if err != nil {
		return e.InternalServerError("The request's service is missing.", err)
	}
	if feeMode(svc) != ModeAssessed {
		return fieldError(e, "amount", "validation_fee_not_assessed", "This service's fee is not assessed by staff (it is "+feeMode(svc)+").")
	}
	cur := body.Currency
	if cur == "" {
		cur = svc.GetString("currency")
	}
	if cur == "" {
		return fieldError(e, "currency", "validation_required", "The service has no currency: give one (ISO 4217).")
	}
	amount, err := ParseAmount(body.Amount, cur)
	if err != nil {
		return fieldError(e, "amount", "validation_invalid_amount", err.Error())
	}
	if amount <= 0 {
		return fieldError(e, "amount", "validation_invalid_amount", "The fee must be more than zero.")
	}
	actor := workflow.ActorFromAuth(e.Auth)
	var fee *core.Record
	err = e.App.RunInTransaction(func(tx core.App) error {
		existing, err := feeOfRequest(tx, req.Id)
		if err != nil {
			return err
		}
		if existing != nil {
			return &ConflictError{Msg: "This request's fee was already assessed (" + existing.GetString("state") + ")."}
		}
		if fee, err = CreateFee(tx, req, amount, cur, svc.GetInt("fee_due_days"), actor); err != nil {
			return err
		}
		r, err := tx.FindRecordById(collRequests, req.Id)
		if err != nil {
			return err
		}
		r.Set("fee", amount)
		r.Set("currency", cur)
		workflow.AttachActor(r, workflow.System)
		return tx.Save(r)
	})
	if err != nil {
		return actionError(e, err)
	}
	return respondFee(e, fee.Id)
}

// actionError maps an action's error to the PocketBase error shape.
func actionError(e *core.RequestEvent, err error) error {
	var ce *ConflictError
	var pe *ParseError
	var ve validation.Errors
	switch {
	case errors.As(err, &ce):
		return e.Error(http.StatusConflict, ce.Msg, nil)
	case errors.As(err, &pe):
		return e.BadRequestError(pe.Error(), validation.Errors{"file": validation.NewError("validation_statement", pe.Msg)})
	case errors.As(err, &ve):
		return e.BadRequestError("The change was refused.", ve)
	}
	return e.BadRequestError("The change was refused: "+err.Error(), nil)
}

// handleWaive: {"reason": "..."} (required), for a due, pending or expired fee.
func handleWaive(e *core.RequestEvent) error {
	// the access check first: RequestInfo reads the body, which readJSON then rereads
	fee, err := loadFeeFor(e, e.App, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(e, &body); err != nil {
		return err
	}
	reason := strings.TrimSpace(body.Reason)
	if reason == "" || len(reason) > 500 {
		return fieldError(e, "reason", "validation_required", "A waiver needs a reason (at most 500 characters).")
	}
	actor := workflow.ActorFromAuth(e.Auth)
	err = e.App.RunInTransaction(func(tx core.App) error {
		f, err := tx.FindRecordById(collFees, fee.Id)
		if err != nil {
			return err
		}
		if st := f.GetString("state"); !IsOpen(st) && st != StateExpired {
			return &ConflictError{Msg: "Only a due, pending or expired fee can be waived; this one is " + st + "."}
		}
		f.Set("waived_at", time.Now().UTC())
		f.Set("waived_reason", reason)
		if err := Recompute(tx, f, nil); err != nil {
			return err
		}
		fee = f
		if err := addFeeEvent(tx, f.GetString("request"), actor, "The fee was waived.", true); err != nil {
			return err
		}
		return addFeeEvent(tx, f.GetString("request"), actor, "Fee waived by "+actor.ID+": "+reason, false)
	})
	if err != nil {
		return actionError(e, err)
	}
	return respondFee(e, fee.Id)
}

// handleRefund records money the city paid back: {"amount": "25.00", "note": "...", "key": "..."}.
// The key (optional) makes a retried call a no-op.
func handleRefund(e *core.RequestEvent) error {
	fee, err := loadFeeFor(e, e.App, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	var body struct {
		Amount   string `json:"amount"`
		Note     string `json:"note"`
		Key      string `json:"key"`
		Evidence string `json:"evidence"`
	}
	if err := readJSON(e, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Note) == "" || len(body.Note) > 500 {
		return fieldError(e, "note", "validation_required", "A refund needs a note (why, and how it was paid back; at most 500 characters).")
	}
	if len(body.Key) > 100 || len(body.Evidence) > 200 {
		return fieldError(e, "key", "validation_too_long", "key has at most 100 and evidence at most 200 characters.")
	}
	amount, err := ParseAmount(body.Amount, fee.GetString("currency"))
	if err != nil || amount <= 0 {
		msg := "The refund must be more than zero."
		if err != nil {
			msg = err.Error()
		}
		return fieldError(e, "amount", "validation_invalid_amount", msg)
	}
	key := body.Key
	if key == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		key = hex.EncodeToString(b)
	}
	actor := workflow.ActorFromAuth(e.Auth)
	err = e.App.RunInTransaction(func(tx core.App) error {
		f, err := tx.FindRecordById(collFees, fee.Id)
		if err != nil {
			return err
		}
		fee = f
		if done, err := tx.FindFirstRecordByData(collLedger, "source_key", "refund:"+f.Id+":"+key); err == nil && done != nil {
			return nil // a retried call: already booked
		}
		s, err := sums(tx, f.Id)
		if err != nil {
			return err
		}
		if amount > s.Credits-s.Refunds {
			return validation.Errors{"amount": validation.NewError("validation_refund_too_large", fmt.Sprintf("At most %s %s can be refunded (received less refunds).", f.GetString("currency"), FormatAmount(s.Credits-s.Refunds, f.GetString("currency"))))}
		}
		booked, err := Book(tx, f, Entry{Kind: LedgerRefund, Amount: amount, Currency: f.GetString("currency"), SourceKey: "refund:" + f.Id + ":" + key,
			Source: "manual", Method: bankMethod(f.GetString("currency")), Evidence: body.Evidence, Note: body.Note, Actor: actor})
		if err != nil {
			return err
		}
		fee = f
		if !booked {
			return nil
		}
		return addFeeEvent(tx, f.GetString("request"), actor, fmt.Sprintf("Refund of %s %s recorded by %s: %s", f.GetString("currency"), FormatAmount(amount, f.GetString("currency")), actor.ID, body.Note), false)
	})
	if err != nil {
		return actionError(e, err)
	}
	return respondFee(e, fee.Id)
}

// handleReopen makes an expired fee due again, with the same reference and a new due date.
func handleReopen(e *core.RequestEvent) error {
	fee, err := loadFeeFor(e, e.App, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	actor := workflow.ActorFromAuth(e.Auth)
	err = e.App.RunInTransaction(func(tx core.App) error {
		f, err := tx.FindRecordById(collFees, fee.Id)
		if err != nil {
			return err
		}
		if f.GetString("state") != StateExpired && f.GetString("state") != StateWaived {
			return &ConflictError{Msg: "Only an expired or waived fee can be reopened; this one is " + f.GetString("state") + "."}
		}
		if err := reopen(tx, f); err != nil {
			return err
		}
		fee = f
		return addFeeEvent(tx, f.GetString("request"), actor, "The fee is due again, with a new due date.", true)
	})
	if err != nil {
		return actionError(e, err)
	}
	return respondFee(e, fee.Id)
}

// handleFeeQR renders the fee's payment code (level M) for whoever may see the fee.
func handleFeeQR(e *core.RequestEvent) error {
	fee, err := loadFeeFor(e, e.App, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	var in Instruction
	if err := fee.UnmarshalJSONField("instruction", &in); err != nil || in.QR == "" {
		return e.NotFoundError("This fee has no payment QR code; pay with the account and reference shown.", nil)
	}
	png, err := QRPNG(in.QR, 512)
	if err != nil {
		return e.InternalServerError("Failed to draw the payment code.", err)
	}
	e.Response.Header().Set("Cache-Control", "private, max-age=86400")
	return e.Blob(http.StatusOK, "image/png", png)
}

// handleStatement imports a camt.053/054 file: the raw XML as the body, or
// multipart form field `file`.
func handleStatement(e *core.RequestEvent) error {
	var r io.Reader = e.Request.Body
	name := ""
	if strings.HasPrefix(e.Request.Header.Get("Content-Type"), "multipart/form-data") {
		f, h, err := e.Request.FormFile("file")
		if err != nil {
			return fieldError(e, "file", "validation_required", "Send the statement as form field `file`.")
		}
		defer f.Close()
		r, name = f, h.Filename
	}
	res, err := Import(e.App, r, name, workflow.ActorFromAuth(e.Auth))
	if err != nil {
		return actionError(e, err)
	}
	return e.JSON(http.StatusOK, res)
}

// handleResolve: {"action": "match"|"refund"|"accept", "fee": "<id>" (match), "note": "..."}.
func handleResolve(e *core.RequestEvent) error {
	var body struct {
		Action string `json:"action"`
		Fee    string `json:"fee"`
		Note   string `json:"note"`
	}
	if err := readJSON(e, &body); err != nil {
		return err
	}
	if len(body.Note) > 500 {
		return fieldError(e, "note", "validation_too_long", "A note has at most 500 characters.")
	}
	res, err := Resolve(e.App, e.Request.PathValue("id"), body.Action, body.Fee, body.Note, workflow.ActorFromAuth(e.Auth))
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fieldError(e, fe.Field, "validation_"+fe.Code, fe.Msg)
		}
		return actionError(e, err)
	}
	return e.JSON(http.StatusOK, res)
}

// respondFee answers with the fee as stored.
func respondFee(e *core.RequestEvent, id string) error {
	fee, err := e.App.FindRecordById(collFees, id)
	if err != nil {
		return e.InternalServerError("The fee was saved but cannot be read back.", err)
	}
	return e.JSON(http.StatusOK, fee)
}
