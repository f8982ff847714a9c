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

// formCache keeps parsed forms by service id and version (updated), so a busy
// service's schema is parsed once, not on every request.
var formCache sync.Map // key "id@updated" -> []workflow.FormField

// loadService returns the request's service rules or a validation error naming the field.
func loadService(app core.App, id string) (*serviceRules, error) {
	if id == "" {
		return nil, validation.Errors{"service": validation.NewError("validation_required", "Choose a service.")}
	}
	svc := &serviceRules{}
	err := app.DB().Select("id", "code", "active", "department", "fields", "location", "photos", "fee", "currency", "sla_hours", "updated").
		From(collServices).Where(dbx.HashExp{"id": id}).One(svc)
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
	key := s.ID + "@" + s.Updated
	if v, ok := formCache.Load(key); ok {
		return v.([]workflow.FormField), nil
	}
	fields, err := workflow.ParseForm([]byte(s.Fields))
	if err != nil {
		return nil, err
	}
	formCache.Store(key, fields)
	return fields, nil
}
