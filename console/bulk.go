package console

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// MaxBulk is the most requests one bulk action may touch.
const MaxBulk = 100

// bulkFields are the request fields a bulk patch may set.
var bulkFields = []string{"status", "status_note", "assignee", "priority"}

// BulkResult is the outcome of one row of a bulk action.
type BulkResult struct {
	ID    string     `json:"id"`
	OK    bool       `json:"ok"`
	Error *BulkError `json:"error,omitempty"`
}

// BulkError says why one row was not changed.
type BulkError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type bulkBody struct {
	IDs   []string       `json:"ids"`
	Patch map[string]any `json:"patch"`
	Note  *struct {
		Message string `json:"message"`
		Public  bool   `json:"public"`
	} `json:"note"`
}

func handleBulk(e *core.RequestEvent) error {
	var body bulkBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("The body must be {ids, patch, note}.", err)
	}
	errs := validation.Errors{}
	seen := map[string]bool{}
	var ids []string
	for _, id := range body.IDs {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		errs["ids"] = validation.NewError("validation_required", "Select at least one request.")
	case len(ids) > MaxBulk:
		errs["ids"] = validation.NewError("validation_too_many", fmt.Sprintf("At most %d requests at once.", MaxBulk))
	}
	for k, v := range body.Patch {
		if !containsString(bulkFields, k) {
			errs["patch"] = validation.NewError("validation_field_not_allowed", fmt.Sprintf("A bulk action cannot set %s; it sets status, status_note, assignee and priority.", k))
			break
		}
		if _, ok := v.(string); !ok {
			errs["patch"] = validation.NewError("validation_not_string", fmt.Sprintf("%s must be a string.", k))
		}
	}
	if len(body.Patch) == 0 && body.Note == nil {
		errs["patch"] = validation.NewError("validation_required", "Give a patch, a note, or both.")
	}
	if body.Note != nil && strings.TrimSpace(body.Note.Message) == "" {
		errs["note"] = validation.NewError("validation_required", "Write the note.")
	}
	if len(errs) > 0 {
		return e.BadRequestError("Invalid bulk action.", errs)
	}

	info, err := e.RequestInfo()
	if err != nil {
		return e.BadRequestError("", err)
	}
	actor := workflow.ActorFromAuth(e.Auth)
	results := make([]BulkResult, 0, len(ids))
	for _, id := range ids {
		results = append(results, bulkRow(e.App, info, actor, id, body))
	}
	return e.JSON(http.StatusOK, map[string]any{"results": results})
}

// bulkRow applies the action to one request in its own transaction.
func bulkRow(app core.App, info *core.RequestInfo, actor workflow.Actor, id string, body bulkBody) BulkResult {
	err := app.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindRecordById("requests", id)
		if err != nil {
			return router.NewNotFoundError("No such request.", nil)
		}
		// the records API's rules: see it to touch it, and its update rule
		if ok, _ := tx.CanAccessRecord(rec, info, rec.Collection().ViewRule); !ok {
			return router.NewNotFoundError("No such request.", nil)
		}
		if len(body.Patch) > 0 {
			if ok, _ := tx.CanAccessRecord(rec, info, rec.Collection().UpdateRule); !ok {
				return router.NewForbiddenError("You may not change this request.", nil)
			}
			for k, v := range body.Patch {
				rec.Set(k, v)
			}
			workflow.AttachActor(rec, actor)
			if err := tx.Save(rec); err != nil {
				return err
			}
		}
		if body.Note != nil {
			col, err := tx.FindCachedCollectionByNameOrId("request_events")
			if err != nil {
				return err
			}
			ev := core.NewRecord(col)
			ev.Load(map[string]any{"request": rec.Id, "type": "comment", "message": body.Note.Message, "public": body.Note.Public})
			workflow.AttachActor(ev, actor)
			if err := tx.Save(ev); err != nil {
				return prefixFields(err, "note.")
			}
		}
		return nil
	})
	if err == nil {
		return BulkResult{ID: id, OK: true}
	}
	return BulkResult{ID: id, Error: bulkError(err)}
}

// prefixFields renames field errors (the note's "message" becomes "note.message").
func prefixFields(err error, prefix string) error {
	var verrs validation.Errors
	if !errors.As(err, &verrs) {
		return err
	}
	out := validation.Errors{}
	for k, v := range verrs {
		out[prefix+k] = v
	}
	return out
}

func bulkError(err error) *BulkError {
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) {
		code := "error"
		if c, ok := apiErr.Data["code"].(string); ok {
			code = c
		} else if apiErr.Status == http.StatusNotFound {
			code = "not_found"
		} else if apiErr.Status == http.StatusForbidden {
			code = "forbidden"
		}
		return &BulkError{Code: code, Message: apiErr.Message}
	}
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		fields := make([]string, 0, len(verrs))
		for k := range verrs {
			fields = append(fields, k)
		}
		sort.Strings(fields)
		f := fields[0]
		be := &BulkError{Code: "validation_invalid_value", Message: verrs[f].Error(), Field: f}
		var ve validation.Error
		if errors.As(verrs[f], &ve) {
			be.Code = ve.Code()
		}
		return be
	}
	return &BulkError{Code: "error", Message: "The change could not be saved."}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
