package console

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
)

// ExplainPlan returns SQLite's EXPLAIN QUERY PLAN of sql, one step per line
// (the console's tests and bench/console check it for "SCAN requests").
func ExplainPlan(db dbx.Builder, sql string, params dbx.Params) string {
	var rows []struct {
		ID     int    `db:"id"`
		Parent int    `db:"parent"`
		Detail string `db:"detail"`
	}
	if err := db.NewQuery("EXPLAIN QUERY PLAN " + sql).Bind(params).All(&rows); err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d/%d %s\n", r.ID, r.Parent, r.Detail)
	}
	return b.String()
}

// CountsSQL returns the counts' statements for scope (for EXPLAIN checks).
func CountsSQL(scope Scope, now time.Time, loc *time.Location) (map[string]string, dbx.Params) {
	return countsSQL(scope, now, loc)
}
