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
