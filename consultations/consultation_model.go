package consultations

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Collection and table names.
const (
	CollConsultations = "consultations"
	CollEvents        = "consultation_events"
	CollTexts         = "consultation_texts"
	TableBallots      = "ballots"
)

// Lifecycle statuses (consultations.status).
const (
	StatusDraft     = "draft"
	StatusScheduled = "scheduled"
	StatusOpen      = "open"
	StatusClosed    = "closed"
	StatusPublished = "published"
)

// Late policies (consultations.late_policy).
const (
	LateStrict = "strict" // counted if the server received it before closes_at
	LateGrace  = "grace"  // also counted if received within grace_minutes after close and claimed before it
)

// MaxGrace bounds the grace period (research participation.md §4.3: G ≤ 24 h).
const MaxGrace = 24 * time.Hour

// Question kinds.
const (
	KindSingle   = "single"
	KindMultiple = "multiple"
	KindRanking  = "ranking"
	KindText     = "text"
)

// Limits of the question model.
const (
	MaxQuestions     = 50
	MaxOptions       = 50
	MaxTextLimit     = 5000 // a free-text question's limit cannot exceed this
	DefaultTextLimit = 1000
	MaxOtherLen      = 200 // the "other" text of a choice question
)

var idPattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// Option is one choice of a single, multiple or ranking question.
type Option struct {
	ID    string            `json:"id"`
	Label map[string]string `json:"label"`
}

// Question is one question of a consultation. Min/Max bound the number of
// choices of a multiple question; TopK is how many options a ranking orders
// (0: all); MaxLength limits a free-text answer; Other adds a free "other"
// text to a single or multiple question.
type Question struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	Title       map[string]string `json:"title"`
	Description map[string]string `json:"description,omitempty"`
	Options     []Option          `json:"options,omitempty"`
	Required    bool              `json:"required,omitempty"`
	Min         int               `json:"min,omitempty"`
	Max         int               `json:"max,omitempty"`
	TopK        int               `json:"topK,omitempty"`
	MaxLength   int               `json:"maxLength,omitempty"`
	Other       bool              `json:"other,omitempty"`
}

// Eligibility says who may answer: any signed-in citizen by default; MinAge
// (on the closing day, from the citizen's birthdate), Districts (the
// citizen's district must be one of them) and IdentityLevel (checked by the
// function set with SetIdentityCheck) narrow it.
type Eligibility struct {
	MinAge        int      `json:"minAge,omitempty"`
	Districts     []string `json:"districts,omitempty"`
	IdentityLevel string   `json:"identityLevel,omitempty"`
}

// Consultation is the decoded form of a consultations record.
type Consultation struct {
	ID          string
	Code        string
	Status      string
	Location    *time.Location
	OpensAt     time.Time
	ClosesAt    time.Time
	Questions   []Question
	Eligibility Eligibility
	LatePolicy  string
	Grace       time.Duration
}

// Load decodes rec. Bad JSON in questions or eligibility is an error (the
// hooks refuse it on save, so only a hand-edited database has it).
func Load(rec *core.Record) (*Consultation, error) {
	c := &Consultation{
		ID: rec.Id, Code: rec.GetString("code"), Status: rec.GetString("status"),
		OpensAt: rec.GetDateTime("opens_at").Time(), ClosesAt: rec.GetDateTime("closes_at").Time(),
		LatePolicy: rec.GetString("late_policy"),
		Grace:      time.Duration(rec.GetInt("grace_minutes")) * time.Minute,
	}
	if c.LatePolicy != LateGrace {
		c.LatePolicy, c.Grace = LateStrict, 0
	}
	loc, err := time.LoadLocation(rec.GetString("time_zone"))
	if err != nil || rec.GetString("time_zone") == "" {
		loc = time.UTC
	}
	c.Location = loc
	if err := decodeJSON(rec.Get("questions"), &c.Questions); err != nil {
		return nil, fmt.Errorf("consultation %s: questions: %w", rec.Id, err)
	}
	if err := decodeJSON(rec.Get("eligibility"), &c.Eligibility); err != nil {
		return nil, fmt.Errorf("consultation %s: eligibility: %w", rec.Id, err)
	}
	return c, nil
}

