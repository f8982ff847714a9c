package mobileapi

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// pullStmts are the statements of a pull, prepared once per database handle.
// A pull runs the same dozen statements every time; parsing them again (and
// dbx's rewriting of [[names]] and {:params} by regular expressions) cost
// more than running them. The texts are constant: id lists are bound as one
// JSON array and read with json_each, so no statement depends on a page size.
// Each list drives its statement (CROSS JOIN keeps json_each the outer loop):
// one primary-key lookup per id, not a scan of everything the citizen has,
// which the planner would choose for a list of unknown length.
type pullStmts struct {
	db *sql.DB

	head            *sql.Stmt   // headSQL: the client, the high-water mark, the cursor's row
	changes         *sql.Stmt   // the citizen's changes after a seq
	fingerprint     *sql.Stmt   // "at|record_id|op" of the change at a seq
	requests        *sql.Stmt   // the citizen's requests among ids, with their service code
	requestReceipts *sql.Stmt   // the receipts of requests
	uploads         *sql.Stmt   // the citizen's uploads of requests
	events          *sql.Stmt   // the citizen's public events among ids
	receipts        *sql.Stmt   // the citizen's receipts among ids
	fees            *sql.Stmt   // the citizen's fees among ids
	visible         []*sql.Stmt // visibleSQL of each reset stage
}

// all lists each statement with the field it is prepared into.
func (s *pullStmts) all() []struct {
	dst **sql.Stmt
	sql string
} {
	list := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.head, headSQL},
		{&s.changes, "SELECT seq, collection, record_id, op, COALESCE(at || '|' || record_id || '|' || op, '') FROM changes WHERE citizen = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"},
		{&s.fingerprint, "SELECT COALESCE(at || '|' || record_id || '|' || op, '') FROM changes WHERE seq = ?1"},
		{&s.requests, "SELECT " + requestColumns + " FROM json_each(?2) j CROSS JOIN requests r ON r.id = j.value LEFT JOIN services s ON s.id = r.service WHERE r.citizen = ?1"},
		{&s.requestReceipts, "SELECT " + receiptColumns + " FROM json_each(?1) j CROSS JOIN receipts x ON x.request = j.value ORDER BY x.issued_at, x.id"},
		{&s.uploads, "SELECT u.attachment_id, u.request_id, u.status, u.filename, u.error_code, u.error_message FROM json_each(?2) j CROSS JOIN sync_uploads u ON u.citizen = ?1 AND u.request_id = j.value ORDER BY u.created, u.attachment_id"},
		{&s.events, "SELECT " + eventColumns + " FROM json_each(?2) j CROSS JOIN request_events e ON e.id = j.value CROSS JOIN requests r ON r.id = e.request WHERE r.citizen = ?1 AND e.public = TRUE"},
		{&s.receipts, "SELECT " + receiptColumns + " FROM json_each(?2) j CROSS JOIN receipts x ON x.id = j.value CROSS JOIN requests r ON r.id = x.request WHERE r.citizen = ?1"},
		{&s.fees, "SELECT " + feeColumns + " FROM json_each(?2) j CROSS JOIN fees f ON f.id = j.value CROSS JOIN requests r ON r.id = f.request WHERE r.citizen = ?1"},
	}
	for i, coll := range resetStages {
		list = append(list, struct {
			dst **sql.Stmt
			sql string
		}{&s.visible[i], visibleSQL[coll]})
	}
	return list
}

// visibleSQL lists ids of a collection that the citizen (?1) sees, after ?2,
// in id order, at most ?3: what a reset pages through.
var visibleSQL = map[string]string{
	"requests":       "SELECT id FROM requests WHERE citizen = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	"request_events": "SELECT e.id FROM request_events e JOIN requests r ON r.id = e.request WHERE r.citizen = ?1 AND e.public = TRUE AND e.id > ?2 ORDER BY e.id LIMIT ?3",
	"receipts":       "SELECT x.id FROM receipts x JOIN requests r ON r.id = x.request WHERE r.citizen = ?1 AND x.id > ?2 ORDER BY x.id LIMIT ?3",
	// payments room: the fee with its payment instruction, shown offline
	"fees": "SELECT f.id FROM fees f JOIN requests r ON r.id = f.request WHERE r.citizen = ?1 AND f.id > ?2 ORDER BY f.id LIMIT ?3",
}

func (s *pullStmts) close() {
	for _, st := range s.all() {
		if *st.dst != nil {
			_ = (*st.dst).Close()
		}
	}
}

// pullStmtsKey is where an app keeps its prepared pull statements (app.Store).
const pullStmtsKey = "mobileapi.pullStmts"

var pullStmtsMu sync.Mutex

// pullStatements returns the pull's statements prepared on the app's
// concurrent (read) pool, preparing them on first use and again when the app
// opened a new pool (PocketBase reopens its databases after a restore).
// database/sql prepares each statement once per pooled connection.
func pullStatements(app core.App) (*pullStmts, error) {
	db, ok := app.ConcurrentDB().(*dbx.DB)
	if !ok {
		return nil, errors.New("pull: concurrent db is not a *dbx.DB")
	}
	pool := db.DB()
	if s, ok := app.Store().Get(pullStmtsKey).(*pullStmts); ok && s.db == pool {
		return s, nil
	}
	pullStmtsMu.Lock()
	defer pullStmtsMu.Unlock()
	old, _ := app.Store().Get(pullStmtsKey).(*pullStmts)
	if old != nil && old.db == pool {
		return old, nil
	}
	s := &pullStmts{db: pool, visible: make([]*sql.Stmt, len(resetStages))}
	for _, st := range s.all() {
		prepared, err := pool.Prepare(st.sql)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("prepare pull statement %q: %w", st.sql, err)
		}
		*st.dst = prepared
	}
	app.Store().Set(pullStmtsKey, s)
	if old != nil {
		old.close() // of a pool that was closed
	}
	return s, nil
}

// jsonIDs is ids as the JSON array a statement reads with json_each.
func jsonIDs(ids []string) string {
	b, _ := json.Marshal(ids) // a []string always marshals
	return string(b)
}
