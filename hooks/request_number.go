package hooks

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// nextNumber allocates the next human-readable request number of the year
// (e.g. 2026-000042) in the caller's transaction: SQLite has one writer, so
// the counter row cannot be raced, and a rolled-back create gives it back.
func nextNumber(app core.App, now time.Time) (string, error) {
	year := now.Year()
	var n int64
	err := app.DB().NewQuery(
		"INSERT INTO [[request_numbers]] ([[year]], [[last]]) VALUES ({:y}, 1) " +
			"ON CONFLICT([[year]]) DO UPDATE SET [[last]] = [[last]] + 1 RETURNING [[last]]",
	).Bind(dbx.Params{"y": year}).Row(&n)
	if err != nil {
		return "", fmt.Errorf("allocate request number: %w", err)
	}
	return fmt.Sprintf("%d-%06d", year, n), nil
}

// ParseNumber splits a request number "2026-000042" into its year and counter.
func ParseNumber(number string) (year int, n int64, ok bool) {
	var y int
	var c int64
	if len(number) < 6 || number[4] != '-' {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(number, "%4d-%d", &y, &c); err != nil || y < 1000 || c < 1 || fmt.Sprintf("%d-%06d", y, c) != number {
		return 0, 0, false
	}
	return y, c, true
}

// RaiseNumberCounter moves the counter of year past n (never back), so a
// number seen on a receipt or in the restore witness is never issued again.
func RaiseNumberCounter(app core.App, year int, n int64) error {
	_, err := app.DB().NewQuery(
		"INSERT INTO [[request_numbers]] ([[year]], [[last]]) VALUES ({:y}, {:n}) " +
			"ON CONFLICT([[year]]) DO UPDATE SET [[last]] = MAX([[last]], excluded.[[last]])",
	).Bind(dbx.Params{"y": year, "n": n}).Execute()
	if err != nil {
		return fmt.Errorf("raise request number counter %d to %d: %w", year, n, err)
	}
	return nil
}

// NumberCounters returns the last issued number of every year.
func NumberCounters(db dbx.Builder) (map[int]int64, error) {
	var rows []struct {
		Year int   `db:"year"`
		Last int64 `db:"last"`
	}
	if err := db.NewQuery("SELECT [[year]], [[last]] FROM [[request_numbers]]").All(&rows); err != nil {
		return nil, fmt.Errorf("read request number counters: %w", err)
	}
	out := make(map[int]int64, len(rows))
	for _, r := range rows {
		out[r.Year] = r.Last
	}
	return out, nil
}

// keepNumber reinstates number (a re-pushed request's number from before a
// restore) when no other request holds it, and moves the counter past it. It
// returns "" when the number is taken or malformed: the caller allocates a new one.
func keepNumber(app core.App, number string) (string, error) {
	year, n, ok := ParseNumber(number)
	if !ok {
		return "", nil
	}
	var taken int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM [[requests]] WHERE [[number]] = {:n}").Bind(dbx.Params{"n": number}).Row(&taken); err != nil {
		return "", fmt.Errorf("check request number %s: %w", number, err)
	}
	if taken > 0 {
		app.Logger().Warn("civicdesk: a re-pushed request's number is taken; it gets a new one", "number", number)
		return "", nil
	}
	if err := RaiseNumberCounter(app, year, n); err != nil {
		return "", err
	}
	return number, nil
}
