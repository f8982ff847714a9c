package mobileapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Push limits (CONTRACT §4.1): beyond either, 413 and nothing is applied.
const (
	MaxPushBytes     = 1 << 20
	MaxPushMutations = 100
)

// Mutation names.
const (
	MutationCreate  = "request.create"
	MutationComment = "request.comment"
	MutationCancel  = "request.cancel"
)

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	recordIDPattern = regexp.MustCompile(`^[a-z0-9]{15}$`)
)

// PushRequest is the body of POST /api/mobile/sync/push.
type PushRequest struct {
	ClientID  string     `json:"clientID"`
	Mutations []Mutation `json:"mutations"`
}

// Mutation is one named write of a client's queue. Args stay raw until the
// mutation is applied: a malformed argument rejects that mutation only.
type Mutation struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"`
	ClientTime string          `json:"clientTime"`
	Args       json.RawMessage `json:"args"`
}

// RequestError is a push or pull body that cannot be processed at all
// (as opposed to one mutation being rejected).
type RequestError struct {
	Status  int
	Field   string
	Message string
}

// Error implements error.
func (e *RequestError) Error() string { return e.Message }

// ParsePushBody decodes and checks a push body: size, JSON shape, clientID,
// mutation count and ids. It does not look at the mutations' args.
func ParsePushBody(body []byte) (*PushRequest, error) {
	if len(body) > MaxPushBytes {
		return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Field: "", Message: fmt.Sprintf("A push may carry at most %d bytes.", MaxPushBytes)}
	}
	var req PushRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return nil, &RequestError{Status: http.StatusBadRequest, Message: "The body is not a valid push: " + jsonProblem(err)}
	}
	if dec.More() {
		return nil, &RequestError{Status: http.StatusBadRequest, Message: "The body has data after the push object."}
	}
	if !clientIDPattern.MatchString(req.ClientID) {
		return nil, &RequestError{Status: http.StatusBadRequest, Field: "clientID", Message: "clientID must be 1-64 characters of A-Z, a-z, 0-9, _ and -."}
	}
	if len(req.Mutations) > MaxPushMutations {
		return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Field: "mutations", Message: fmt.Sprintf("A push may carry at most %d mutations.", MaxPushMutations)}
	}
	for i, m := range req.Mutations {
		if m.ID < 1 {
			return nil, &RequestError{Status: http.StatusBadRequest, Field: fmt.Sprintf("mutations.%d.id", i), Message: "Mutation ids start at 1."}
		}
		if i > 0 && m.ID <= req.Mutations[i-1].ID {
			return nil, &RequestError{Status: http.StatusBadRequest, Field: fmt.Sprintf("mutations.%d.id", i), Message: "Mutation ids must increase within a push."}
		}
	}
	return &req, nil
}

func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Sprintf("%s has the wrong type.", typeErr.Field)
	}
	return "malformed JSON."
}

// clientTimeOf returns the mutation's clientTime if it is a valid RFC 3339
// time (informational only: never used to order or filter), else "".
func clientTimeOf(m Mutation) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(m.ClientTime))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// createArgs are the args of request.create.
type createArgs struct {
	RequestID   string         `json:"requestId"`
	Service     string         `json:"service"`
	Answers     map[string]any `json:"answers"`
	Description string         `json:"description"`
	Location    *struct {
		Lat float64 `json:"lat"`
		Lon float64 `json:"lon"`
	} `json:"location"`
	Address     string   `json:"address"`
	Attachments []string `json:"attachments"`
	// Receipt is the `received` receipt code the phone got for this request
	// before the server was restored: its number is kept when it is free.
	Receipt string `json:"receipt"`
}

// commentArgs are the args of request.comment.
type commentArgs struct {
	EventID   string `json:"eventId"`
	RequestID string `json:"requestId"`
	Message   string `json:"message"`
}

// cancelArgs are the args of request.cancel.
type cancelArgs struct {
	RequestID string `json:"requestId"`
}

// maxAttachments is the photo limit of a request (CONTRACT §4.3).
const maxAttachments = 5

// decodeArgs decodes a mutation's args into dst, refusing unknown fields so a
// typo does not silently drop data.
func decodeArgs(raw json.RawMessage, dst any) *mutationError {
	if len(raw) == 0 {
		return &mutationError{Code: "invalid_args", Message: "The mutation has no args."}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return &mutationError{Code: "invalid_args", Message: "The mutation's args are invalid: " + err.Error()}
	}
	return nil
}

func (a *createArgs) check() *mutationError {
	if !recordIDPattern.MatchString(a.RequestID) {
		return &mutationError{Code: "invalid_args", Field: "requestId", Message: "requestId must be 15 characters of a-z and 0-9."}
	}
	if a.Service == "" {
		return &mutationError{Code: "validation_failed", Field: "service", Message: "Choose a service."}
	}
	if len(a.Attachments) > maxAttachments {
		return &mutationError{Code: "validation_failed", Field: "attachments", Message: fmt.Sprintf("At most %d photos per request.", maxAttachments)}
	}
	if len(a.Receipt) > maxReceiptArg {
		return &mutationError{Code: "invalid_args", Field: "receipt", Message: fmt.Sprintf("receipt may have at most %d characters.", maxReceiptArg)}
	}
	seen := map[string]bool{}
	for _, id := range a.Attachments {
		if !clientIDPattern.MatchString(id) || seen[id] {
			return &mutationError{Code: "invalid_args", Field: "attachments", Message: "attachments must be distinct ids of 1-64 characters of A-Z, a-z, 0-9, _ and -."}
		}
		seen[id] = true
	}
	return nil
}

func (a *commentArgs) check() *mutationError {
	if !recordIDPattern.MatchString(a.EventID) {
		return &mutationError{Code: "invalid_args", Field: "eventId", Message: "eventId must be 15 characters of a-z and 0-9."}
	}
	if !recordIDPattern.MatchString(a.RequestID) {
		return &mutationError{Code: "invalid_args", Field: "requestId", Message: "requestId must be 15 characters of a-z and 0-9."}
	}
	return nil
}

func (a *cancelArgs) check() *mutationError {
	if !recordIDPattern.MatchString(a.RequestID) {
		return &mutationError{Code: "invalid_args", Field: "requestId", Message: "requestId must be 15 characters of a-z and 0-9."}
	}
	return nil
}
