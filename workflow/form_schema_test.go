package workflow_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
)

const testForm = `[
 {"code":"size","datatype":"singlevaluelist","required":true,"order":1,"label":{"en":"Size"},"values":[{"key":"small","name":"S"},{"key":"large","name":"L"}]},
 {"code":"items","datatype":"multivaluelist","required":false,"order":2,"label":"Items","values":[{"key":"a","name":"A"},{"key":"b","name":"B"}]},
 {"code":"danger","datatype":"boolean","order":3,"label":"Danger"},
 {"code":"depth","datatype":"number","order":4,"label":"Depth","min":0,"max":200},
 {"code":"copies","datatype":"number","order":5,"label":"Copies","integer":true,"min":1,"max":5},
 {"code":"when","datatype":"datetime","order":6,"label":"When"},
 {"code":"plate","datatype":"string","order":7,"label":"Plate","maxLength":10,"pattern":"^[A-Z0-9]+$"},
 {"code":"notes","datatype":"text","order":8,"label":"Notes","maxLength":20},
 {"code":"title","datatype":"string","order":9,"label":"Title"}
]`

func TestValidateAnswers(t *testing.T) {
	t.Parallel()
	fields, err := workflow.ParseForm([]byte(testForm))
	if err != nil {
		t.Fatal(err)
	}
	scenarios := []struct {
		name    string
		answers string
		errKey  string // "" = valid
		errCode string
	}{
		{"minimal valid", `{"size":"small"}`, "", ""},
		{"all valid", `{"size":"large","items":["a","b"],"danger":true,"depth":12.5,"copies":2,"when":"2026-11-25T09:00:00Z","plate":"AB123","notes":"ok","title":"x"}`, "", ""},
		{"date only", `{"size":"small","when":"2026-12-01"}`, "", ""},
		{"form-encoded forms", `{"size":"small","danger":"false","depth":"3","items":"a"}`, "", ""},
		{"missing required", `{}`, "size", "validation_required"},
		{"blank required", `{"size":"  "}`, "size", "validation_required"},
		{"not in list", `{"size":"huge"}`, "size", "validation_not_in_list"},
		{"list wrong type", `{"size":3}`, "size", "validation_not_in_list"},
		{"multi not in list", `{"size":"small","items":["a","z"]}`, "items", "validation_not_in_list"},
		{"multi duplicate", `{"size":"small","items":["a","a"]}`, "items", "validation_duplicate_choice"},
		{"multi wrong type", `{"size":"small","items":{"a":1}}`, "items", "validation_not_list"},
		{"boolean wrong", `{"size":"small","danger":"yes"}`, "danger", "validation_not_boolean"},
		{"number wrong", `{"size":"small","depth":"deep"}`, "depth", "validation_not_number"},
		{"number below min", `{"size":"small","depth":-1}`, "depth", "validation_min_number_constraint"},
		{"number above max", `{"size":"small","depth":201}`, "depth", "validation_max_number_constraint"},
		{"integer wanted", `{"size":"small","copies":1.5}`, "copies", "validation_not_integer"},
		{"datetime wrong", `{"size":"small","when":"tomorrow"}`, "when", "validation_not_datetime"},
		{"string too long", `{"size":"small","plate":"ABCDEFGHIJK"}`, "plate", "validation_max_text_constraint"},
		{"string pattern", `{"size":"small","plate":"ab-1"}`, "plate", "validation_invalid_format"},
		{"string multi-line", `{"size":"small","title":"a\nb"}`, "title", "validation_single_line"},
		{"string default limit", `{"size":"small","title":"` + strings.Repeat("x", 256) + `"}`, "title", "validation_max_text_constraint"},
		{"text limit counts characters", `{"size":"small","notes":"` + strings.Repeat("é", 20) + `"}`, "", ""},
		{"text over limit", `{"size":"small","notes":"` + strings.Repeat("é", 21) + `"}`, "notes", "validation_max_text_constraint"},
		{"text wrong type", `{"size":"small","notes":42}`, "notes", "validation_not_text"},
		{"unknown question", `{"size":"small","colour":"red"}`, "colour", "validation_unknown_field"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			var answers map[string]any
			if err := json.Unmarshal([]byte(s.answers), &answers); err != nil {
				t.Fatal(err)
			}
			out, err := workflow.ValidateAnswers(fields, answers)
			if s.errKey == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if out["size"] == nil {
					t.Fatalf("normalized answers lost the required answer: %v", out)
				}
				return
			}
			var errs validation.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v is not validation.Errors", err)
			}
			var ve validation.Error
			if !errors.As(errs[s.errKey], &ve) || ve.Code() != s.errCode {
				t.Fatalf("errors = %v, want %s: %s", errs, s.errKey, s.errCode)
			}
		})
	}
}

