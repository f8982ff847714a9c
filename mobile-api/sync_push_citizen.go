package mobileapi

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The citizen's side of the conversation (docs/sync-protocol.md §"Mutations").
// A reply to the city's question is a plain request.comment: hooks/ moves a
// waiting_citizen request back to in_progress. These add the rest.
const (
	MutationEdit     = "request.edit"
	MutationNotFixed = "request.notFixed"
	MutationRate     = "request.rate"
)

// editArgs are the args of request.edit: only the fields present change.
type editArgs struct {
	RequestID   string          `json:"requestId"`
	Answers     json.RawMessage `json:"answers"`
	Description *string         `json:"description"`
	Address     *string         `json:"address"`
	Location    json.RawMessage `json:"location"` // null clears it (RawMessage keeps the null)
}

// notFixedArgs are the args of request.notFixed.
type notFixedArgs struct {
	EventID   string `json:"eventId"`
	RequestID string `json:"requestId"`
	Message   string `json:"message"`
}

// rateArgs are the args of request.rate (the outcome questionnaire).
type rateArgs struct {
	RequestID    string `json:"requestId"`
	Solved       string `json:"solved"`
	Satisfaction int    `json:"satisfaction"`
	Speed        string `json:"speed"`
	Comment      string `json:"comment"`
}

func (a *editArgs) check() *mutationError {
	if !recordIDPattern.MatchString(a.RequestID) {
		return &mutationError{Code: "invalid_args", Field: "requestId", Message: "requestId must be 15 characters of a-z and 0-9."}
	}
	if a.Answers == nil && a.Description == nil && a.Address == nil && a.Location == nil {
		return &mutationError{Code: "invalid_args", Message: "request.edit needs at least one of answers, description, address, location."}
	}
	return nil
}

func (a *notFixedArgs) check() *mutationError {
	if !recordIDPattern.MatchString(a.EventID) {
		return &mutationError{Code: "invalid_args", Field: "eventId", Message: "eventId must be 15 characters of a-z and 0-9."}
	}
	if !recordIDPattern.MatchString(a.RequestID) {
		return &mutationError{Code: "invalid_args", Field: "requestId", Message: "requestId must be 15 characters of a-z and 0-9."}
	}
	if strings.TrimSpace(a.Message) == "" {
		return &mutationError{Code: "validation_failed", Field: "message", Message: "Say what is not fixed."}
	}
	return nil
}

func (a *rateArgs) check() *mutationError {
	if !recordIDPattern.MatchString(a.RequestID) {
		return &mutationError{Code: "invalid_args", Field: "requestId", Message: "requestId must be 15 characters of a-z and 0-9."}
	}
	return nil // the collection's fields validate the answers on save
}

// parseCitizenMutation decodes the mutations of this file (ok=false: not one of them).
func parseCitizenMutation(m Mutation) (parsedMutation, bool) {
	var dst interface{ check() *mutationError }
	var p parsedMutation
	switch m.Name {
	case MutationEdit:
		p.edit = &editArgs{}
		dst = p.edit
	case MutationNotFixed:
		p.notFixed = &notFixedArgs{}
		dst = p.notFixed
	case MutationRate:
		p.rate = &rateArgs{}
		dst = p.rate
	default:
		return p, false
	}
	if rej := decodeArgs(m.Args, dst); rej != nil {
		return parsedMutation{invalid: rej}, true
	}
	p.invalid = dst.check()
	return p, true
}

// applyCitizenMutation runs a parsed mutation of this file inside tx.
func applyCitizenMutation(tx core.App, actor workflow.Actor, p parsedMutation) error {
	switch {
	case p.edit != nil:
		return applyEdit(tx, actor, p.edit)
	case p.notFixed != nil:
		return applyNotFixed(tx, actor, p.notFixed)
	case p.rate != nil:
		return applyRate(tx, actor, p.rate)
	}
	return errors.New("apply: mutation without parsed args")
}

// applyEdit changes the fields present; hooks/ allows it only while received
// and validates it like a new request.
func applyEdit(tx core.App, actor workflow.Actor, a *editArgs) error {
	rec, err := ownRequest(tx, actor, a.RequestID)
	if err != nil {
		return err
	}
	if a.Answers != nil {
		var answers map[string]any
		if err := json.Unmarshal(a.Answers, &answers); err != nil {
			return reject("invalid_args", "answers", "answers must be an object keyed by question code.")
		}
		rec.Set("answers", answers)
	}
	if a.Description != nil {
		rec.Set("description", strings.TrimSpace(*a.Description))
	}
	if a.Address != nil {
		rec.Set("address", strings.TrimSpace(*a.Address))
	}
	if a.Location != nil {
		var loc *struct {
			Lat float64 `json:"lat"`
			Lon float64 `json:"lon"`
		}
		if err := json.Unmarshal(a.Location, &loc); err != nil {
			return reject("invalid_args", "location", "location must be {lat, lon} or null.")
		}
		if loc == nil {
			rec.Set("location", types.GeoPoint{})
		} else {
			rec.Set("location", types.GeoPoint{Lat: loc.Lat, Lon: loc.Lon})
		}
	}
	workflow.AttachActor(rec, actor)
	return tx.Save(rec)
}

// applyNotFixed writes the owner's `not_fixed` event; hooks/ checks the
// service's window and reopens the request or marks it for a clerk.
func applyNotFixed(tx core.App, actor workflow.Actor, a *notFixedArgs) error {
	return saveOwnEvent(tx, actor, a.EventID, a.RequestID, "not_fixed", strings.TrimSpace(a.Message))
}

// applyRate stores (or replaces) the owner's rating of a resolved request.
func applyRate(tx core.App, actor workflow.Actor, a *rateArgs) error {
	if _, err := ownRequest(tx, actor, a.RequestID); err != nil {
		return err
	}
	rec, err := tx.FindFirstRecordByData("request_ratings", "request", a.RequestID)
	if errors.Is(err, sql.ErrNoRows) {
		col, cerr := tx.FindCachedCollectionByNameOrId("request_ratings")
		if cerr != nil {
			return fmt.Errorf("request_ratings collection: %w", cerr)
		}
		rec = core.NewRecord(col)
		rec.Set("request", a.RequestID)
	} else if err != nil {
		return fmt.Errorf("look up rating of %s: %w", a.RequestID, err)
	}
	rec.Set("solved", a.Solved)
	rec.Set("satisfaction", a.Satisfaction)
	rec.Set("speed", a.Speed)
	rec.Set("comment", strings.TrimSpace(a.Comment))
	workflow.AttachActor(rec, actor)
	return tx.Save(rec)
}
