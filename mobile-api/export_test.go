package mobileapi

import "database/sql"

// PullStatementSQL lists the texts of the pull's prepared statements, for
// the plan test of package mobileapi_test.
func PullStatementSQL() []string {
	s := &pullStmts{visible: make([]*sql.Stmt, len(resetStages))}
	var out []string
	for _, st := range s.all() {
		out = append(out, st.sql)
	}
	return out
}
