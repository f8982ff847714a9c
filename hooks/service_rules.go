package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// serviceRules is what the workflow needs of a service: a narrow read (the
// service record also carries large localized texts the workflow never uses).
type serviceRules struct {
	ID         string `db:"id"`
	Code       string `db:"code"`
	Active     bool   `db:"active"`
	Department string `db:"department"`
	Fields     string `db:"fields"`
	Location   string `db:"location"`
	Photos     string `db:"photos"`
	Fee        int    `db:"fee"`
	Currency   string `db:"currency"`
	SLAHours   int    `db:"sla_hours"`
	Updated    string `db:"updated"`
}

// formCache keeps the parsed form of each service with the version (updated)
// it was parsed from, so a busy service's schema is parsed once per edit, and
// the cache holds one entry per service.
var formCache sync.Map // service id -> cachedForm

type cachedForm struct {
	version string
	fields  []workflow.FormField
}

// loadService returns the request's service rules or a validation error naming the field.
func loadService(app core.App, id string) (*serviceRules, error) {
	if id == "" {
		return nil, validation.Errors{"service": validation.NewError("validation_required", "Choose a service.")}
	}
	svc := &serviceRules{}
	// COALESCE: a column added later, or a JSON field never set, may hold NULL
	err := app.DB().NewQuery("SELECT [[id]], COALESCE([[code]], '') AS [[code]], COALESCE([[active]], FALSE) AS [[active]], " +
		"COALESCE([[department]], '') AS [[department]], COALESCE([[fields]], '') AS [[fields]], COALESCE([[location]], '') AS [[location]], " +
		"COALESCE([[photos]], '') AS [[photos]], COALESCE([[fee]], 0) AS [[fee]], COALESCE([[currency]], '') AS [[currency]], " +
		"COALESCE([[sla_hours]], 0) AS [[sla_hours]], COALESCE([[updated]], '') AS [[updated]] FROM [[services]] WHERE [[id]] = {:id}").
		Bind(dbx.Params{"id": id}).One(svc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, validation.Errors{"service": validation.NewError("validation_unknown_service", "No such service.")}
	}
	if err != nil {
		return nil, fmt.Errorf("load service %s: %w", id, err)
	}
	return svc, nil
}

// form returns the service's parsed form schema.
func (s *serviceRules) form() ([]workflow.FormField, error) {
	if v, ok := formCache.Load(s.ID); ok && v.(cachedForm).version == s.Updated {
		return v.(cachedForm).fields, nil
	}
	fields, err := workflow.ParseForm([]byte(s.Fields))
	if err != nil {
		return nil, err
	}
	formCache.Store(s.ID, cachedForm{version: s.Updated, fields: fields})
	return fields, nil
}
