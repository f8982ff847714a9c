package workflow

import "github.com/pocketbase/pocketbase/core"

// keptNumberKey carries the request number a re-pushed request had before a
// restore (proved by its signed receipt), for the create hook to reinstate.
const keptNumberKey = "@civicdesk.keptNumber"

// SetKeptNumber asks the create hook to give rec the number it had before the
// server was restored, when that number is still free. Only callers that
// verified the number (sync, from the citizen's signed receipt) may set it.
func SetKeptNumber(rec *core.Record, number string) {
	rec.Set(keptNumberKey, keptNumber(number))
}

// keptNumber is a private type, so no decoded request body can pass for one.
type keptNumber string

// KeptNumber returns what SetKeptNumber stored ("" when unset).
func KeptNumber(rec *core.Record) string {
	n, _ := rec.GetRaw(keptNumberKey).(keptNumber)
	return string(n)
}
