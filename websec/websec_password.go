package websec

import (
	"strconv"
	"strings"
	"sync"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/trustelem/zxcvbn/frequency"
)

// Minimum password lengths (characters). Staff accounts reach personal data
// of many citizens, so theirs is longer; the field's own Min is set to the
// same figure by this package's migration, this check covers every path.
const (
	MinPasswordStaff   = 12
	MinPasswordCitizen = 8
)

// breached is the set of the 30,000 most common passwords of public breach
// corpora, as shipped in zxcvbn's frequency lists (lower case).
var breached = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, p := range list {
		set[p] = struct{}{}
	}
	return set
})

// passwordProblem returns why plain is refused for rec, or "".
func passwordProblem(rec *core.Record, plain string) string {
	lower := strings.ToLower(plain)
	minLen := MinPasswordCitizen
	if rec.Collection().Name == "staff" {
		minLen = MinPasswordStaff
	}
	if n := len([]rune(plain)); n < minLen {
		return "Must be at least " + strconv.Itoa(minLen) + " characters."
	}
	if _, ok := breached()[lower]; ok {
		return "This password is in lists of leaked passwords; choose another."
	}
	local, _, _ := strings.Cut(strings.ToLower(rec.Email()), "@")
	if (len(local) >= 4 && strings.Contains(lower, local)) || strings.Trim(lower, lower[:1]) == "" {
		return "This password is too easy to guess (it contains the e-mail name or repeats one character)."
	}
	return ""
}

// validatePassword refuses a new password of a citizen or staff account that
// is short, breached or derived from the e-mail address, on every write path
// (records API, dashboard, commands), as a field error on "password".
func validatePassword(e *core.RecordEvent) error {
	if plain := e.Record.GetString("password"); plain != "" {
		if msg := passwordProblem(e.Record, plain); msg != "" {
			return validation.Errors{"password": validation.NewError("validation_weak_password", msg)}
		}
	}
	return e.Next()
}