func decodeJSON(v any, dst any) error {
	var raw []byte
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		raw = x
	case string:
		raw = []byte(x)
	case json.RawMessage:
		raw = x
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		raw = b
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// Phase is the consultation's state at now: the stored status for draft and
// published, otherwise what the clock says (the lifecycle job writes it to
// the record within a minute; ballots never wait for it).
func (c *Consultation) Phase(now time.Time) string {
	switch {
	case c.Status == StatusDraft || c.Status == StatusPublished:
		return c.Status
	case now.Before(c.OpensAt):
		return StatusScheduled
	case now.Before(c.ClosesAt):
		return StatusOpen
	default:
		return StatusClosed
	}
}

// LateUntil is when late ballots stop being accepted: closes_at, or
// closes_at plus the grace period. Results may be published from then on.
func (c *Consultation) LateUntil() time.Time {
	if c.LatePolicy == LateGrace {
		return c.ClosesAt.Add(c.Grace)
	}
	return c.ClosesAt
}

// Question returns the question with id, or nil.
func (c *Consultation) Question(id string) *Question {
	for i := range c.Questions {
		if c.Questions[i].ID == id {
			return &c.Questions[i]
		}
	}
	return nil
}

func (q *Question) option(id string) bool {
	for _, o := range q.Options {
		if o.ID == id {
			return true
		}
	}
	return false
}

// textLimit is the effective length limit of a free-text answer.
func (q *Question) textLimit() int {
	if q.MaxLength > 0 {
		return q.MaxLength
	}
	return DefaultTextLimit
}

// rankLen is how many options a complete ranking orders.
func (q *Question) rankLen() int {
	if q.TopK > 0 && q.TopK < len(q.Options) {
		return q.TopK
	}
	return len(q.Options)
}

// validateQuestions checks a question list a supervisor wrote.
func validateQuestions(qs []Question) error {
	if len(qs) == 0 {
		return fmt.Errorf("add at least one question")
	}
	if len(qs) > MaxQuestions {
		return fmt.Errorf("at most %d questions", MaxQuestions)
	}
	seen := map[string]bool{}
	for i, q := range qs {
		if !idPattern.MatchString(q.ID) || seen[q.ID] {
			return fmt.Errorf("question %d: id must be unique, 1-32 of a-z, 0-9, _ and -", i+1)
		}
		seen[q.ID] = true
		if len(q.Title) == 0 {
			return fmt.Errorf("question %s: a title is required", q.ID)
		}
		switch q.Kind {
		case KindText:
			if len(q.Options) > 0 || q.Other {
				return fmt.Errorf("question %s: a free-text question has no options", q.ID)
			}
			if q.MaxLength < 0 || q.MaxLength > MaxTextLimit {
				return fmt.Errorf("question %s: maxLength must be 1-%d", q.ID, MaxTextLimit)
			}
			continue
		case KindSingle, KindMultiple, KindRanking:
		default:
			return fmt.Errorf("question %s: kind must be single, multiple, ranking or text", q.ID)
		}
		if len(q.Options) < 2 || len(q.Options) > MaxOptions {
			return fmt.Errorf("question %s: 2-%d options", q.ID, MaxOptions)
		}
		opts := map[string]bool{}
		for _, o := range q.Options {
			if !idPattern.MatchString(o.ID) || opts[o.ID] || o.ID == "other" {
				return fmt.Errorf("question %s: option ids must be unique, 1-32 of a-z, 0-9, _ and - (not \"other\")", q.ID)
			}
			if len(o.Label) == 0 {
				return fmt.Errorf("question %s: option %s needs a label", q.ID, o.ID)
			}
			opts[o.ID] = true
		}
		switch q.Kind {
		case KindMultiple:
			n := len(q.Options)
			if q.Other {
				n++
			}
			if q.Min < 0 || q.Max < 0 || (q.Max > 0 && q.Min > q.Max) || q.Max > n || q.Min > n {
				return fmt.Errorf("question %s: need 0 <= min <= max <= number of options", q.ID)
			}
		case KindRanking:
			if q.Other {
				return fmt.Errorf("question %s: a ranking has no \"other\"", q.ID)
			}
			if q.TopK < 0 || q.TopK > len(q.Options) {
				return fmt.Errorf("question %s: topK must be 0 (all) to the number of options", q.ID)
			}
		}
	}
	return nil
}
