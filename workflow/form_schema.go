package workflow

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	validation "github.com/pocketbase/ozzo-validation/v4"
)

// Form datatypes: the six of Open311 GeoReport v2 plus boolean.
const (
	TypeString          = "string"
	TypeNumber          = "number"
	TypeDatetime        = "datetime"
	TypeText            = "text"
	TypeSingleValueList = "singlevaluelist"
	TypeMultiValueList  = "multivaluelist"
	TypeBoolean         = "boolean"
)

// Datatypes lists every supported form datatype.
var Datatypes = []string{TypeString, TypeNumber, TypeDatetime, TypeText, TypeSingleValueList, TypeMultiValueList, TypeBoolean}

// Default and hard limits of form answers (CONTRACT §9: documented limits).
const (
	DefaultStringMax = 255
	DefaultTextMax   = 5000
	MaxFormFields    = 50
	MaxListValues    = 100
)

// Localized is a text that is either a plain string or a {lang: text} map.
type Localized map[string]string

// UnmarshalJSON accepts a string (stored under "") or a {lang: text} object.
func (l *Localized) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = Localized{"": s}
		return nil
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("want a string or a {lang: text} object: %w", err)
	}
	*l = m
	return nil
}

// In returns the text in lang, else in fallback, else any text.
func (l Localized) In(lang, fallback string) string {
	for _, k := range []string{lang, fallback, "en", ""} {
		if v, ok := l[k]; ok && v != "" {
			return v
		}
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if l[k] != "" {
			return l[k]
		}
	}
	return ""
}

// FormValue is one choice of a list field.
type FormValue struct {
	Key  string    `json:"key"`
	Name Localized `json:"name"`
}

// FormField is one question of a service's form (services.fields).
type FormField struct {
	Code        string      `json:"code"`
	Label       Localized   `json:"label"`
	Datatype    string      `json:"datatype"`
	Required    bool        `json:"required"`
	Order       int         `json:"order"`
	Description Localized   `json:"description,omitempty"`
	Values      []FormValue `json:"values,omitempty"`
	// Optional constraints.
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Integer   bool     `json:"integer,omitempty"`
	MaxLength int      `json:"maxLength,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`

	re *regexp.Regexp // compiled Pattern (set by ParseForm)
}

var codePattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// ParseForm decodes and checks a form schema, sorted by Order.
func ParseForm(raw []byte) ([]FormField, error) {
	if len(strings.TrimSpace(string(raw))) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var fields []FormField
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("form schema: %w", err)
	}
	if len(fields) > MaxFormFields {
		return nil, fmt.Errorf("form schema: at most %d fields", MaxFormFields)
	}
	seen := map[string]bool{}
	for i, f := range fields {
		if !codePattern.MatchString(f.Code) {
			return nil, fmt.Errorf("form schema: field %d: code %q must match %s", i, f.Code, codePattern)
		}
		if seen[f.Code] {
			return nil, fmt.Errorf("form schema: duplicate code %q", f.Code)
		}
		seen[f.Code] = true
		if !slices.Contains(Datatypes, f.Datatype) {
			return nil, fmt.Errorf("form schema: field %q: unknown datatype %q", f.Code, f.Datatype)
		}
		isList := f.Datatype == TypeSingleValueList || f.Datatype == TypeMultiValueList
		if isList && (len(f.Values) == 0 || len(f.Values) > MaxListValues) {
			return nil, fmt.Errorf("form schema: field %q: a list needs 1 to %d values", f.Code, MaxListValues)
		}
		keys := map[string]bool{}
		for _, v := range f.Values {
			if v.Key == "" || keys[v.Key] {
				return nil, fmt.Errorf("form schema: field %q: empty or duplicate value key %q", f.Code, v.Key)
			}
			keys[v.Key] = true
		}
		if f.Pattern != "" {
			re, err := regexp.Compile(f.Pattern)
			if err != nil {
				return nil, fmt.Errorf("form schema: field %q: pattern: %w", f.Code, err)
			}
			fields[i].re = re
		}
		if f.MaxLength < 0 {
			return nil, fmt.Errorf("form schema: field %q: negative maxLength", f.Code)
		}
	}
	slices.SortStableFunc(fields, func(a, b FormField) int { return a.Order - b.Order })
	return fields, nil
}

// maxLen returns the field's text limit.
func (f FormField) maxLen() int {
	switch {
	case f.MaxLength > 0:
		return f.MaxLength
	case f.Datatype == TypeText:
		return DefaultTextMax
	default:
		return DefaultStringMax
	}
}

