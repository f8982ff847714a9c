package consultations

import (
	"fmt"
	"strings"
	"unicode/utf8"

	mobileapi "civicdesk/mobile-api"
)

// Answer is a citizen's answer to one question: Options for single, multiple
// (any order) and ranking (best first) questions, Other for a choice
// question's "other" text, Text for a free-text question. An absent or empty
// answer is a blank.
type Answer struct {
	Options []string `json:"options,omitempty"`
	Other   string   `json:"other,omitempty"`
	Text    string   `json:"text,omitempty"`
}

// Answers are a ballot's answers by question id.
type Answers map[string]Answer

func (a Answer) blank() bool {
	return len(a.Options) == 0 && strings.TrimSpace(a.Other) == "" && strings.TrimSpace(a.Text) == ""
}

// Rejection codes of ballot.cast (docs/sync-protocol.md).
const (
	CodeUnknownConsultation = "unknown_consultation"
	CodeNotOpen             = "consultation_not_open"
	CodeClosed              = "consultation_closed"
	CodeNotEligible         = "not_eligible"
	CodeConflict            = "ballot_conflict"
	CodeUnknownQuestion     = "unknown_question"
	CodeUnknownOption       = "unknown_option"
	CodeTooMany             = "too_many_choices"
	CodeTooFew              = "too_few_choices"
	CodeRankingRepeats      = "ranking_repeats"
	CodeChoiceRepeats       = "choice_repeated"
	CodeTextTooLong         = "text_too_long"
	CodeRequired            = "answer_required"
	CodeInvalidAnswer       = "invalid_answer"
)

// Validate checks answers against the consultation's questions and returns a
// mobileapi rejection naming the field (answers.<question id>) or nil. It
// normalises blanks away so they are not stored.
func (c *Consultation) Validate(answers Answers) error {
	for qid := range answers {
		if c.Question(qid) == nil {
			return mobileapi.Reject(CodeUnknownQuestion, "answers."+truncate(qid, 32), "This question is not part of the consultation.")
		}
	}
	for i := range c.Questions {
		q := &c.Questions[i]
		a, ok := answers[q.ID]
		if !ok || a.blank() {
			delete(answers, q.ID)
			if q.Required {
				return mobileapi.Reject(CodeRequired, "answers."+q.ID, "This question needs an answer.")
			}
			continue
		}
		if err := q.check(a); err != nil {
			return err
		}
		a.Other = strings.TrimSpace(a.Other)
		answers[q.ID] = a
	}
	return nil
}

func (q *Question) check(a Answer) error {
	field := "answers." + q.ID
	rej := func(code, msg string) error { return mobileapi.Reject(code, field, msg) }
	if q.Kind == KindText {
		if len(a.Options) > 0 || a.Other != "" {
			return rej(CodeInvalidAnswer, "A free-text question takes text only.")
		}
		if n := utf8.RuneCountInString(a.Text); !utf8.ValidString(a.Text) || n > q.textLimit() {
			return rej(CodeTextTooLong, fmt.Sprintf("At most %d characters.", q.textLimit()))
		}
		return nil
	}
	if a.Text != "" {
		return rej(CodeInvalidAnswer, "This question takes choices, not text.")
	}
	if a.Other != "" {
		if !q.Other {
			return rej(CodeUnknownOption, "This question has no \"other\" answer.")
		}
		if utf8.RuneCountInString(a.Other) > MaxOtherLen || !utf8.ValidString(a.Other) {
			return rej(CodeTextTooLong, fmt.Sprintf("The \"other\" answer takes at most %d characters.", MaxOtherLen))
		}
	}
	seen := map[string]bool{}
	for _, o := range a.Options {
		if !q.option(o) {
			return rej(CodeUnknownOption, "One of the chosen options does not exist.")
		}
		if seen[o] {
			if q.Kind == KindRanking {
				return rej(CodeRankingRepeats, "Each option may appear only once in a ranking.")
			}
			return rej(CodeChoiceRepeats, "An option was chosen twice.")
		}
		seen[o] = true
	}
	n := len(a.Options)
	if a.Other != "" {
		n++
	}
	switch q.Kind {
	case KindSingle:
		if n > 1 {
			return rej(CodeTooMany, "Choose one answer.")
		}
	case KindMultiple:
		if q.Max > 0 && n > q.Max {
			return rej(CodeTooMany, fmt.Sprintf("Choose at most %d.", q.Max))
		}
		if n < q.Min {
			return rej(CodeTooFew, fmt.Sprintf("Choose at least %d.", q.Min))
		}
	case KindRanking:
		want := q.rankLen()
		if n > want {
			return rej(CodeTooMany, fmt.Sprintf("Rank %d options.", want))
		}
		if n < want {
			return rej(CodeTooFew, fmt.Sprintf("Rank %d options.", want))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
