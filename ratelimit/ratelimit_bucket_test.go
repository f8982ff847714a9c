package ratelimit_test

import (
	"testing"
	"time"

	"civicdesk/ratelimit"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	l := ratelimit.New(1, 2) // 1 token a second, 2 at once
	steps := []struct {
		key  string
		at   time.Duration
		ok   bool
		wait time.Duration
	}{
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, false, time.Second}, // the burst is spent
		{"b", 0, true, 0},            // keys are independent
		{"a", 500 * time.Millisecond, false, 500 * time.Millisecond},
		{"a", 1500 * time.Millisecond, true, 0}, // refilled
		{"a", time.Hour, true, 0},               // an idle key starts full again (forgotten by the sweep)
		{"a", time.Hour, true, 0},
		{"a", time.Hour, false, time.Second},
	}
	for i, s := range steps {
		ok, wait := l.Take(s.key, t0.Add(s.at))
		if ok != s.ok || wait != s.wait {
			t.Fatalf("step %d (%s at %v): got %v %v, want %v %v", i, s.key, s.at, ok, wait, s.ok, s.wait)
		}
	}
	l.Give("a") // an attempt that did not count
	if ok, _ := l.Take("a", t0.Add(time.Hour)); !ok {
		t.Fatal("a token given back can be taken again")
	}
}
