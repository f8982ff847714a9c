// Package workflow is the vocabulary of a request's life: its statuses, the
// transition table, who acts on a request, and the domain events that hooks/
// fires inside each write so that receipts, push and sync can attach to them
// without hooks/ knowing its listeners.
package workflow

import (
	"fmt"
	"slices"
)

// Request statuses (CONTRACT §2).
const (
	StatusReceived       = "received"
	StatusInProgress     = "in_progress"
	StatusWaitingCitizen = "waiting_citizen"
	StatusResolved       = "resolved"
	StatusRejected       = "rejected"
	StatusCancelled      = "cancelled"
)

// Statuses lists every status in workflow order.
var Statuses = []string{StatusReceived, StatusInProgress, StatusWaitingCitizen, StatusResolved, StatusRejected, StatusCancelled}

// staffTransitions is the transition table for staff (clerks of the request's
// department, supervisors, superusers and the system). Citizens may only cancel
// (see CanTransition). Keep docs/workflow.md in step with this table.
var staffTransitions = map[string][]string{
	StatusReceived:       {StatusInProgress, StatusWaitingCitizen, StatusResolved, StatusRejected},
	StatusInProgress:     {StatusWaitingCitizen, StatusResolved, StatusRejected},
	StatusWaitingCitizen: {StatusInProgress, StatusResolved, StatusRejected},
	StatusResolved:       {StatusInProgress}, // reopen
	StatusRejected:       {},
	StatusCancelled:      {},
}

// citizenTransitions is what the request's owner may do: cancel while it is
// received, send it back to the clerk by replying while the city waits for
// them, and reopen it by saying "not fixed" after resolution. The last two
// happen only through a citizen's event (hooks/ checks CitizenAnswer and the
// service's reopen window); a bare status change is refused there.
var citizenTransitions = map[string][]string{
	StatusReceived:       {StatusCancelled},
	StatusWaitingCitizen: {StatusInProgress}, // reply
	StatusResolved:       {StatusInProgress}, // not fixed (service reopen_mode "reopen")
}

// TransitionError explains why a status change is refused.
type TransitionError struct {
	// Code is a stable machine-readable reason ("invalid_transition", "invalid_status").
	Code    string
	Message string
}

// Error implements error.
func (e *TransitionError) Error() string { return e.Message }

// IsStatus reports whether s is a known status.
func IsStatus(s string) bool { return slices.Contains(Statuses, s) }

// IsClosed reports whether s ends the request's processing (resolved, rejected, cancelled).
func IsClosed(s string) bool {
	return s == StatusResolved || s == StatusRejected || s == StatusCancelled
}

// Open311Status maps a status to Open311's open/closed.
func Open311Status(s string) string {
	if IsClosed(s) {
		return "closed"
	}
	return "open"
}

// CanTransition reports whether actor a may move a request from one status to another.
// It does not check department membership: the collection rules do that.
func CanTransition(a Actor, from, to string) error {
	if !IsStatus(to) {
		return &TransitionError{Code: "invalid_status", Message: fmt.Sprintf("Unknown status %q.", to)}
	}
	if from == to {
		return nil
	}
	switch a.Kind {
	case ActorCitizen:
		if slices.Contains(citizenTransitions[from], to) {
			return nil
		}
		if to == StatusCancelled {
			return &TransitionError{Code: "invalid_transition", Message: fmt.Sprintf("A request can be cancelled only while it is %q; it is %q.", StatusReceived, from)}
		}
		return &TransitionError{Code: "invalid_transition", Message: "Citizens can only cancel their request, reply to a question, or say it is not fixed."}
	case ActorStaff, ActorSuperuser, ActorSystem:
		if slices.Contains(staffTransitions[from], to) {
			return nil
		}
		// superusers and the system may cancel on the citizen's behalf (e.g. a phoned-in request)
		if to == StatusCancelled && from == StatusReceived && a.Kind != ActorStaff {
			return nil
		}
		return &TransitionError{Code: "invalid_transition", Message: fmt.Sprintf("A request cannot move from %q to %q.", from, to)}
	default:
		return &TransitionError{Code: "invalid_transition", Message: "This client cannot change a request's status."}
	}
}

// Transitions returns the statuses reachable from `from` for actor a (for UIs).
func Transitions(a Actor, from string) []string {
	var out []string
	for _, to := range Statuses {
		if to != from && CanTransition(a, from, to) == nil {
			out = append(out, to)
		}
	}
	return out
}
