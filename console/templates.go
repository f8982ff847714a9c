package console

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// HookIDTemplateValidate is the id of the response template check.
const HookIDTemplateValidate = "civicdesk.console.templateValidate"

// Placeholders a response template may use.
var Placeholders = []string{"number", "service", "due", "status", "city"}

var placeholderRe = regexp.MustCompile(`\{([^{}]*)\}`)

// CheckTemplateBody returns an error naming the first unknown placeholder of body.
func CheckTemplateBody(body string) error {
	for _, m := range placeholderRe.FindAllStringSubmatch(body, -1) {
		if !slices.Contains(Placeholders, m[1]) {
			return validation.NewError("validation_unknown_placeholder",
				fmt.Sprintf("Unknown placeholder {%s}; use %s.", m[1], "{"+strings.Join(Placeholders, "}, {")+"}"))
		}
	}
	return nil
}

// bindTemplates checks every response template write (records API, dashboard, Go).
func bindTemplates(app core.App) {
	app.OnRecordValidate("response_templates").Bind(&hook.Handler[*core.RecordEvent]{
		Id: HookIDTemplateValidate,
		Func: func(e *core.RecordEvent) error {
			if err := CheckTemplateBody(e.Record.GetString("body")); err != nil {
				return validation.Errors{"body": err}
			}
			return e.Next()
		},
	})
}

// RenderTemplate fills template tpl for request rec in lang.
func RenderTemplate(app core.App, body string, rec *core.Record, lang string) string {
	cfg := city.Of(app)
	due := ""
	if d := rec.GetDateTime("due_at"); !d.IsZero() {
		due = d.Time().In(cfg.Location).Format("02/01/2006")
	}
	svcName := ""
	if s, err := app.FindRecordById("services", rec.GetString("service")); err == nil {
		row := codeNameRow{Name: s.GetString("name"), I18n: s.GetString("i18n")}
		svcName = localizedName(row, lang)
	}
	values := map[string]string{
		"number": rec.GetString("number"), "service": svcName, "due": due,
		"status": workflow.StatusNameInSentence(rec.GetString("status"), lang), "city": cfg.Name,
	}
	return placeholderRe.ReplaceAllStringFunc(body, func(m string) string {
		if v, ok := values[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// pickTranslation finds the version of tpl in lang: same key (or, without a
// key, same service and status), else the city's default language, else tpl.
func pickTranslation(app core.App, tpl *core.Record, lang, defaultLang string) (*core.Record, error) {
	if tpl.GetString("lang") == lang {
		return tpl, nil
	}
	for _, l := range []string{lang, defaultLang} {
		var filter dbx.Expression
		if k := tpl.GetString("key"); k != "" {
			filter = dbx.HashExp{"key": k, "lang": l}
		} else {
			filter = dbx.HashExp{"service": tpl.GetString("service"), "status": tpl.GetString("status"), "lang": l}
		}
		found, err := app.FindAllRecords("response_templates", filter)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		if len(found) > 0 {
			slices.SortFunc(found, func(a, b *core.Record) int { return strings.Compare(a.GetString("created"), b.GetString("created")) })
			return found[0], nil
		}
	}
	return tpl, nil
}

func handleRenderTemplate(e *core.RequestEvent) error {
	var body struct {
		Template string `json:"template"`
		Request  string `json:"request"`
	}
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("The body must be {template, request}.", err)
	}
	tpl, err := e.App.FindRecordById("response_templates", body.Template)
	if err != nil {
		return e.BadRequestError("Unknown template.", validation.Errors{"template": validation.NewError("validation_unknown_template", "No such template.")})
	}
	rec, err := loadVisible(e, func() (*core.Record, error) { return e.App.FindRecordById("requests", body.Request) })
	if err != nil {
		return err
	}
	cfg := city.Of(e.App)
	lang := cfg.DefaultLang
	if id := rec.GetString("citizen"); id != "" {
		if c, err := e.App.FindRecordById("citizens", id); err == nil && c.GetString("lang") != "" {
			lang = cfg.MatchLang(c.GetString("lang"))
		}
	}
	chosen, err := pickTranslation(e.App, tpl, lang, cfg.DefaultLang)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, map[string]string{
		"lang": chosen.GetString("lang"), "template": chosen.Id, "title": chosen.GetString("title"),
		"text": RenderTemplate(e.App, chosen.GetString("body"), rec, chosen.GetString("lang")),
	})
}
