package open311

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
)

// Error is one entry of the spec's errors/error list.
type Error struct {
	Code        int    `xml:"code" json:"code"`
	Description string `xml:"description" json:"description"`
}

// apiError is an Open311 error answer: an HTTP status and one or more
// errors/error entries ("the body is an array, so several errors can be returned").
type apiError struct {
	Status     int
	Errors     []Error
	RetryAfter int // seconds, for 429
}

func (e *apiError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, x := range e.Errors {
		parts[i] = x.Description
	}
	return fmt.Sprintf("open311 %d: %s", e.Status, strings.Join(parts, "; "))
}

// newError returns an error answer with one entry whose code is the HTTP status.
func newError(status int, description string) *apiError {
	return &apiError{Status: status, Errors: []Error{{Code: status, Description: description}}}
}

// badParam is a 400 naming the parameter: "param: message".
func badParam(param, msg string) *apiError {
	return newError(http.StatusBadRequest, param+": "+msg)
}

func notFound(msg string) *apiError { return newError(http.StatusNotFound, msg) }

func forbidden(msg string) *apiError { return newError(http.StatusForbidden, msg) }

// paramOfField maps a requests field (as the workflow's validation names it)
// to the Open311 POST parameter a client sent it as.
var paramOfField = map[string]string{
	"service":       "service_code",
	"location":      "lat",
	"address":       "address_string",
	"address_id":    "address_id",
	"description":   "description",
	"media_url":     "media_url",
	"contact_name":  "first_name",
	"contact_email": "email",
	"contact_phone": "phone",
	"device_id":     "device_id",
	"account_id":    "account_id",
	"photos":        "media_url",
	"message":       "description",
	"request":       "service_request_id",
}

// fromValidation turns the workflow's (or PocketBase's) validation errors into
// one 400 entry per parameter, sorted, so a client sees every problem at once.
// Form answers ({"answers": {"size": ...}}) become attribute[size].
func fromValidation(err error) (*apiError, bool) {
	var verrs validation.Errors
	if !errors.As(err, &verrs) {
		var ve validation.Error
		if errors.As(err, &ve) {
			return badParam("request", ve.Error()), true
		}
		return nil, false
	}
	out := &apiError{Status: http.StatusBadRequest}
	var add func(prefix string, errs validation.Errors)
	add = func(prefix string, errs validation.Errors) {
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			param := k
			if prefix != "" {
				param = prefix + "[" + k + "]"
			} else if p, ok := paramOfField[k]; ok {
				param = p
			}
			if nested, ok := errs[k].(validation.Errors); ok {
				if k == "answers" {
					add("attribute", nested)
				} else {
					add(param, nested)
				}
				continue
			}
			// Error() renders the message's {{.max}}-style parameters
			msg := errs[k].Error()
			out.Errors = append(out.Errors, Error{Code: http.StatusBadRequest, Description: param + ": " + msg})
		}
	}
	add("", verrs)
	if len(out.Errors) == 0 {
		return nil, false
	}
	return out, true
}
