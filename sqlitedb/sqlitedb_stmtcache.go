package sqlitedb

// Why this file exists: PocketBase (through dbx) runs every query as
// db.ExecContext/QueryContext with an SQL string, and modernc.org/sqlite
// answers each such call by preparing, running and finalizing a new
// sqlite3_stmt: parsing was ~17 % of a filed request's CPU. A statement from
// the driver's PrepareContext keeps its sqlite3_stmt and resets it between
// runs, so this wrapper keeps those per connection, keyed by SQL text.
// database/sql caches nothing at this level and the caching libraries we found
// wrap *sql.DB with their own Prepared* calls, which dbx does not make.

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/pocketbase/dbx"
)

// DriverName is the database/sql driver Connect opens: modernc.org/sqlite
// with a per-connection cache of prepared statements. dbx builds its SQL as
// for "sqlite"; PocketBase never compares the driver name.
const DriverName = "civicdesk_sqlite"

// stmtCacheSize bounds the statements one connection keeps. A request's
// workflow runs some 40 distinct SQL texts; the data pool keeps up to 15 idle
// connections (120 open), each statement some kilobytes of SQLite memory.
const stmtCacheSize = 64

func init() {
	// sql.Open connects to nothing; it hands out the driver modernc registered,
	// with the functions and hooks registered on it
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err)
	}
	inner := db.Driver()
	_ = db.Close()
	sql.Register(DriverName, &cachingDriver{inner: inner})
	dbx.BuilderFuncMap[DriverName] = dbx.BuilderFuncMap["sqlite"]
}

// cachingDriver opens modernc connections wrapped in a statement cache.
type cachingDriver struct{ inner driver.Driver }

// Open opens a modernc connection and wraps it.
func (d *cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	ic, ok := c.(innerConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("sqlitedb: driver conn %T lacks an interface the cache forwards", c)
	}
	return &conn{innerConn: ic, stmts: map[string]*cachedStmt{}}, nil
}

// innerConn is what modernc's conn implements and database/sql looks for.
// Embedded in conn, every one is forwarded: a missing ConnBeginTx, say, would
// make database/sql refuse transaction options without an error at open.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.SessionResetter
	driver.Validator
	driver.Pinger
}

// innerStmt is a prepared statement of modernc's.
type innerStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// conn is a connection with an LRU of its prepared statements. database/sql
// never uses a driver.Conn from two goroutines at once (rows are closed under
// the same lock), so the cache needs no mutex of its own.
type conn struct {
	innerConn
	stmts map[string]*cachedStmt
	lru   list.List // of *cachedStmt, most recently used first
}

// cachedStmt is a prepared statement and whether open rows are stepping it.
type cachedStmt struct {
	query   string
	stmt    innerStmt
	el      *list.Element // nil once out of the cache
	busy    bool          // rows are open on it: a second run would reset them
	evicted bool          // out of the cache while busy: close when the rows let go
}

// cacheable reports whether query is a single statement. Scripts (migrations)
// run once and modernc re-parses them on every run anyway; a ';' inside a
// string literal only costs the cache.
func cacheable(query string) bool {
	return !strings.Contains(strings.TrimRight(query, " \t\r\n;"), ";")
}

// acquire returns the cached statement of query, preparing it on a miss, or
// nil when query must run one-shot (a script, or its statement is busy).
func (c *conn) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	if !cacheable(query) {
		return nil, nil
	}
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(cs.el)
		return cs, nil
	}
	s, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	is, ok := s.(innerStmt)
	if !ok {
		_ = s.Close()
		return nil, nil
	}
	cs := &cachedStmt{query: query, stmt: is}
	cs.el = c.lru.PushFront(cs)
	c.stmts[query] = cs
	if c.lru.Len() > stmtCacheSize {
		_ = c.drop(c.lru.Back().Value.(*cachedStmt))
	}
	return cs, nil
}

// drop takes cs out of the cache and closes it, or has its rows close it.
// Statements are dropped on any error, so a statement in an unknown state
// (interrupted, busy, schema changed past SQLite's re-prepare) is never rerun.
func (c *conn) drop(cs *cachedStmt) error {
	if cs.el != nil {
		c.lru.Remove(cs.el)
		delete(c.stmts, cs.query)
		cs.el = nil
	}
	if cs.busy {
		cs.evicted = true
		return nil
	}
	return cs.stmt.Close()
}

// ExecContext runs query on its cached statement.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.ExecContext(ctx, args)
	if err != nil {
		_ = c.drop(cs) // the statement's error is the one that matters
		return nil, err
	}
	return res, nil
}

// QueryContext runs query on its cached statement; the statement is busy
// until the rows are closed.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	r, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		_ = c.drop(cs)
		return nil, err
	}
	cs.busy = true
	return &rows{Rows: r, c: c, cs: cs}, nil
}

// Close closes every cached statement, then the connection. database/sql
// closes a connection only once its rows are closed, so none is busy.
func (c *conn) Close() error {
	var errs []error
	for _, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
	}
	c.stmts = map[string]*cachedStmt{}
	c.lru.Init()
	return errors.Join(append(errs, c.innerConn.Close())...)
}

// rows hands its statement back to the cache on Close.
type rows struct {
	driver.Rows
	c      *conn
	cs     *cachedStmt // nil once closed
	failed bool
}

// Next reads the next row and remembers a failure, after which the statement
// is not reused.
func (r *rows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err != nil && err != io.EOF {
		r.failed = true
	}
	return err
}

// Close resets the statement (modernc's rows do) and makes it reusable, or
// drops it after an error.
func (r *rows) Close() error {
	err := r.Rows.Close()
	cs := r.cs
	if cs == nil {
		return err
	}
	r.cs = nil
	cs.busy = false
	if cs.evicted || err != nil || r.failed {
		_ = r.c.drop(cs)
	}
	return err
}

// The column type methods forward to modernc's rows, with database/sql's
// answers when rows lack one (it asks for them only through these interfaces).

// ColumnTypeDatabaseTypeName implements driver.RowsColumnTypeDatabaseTypeName.
func (r *rows) ColumnTypeDatabaseTypeName(index int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

// ColumnTypeLength implements driver.RowsColumnTypeLength.
func (r *rows) ColumnTypeLength(index int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(index)
	}
	return 0, false
}

// ColumnTypeNullable implements driver.RowsColumnTypeNullable.
func (r *rows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(index)
	}
	return false, false
}

// ColumnTypePrecisionScale implements driver.RowsColumnTypePrecisionScale.
func (r *rows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

// ColumnTypeScanType implements driver.RowsColumnTypeScanType.
func (r *rows) ColumnTypeScanType(index int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}
