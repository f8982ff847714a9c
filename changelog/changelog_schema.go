// Package changelog is the change sequence that sync pulls from (CONTRACT §4.2).
//
// Every insert, update and delete of requests, request_events and receipts
// appends a row to the `changes` table in the same statement, through SQLite
// triggers, so every write path (records API, dashboard, sync, Open311, jobs,
// raw SQL) is covered and a rolled-back write leaves no row. `seq` is an
// AUTOINCREMENT key: SQLite has one writer, so allocation order is commit
// order, and a deleted top row's number is never reused.
package changelog

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// TableName is the change sequence table.
const TableName = "changes"

// Ops of a change row.
const (
	OpPut = "put"
	OpDel = "del"
)

// citizenOfRequest resolves the citizen of the request a child row points to.
// When the request is already gone (PocketBase deletes the parent first, then
// cascades), the request's own last change row still names its citizen.
const citizenOfRequest = "COALESCE((SELECT [[citizen]] FROM [[requests]] WHERE [[id]] = %[1]s.[[request]]), " +
	"(SELECT [[citizen]] FROM [[changes]] WHERE [[collection]] = 'requests' AND [[record_id]] = %[1]s.[[request]] ORDER BY [[seq]] DESC LIMIT 1), '')"

// schemaSQL returns the DDL, idempotent so it can run on every start.
func schemaSQL() []string {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS [[changes]] (
			[[seq]]        INTEGER PRIMARY KEY AUTOINCREMENT,
			[[collection]] TEXT NOT NULL,
			[[record_id]]  TEXT NOT NULL,
			[[op]]         TEXT NOT NULL,
			[[citizen]]    TEXT NOT NULL DEFAULT '',
			[[at]]         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ', 'now'))
		)`,
		"CREATE TABLE IF NOT EXISTS [[changes_meta]] ([[key]] TEXT PRIMARY KEY, [[value]] INTEGER NOT NULL)",
		"CREATE INDEX IF NOT EXISTS [[idx_changes_citizen_seq]] ON [[changes]] ([[citizen]], [[seq]])",
		"CREATE INDEX IF NOT EXISTS [[idx_changes_at]] ON [[changes]] ([[at]])",
		"CREATE INDEX IF NOT EXISTS [[idx_changes_record]] ON [[changes]] ([[record_id]], [[seq]])",

		`CREATE TRIGGER IF NOT EXISTS [[changes_requests_ins]] AFTER INSERT ON [[requests]] BEGIN
			INSERT INTO [[changes]] ([[collection]], [[record_id]], [[op]], [[citizen]]) VALUES ('requests', NEW.[[id]], 'put', COALESCE(NEW.[[citizen]], ''));
		END`,
		// a request that changes hands (anonymisation) leaves the old citizen's view: tell them
		`CREATE TRIGGER IF NOT EXISTS [[changes_requests_upd]] AFTER UPDATE ON [[requests]] BEGIN
			INSERT INTO [[changes]] ([[collection]], [[record_id]], [[op]], [[citizen]]) VALUES ('requests', NEW.[[id]], 'put', COALESCE(NEW.[[citizen]], ''));
			INSERT INTO [[changes]] ([[collection]], [[record_id]], [[op]], [[citizen]])
				SELECT 'requests', OLD.[[id]], 'del', OLD.[[citizen]]
				WHERE COALESCE(OLD.[[citizen]], '') != '' AND COALESCE(OLD.[[citizen]], '') != COALESCE(NEW.[[citizen]], '');
		END`,
		`CREATE TRIGGER IF NOT EXISTS [[changes_requests_del]] AFTER DELETE ON [[requests]] BEGIN
			INSERT INTO [[changes]] ([[collection]], [[record_id]], [[op]], [[citizen]]) VALUES ('requests', OLD.[[id]], 'del', COALESCE(OLD.[[citizen]], ''));
		END`,
	}
	for _, child := range []string{"request_events", "receipts"} {
		stmts = append(stmts, ChildTriggersSQL(child)...)
	}
	return stmts
}

// ChildTriggersSQL returns the triggers that log every insert, update and
// delete of child (a table with a `request` column) to the change sequence
// under the request's citizen. Rooms whose records sync to the phone (fees)
// create them for their own tables; idempotent.
func ChildTriggersSQL(child string) []string {
	return []string{
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[changes_%[1]s_ins]] AFTER INSERT ON [[%[1]s]] BEGIN
				INSERT INTO [[changes]] ([[collection]], [[record_id]], [[op]], [[citizen]]) VALUES ('%[1]s', NEW.[[id]], 'put', %[2]s);
			END`, child, fmt.Sprintf(citizenOfRequest, "NEW")),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[changes_%[1]s_upd]] AFTER UPDATE ON [[%[1]s]] BEGIN
				INSERT INTO [[changes]] ([[collection]], [[record_id]], [[op]], [[citizen]]) VALUES ('%[1]s', NEW.[[id]], 'put', %[2]s);
			END`, child, fmt.Sprintf(citizenOfRequest, "NEW")),
		fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS [[changes_%[1]s_del]] AFTER DELETE ON [[%[1]s]] BEGIN
				INSERT INTO [[changes]] ([[collection]], [[record_id]], [[op]], [[citizen]]) VALUES ('%[1]s', OLD.[[id]], 'del', %[2]s);
			END`, child, fmt.Sprintf(citizenOfRequest, "OLD")),
	}
}

// EnsureSchema creates the change table and its triggers if missing. The
// migration calls it, and Register calls it on every start so that a trigger
// dropped by a schema edit in the dashboard comes back.
func EnsureSchema(app core.App) error {
	for _, stmt := range schemaSQL() {
		if _, err := app.DB().NewQuery(stmt).Execute(); err != nil {
			return fmt.Errorf("changelog schema: %w", err)
		}
	}
	return nil
}
