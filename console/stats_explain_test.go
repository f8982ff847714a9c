package console_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"civicdesk/console"

	"github.com/pocketbase/dbx"
)

// TestFigureQueryPlans: every statement a figure runs (captured from the
// query log, for the default period and with a department filter) reads an
// index range or a covering index: never a full scan of requests or
// request_events, and no table lookup behind the weekly figures' indexes.
func TestFigureQueryPlans(t *testing.T) {
	t.Parallel()
	w, p := statsWorld(t)
	db := w.App.ConcurrentDB().(*dbx.DB)
	var mu sync.Mutex
	var seen []string
	db.QueryLogFunc = func(_ context.Context, _ time.Duration, q string, _ *sql.Rows, _ error) {
		mu.Lock()
		seen = append(seen, q)
		mu.Unlock()
	}
	for _, deps := range [][]string{nil, {w.Departments["roads"]}} {
		p.Departments = deps
		for _, fig := range console.Figures {
			if _, err := console.ComputeFigure(w.App, fig, p); err != nil {
				t.Fatalf("%s: %v", fig, err)
			}
		}
	}
	db.QueryLogFunc = nil
	checked := 0
	for _, q := range seen {
		if !strings.Contains(q, "requests") && !strings.Contains(q, "request_events") && !strings.Contains(q, console.FirstResponsesTable) {
			continue // names of departments, services, staff
		}
		plan := console.ExplainPlan(db, q, nil)
		checked++
		for _, line := range strings.Split(plan, "\n") {
			if strings.Contains(line, "SCAN requests") && !strings.Contains(line, "USING") ||
				strings.Contains(line, "SCAN request_events") && !strings.Contains(line, "USING") || strings.HasPrefix(line, "error") {
				t.Errorf("full scan:\n%s\n%s", q, plan)
			}
			weekly := strings.Contains(line, "_fig_") || strings.Contains(line, console.FirstResponsesTable)
			if weekly && !strings.Contains(line, "COVERING") && !strings.Contains(q, "JOIN") && !strings.Contains(q, "[[number]]") && !strings.Contains(q, "`number`") {
				t.Errorf("not covering:\n%s\n%s", q, plan)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d figure statements seen: %v", checked, seen)
	}
}