func TestValidateAnswersNormalizes(t *testing.T) {
	t.Parallel()
	fields, _ := workflow.ParseForm([]byte(testForm))
	out, err := workflow.ValidateAnswers(fields, map[string]any{"size": "small", "danger": "true", "depth": "7", "items": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if out["danger"] != true || out["depth"] != 7.0 || len(out["items"].([]string)) != 1 {
		t.Fatalf("normalized = %#v", out)
	}
}

func TestParseFormRejectsBrokenSchemas(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"not an array":     `{"code":"x"}`,
		"bad code":         `[{"code":"Bad Code","datatype":"string"}]`,
		"duplicate code":   `[{"code":"a","datatype":"string"},{"code":"a","datatype":"text"}]`,
		"unknown datatype": `[{"code":"a","datatype":"colour"}]`,
		"list w/o values":  `[{"code":"a","datatype":"singlevaluelist"}]`,
		"duplicate key":    `[{"code":"a","datatype":"singlevaluelist","values":[{"key":"x"},{"key":"x"}]}]`,
		"bad pattern":      `[{"code":"a","datatype":"string","pattern":"("}]`,
		"bad label":        `[{"code":"a","datatype":"string","label":42}]`,
	}
	for name, raw := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := workflow.ParseForm([]byte(raw)); err == nil {
				t.Fatalf("ParseForm(%s) = nil error", raw)
			}
		})
	}
	if f, err := workflow.ParseForm([]byte(testForm)); err != nil || len(f) != 9 || f[0].Code != "size" {
		t.Fatalf("valid form: %v %v", f, err)
	}
}

func TestLocalizedIn(t *testing.T) {
	t.Parallel()
	l := workflow.Localized{"it": "Buca", "en": "Pothole"}
	for _, c := range []struct{ lang, want string }{{"it", "Buca"}, {"hu", "Buca"}, {"en", "Pothole"}} {
		if got := l.In(c.lang, "it"); got != c.want {
			t.Errorf("In(%s) = %s, want %s", c.lang, got, c.want)
		}
	}
	if got := (workflow.Localized{"": "Plain"}).In("sv", "it"); got != "Plain" {
		t.Errorf("plain string: %q", got)
	}
}

// FuzzValidateAnswers feeds arbitrary answer documents to the validator:
// it must never panic, and whatever it accepts must validate again unchanged.
func FuzzValidateAnswers(f *testing.F) {
	fields, err := workflow.ParseForm([]byte(testForm))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`{"size":"small"}`)
	f.Add(`{"size":"large","items":["a"],"depth":"1e308","when":"2026-01-01"}`)
	f.Add(`{"size":null,"x":[[[]]]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var answers map[string]any
		if json.Unmarshal([]byte(raw), &answers) != nil {
			return
		}
		out, err := workflow.ValidateAnswers(fields, answers)
		if err != nil {
			return
		}
		again, err := workflow.ValidateAnswers(fields, out)
		if err != nil {
			t.Fatalf("normalized answers %v no longer validate: %v", out, err)
		}
		if len(again) != len(out) {
			t.Fatalf("normalization not idempotent: %v vs %v", out, again)
		}
	})
}

// FuzzParseForm: the schema parser never panics on arbitrary input.
func FuzzParseForm(f *testing.F) {
	f.Add(testForm)
	f.Add(`[{"code":"a","datatype":"string","pattern":"^a+$"}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		_, _ = workflow.ParseForm([]byte(raw))
	})
}
