package websec

import (
	"net/url"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// validateURLFields refuses any URL field value that is not an http or https
// address, in every collection and on every write path: a stored
// `javascript:` or `data:` link would run in whichever app renders it as a
// link (PocketBase's own URL check accepts other schemes).
func validateURLFields(e *core.RecordEvent) error {
	errs := validation.Errors{}
	for _, f := range e.Record.Collection().Fields {
		if _, ok := f.(*core.URLField); !ok {
			continue
		}
		if v := strings.TrimSpace(e.Record.GetString(f.GetName())); v != "" && !isWebURL(v) {
			errs[f.GetName()] = validation.NewError("validation_url_scheme", "Must be an http or https address.")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return e.Next()
}

// isWebURL reports whether raw is an absolute http(s) URL with a host.
func isWebURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	s := strings.ToLower(u.Scheme)
	return s == "http" || s == "https"
}