// ValidateAnswers checks answers against the form and returns them normalized
// (numbers as float64, booleans as bool, lists as []string). The error is a
// validation.Errors keyed by field code, each with a stable code, so an API
// error names the field and the rule: {"answers": {"size": {"code": ...}}}.
func ValidateAnswers(fields []FormField, answers map[string]any) (map[string]any, error) {
	errs := validation.Errors{}
	out := make(map[string]any, len(answers))
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.Code] = true
		v, present := answers[f.Code]
		if !present || isEmpty(v) {
			if f.Required {
				errs[f.Code] = validation.NewError("validation_required", "An answer is required.")
			}
			continue
		}
		nv, err := checkAnswer(f, v)
		if err != nil {
			errs[f.Code] = err
			continue
		}
		out[f.Code] = nv
	}
	for k := range answers {
		if !known[k] {
			key := k
			if utf8.RuneCountInString(key) > 64 || !utf8.ValidString(key) {
				key = "_unknown"
			}
			errs[key] = validation.NewError("validation_unknown_field", "This service's form has no such question.")
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []any:
		return len(t) == 0
	case []string:
		return len(t) == 0
	}
	return false
}

func checkAnswer(f FormField, v any) (any, error) {
	switch f.Datatype {
	case TypeString, TypeText:
		s, ok := v.(string)
		if !ok {
			return nil, validation.NewError("validation_not_text", "Must be text.")
		}
		if !utf8.ValidString(s) {
			return nil, validation.NewError("validation_invalid_utf8", "Must be valid UTF-8 text.")
		}
		if f.Datatype == TypeString && strings.ContainsAny(s, "\r\n") {
			return nil, validation.NewError("validation_single_line", "Must be a single line.")
		}
		if n := utf8.RuneCountInString(s); n > f.maxLen() {
			return nil, validation.NewError("validation_max_text_constraint", "Must be at most {{.max}} characters.").SetParams(map[string]any{"max": f.maxLen()})
		}
		if f.re != nil && !f.re.MatchString(s) {
			return nil, validation.NewError("validation_invalid_format", "Has the wrong format.")
		}
		return s, nil
	case TypeNumber:
		var n float64
		switch t := v.(type) {
		case float64:
			n = t
		case int:
			n = float64(t)
		case json.Number:
			p, err := t.Float64()
			if err != nil {
				return nil, validation.NewError("validation_not_number", "Must be a number.")
			}
			n = p
		case string: // form-encoded clients (Open311) send numbers as text
			p, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if err != nil {
				return nil, validation.NewError("validation_not_number", "Must be a number.")
			}
			n = p
		default:
			return nil, validation.NewError("validation_not_number", "Must be a number.")
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, validation.NewError("validation_not_number", "Must be a number.")
		}
		if f.Integer && n != math.Trunc(n) {
			return nil, validation.NewError("validation_not_integer", "Must be a whole number.")
		}
		if f.Min != nil && n < *f.Min {
			return nil, validation.NewError("validation_min_number_constraint", "Must be at least {{.min}}.").SetParams(map[string]any{"min": *f.Min})
		}
		if f.Max != nil && n > *f.Max {
			return nil, validation.NewError("validation_max_number_constraint", "Must be at most {{.max}}.").SetParams(map[string]any{"max": *f.Max})
		}
		return n, nil
	case TypeDatetime:
		s, ok := v.(string)
		if !ok {
			return nil, validation.NewError("validation_not_datetime", "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time.")
		}
		s = strings.TrimSpace(s)
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				return nil, validation.NewError("validation_not_datetime", "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time.")
			}
		}
		return s, nil
	case TypeBoolean:
		switch t := v.(type) {
		case bool:
			return t, nil
		case string: // Open311 maps boolean to a list with keys "true"/"false"
			if t == "true" || t == "false" {
				return t == "true", nil
			}
		}
		return nil, validation.NewError("validation_not_boolean", "Must be true or false.")
	case TypeSingleValueList:
		s, ok := v.(string)
		if !ok || !f.hasKey(s) {
			return nil, validation.NewError("validation_not_in_list", "Must be one of the listed choices.")
		}
		return s, nil
	case TypeMultiValueList:
		var items []string
		switch t := v.(type) {
		case string:
			items = []string{t}
		case []string:
			items = t
		case []any:
			for _, it := range t {
				s, ok := it.(string)
				if !ok {
					return nil, validation.NewError("validation_not_in_list", "Every choice must be one of the listed keys.")
				}
				items = append(items, s)
			}
		default:
			return nil, validation.NewError("validation_not_list", "Must be a list of choices.")
		}
		seen := map[string]bool{}
		for _, s := range items {
			if !f.hasKey(s) {
				return nil, validation.NewError("validation_not_in_list", "Every choice must be one of the listed keys.")
			}
			if seen[s] {
				return nil, validation.NewError("validation_duplicate_choice", "A choice is listed twice.")
			}
			seen[s] = true
		}
		return items, nil
	}
	return nil, validation.NewError("validation_unknown_datatype", "The form has an unknown datatype.")
}

func (f FormField) hasKey(k string) bool {
	return slices.ContainsFunc(f.Values, func(v FormValue) bool { return v.Key == k })
}
