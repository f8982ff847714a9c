package workflow_test

import (
	"testing"

	"civicdesk/workflow"
)

func TestCanTransitionCodes(t *testing.T) {
	t.Parallel()
	staff := workflow.Actor{Kind: workflow.ActorStaff, Role: workflow.RoleClerk}
	citizen := workflow.Actor{Kind: workflow.ActorCitizen, ID: "c"}
	open311 := workflow.Actor{Kind: workflow.ActorOpen311}
	cases := []struct {
		actor    workflow.Actor
		from, to string
		code     string // "" = allowed
	}{
		{staff, "received", "in_progress", ""},
		{staff, "resolved", "in_progress", ""},
		{staff, "received", "cancelled", "invalid_transition"},
		{staff, "cancelled", "in_progress", "invalid_transition"},
		{staff, "received", "archived", "invalid_status"},
		{citizen, "received", "cancelled", ""},
		{citizen, "in_progress", "cancelled", "invalid_transition"},
		{citizen, "received", "resolved", "invalid_transition"},
		{citizen, "waiting_citizen", "in_progress", ""}, // by replying (hooks/ requires the reply)
		{citizen, "resolved", "in_progress", ""},        // "not fixed" (hooks/ checks the window)
		{citizen, "in_progress", "resolved", "invalid_transition"},
		{citizen, "waiting_citizen", "resolved", "invalid_transition"},
		{open311, "received", "in_progress", "invalid_transition"},
		{workflow.System, "received", "cancelled", ""},
		{staff, "in_progress", "in_progress", ""},
	}
	for _, c := range cases {
		err := workflow.CanTransition(c.actor, c.from, c.to)
		got := ""
		if te, ok := err.(*workflow.TransitionError); ok {
			got = te.Code
		} else if err != nil {
			t.Fatalf("unexpected error type %T", err)
		}
		if got != c.code {
			t.Errorf("%s %s->%s: code %q, want %q", c.actor.Kind, c.from, c.to, got, c.code)
		}
	}
	if got := workflow.Transitions(staff, "resolved"); len(got) != 1 || got[0] != "in_progress" {
		t.Errorf("Transitions(staff, resolved) = %v", got)
	}
	for s, want := range map[string]string{"received": "open", "waiting_citizen": "open", "resolved": "closed", "rejected": "closed", "cancelled": "closed"} {
		if got := workflow.Open311Status(s); got != want {
			t.Errorf("Open311Status(%s) = %s", s, got)
		}
	}
}

func TestStatusNamesComplete(t *testing.T) {
	t.Parallel()
	for _, s := range workflow.Statuses {
		for _, lang := range []string{"it", "en", "sv", "et", "hu"} {
			if workflow.StatusNames[s][lang] == "" {
				t.Errorf("status %s has no %s name", s, lang)
			}
		}
	}
	if got := workflow.StatusNameInSentence(workflow.StatusInProgress, "sv"); got != "pågår" {
		t.Errorf("in a sentence: %q", got)
	}
	if got := workflow.StatusName("archived", "it"); got != "archived" {
		t.Errorf("unknown status: %q", got)
	}
}
