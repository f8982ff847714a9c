package sqlitedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
)

// openConn opens one connection of driverName on a fresh file with Connect's pragmas.
func openConn(t *testing.T, driverName string) *sql.Conn {
	t.Helper()
	db, err := sql.Open(driverName, filepath.Join(t.TempDir(), "data.db")+pragmas)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// session runs statements on one connection and logs every outcome, so that
// the plain driver's log and the cached one's can be compared line by line.
type session struct {
	ctx context.Context
	q   interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
	log []string
}

func (s *session) exec(query string, args ...any) {
	res, err := s.q.ExecContext(s.ctx, query, args...)
	if err != nil {
		s.log = append(s.log, fmt.Sprintf("exec %q: error %v", query, err))
		return
	}
	id, _ := res.LastInsertId()
	n, _ := res.RowsAffected()
	s.log = append(s.log, fmt.Sprintf("exec %q: id %d, rows %d", query, id, n))
}

func (s *session) query(query string, args ...any) {
	rows, err := s.q.QueryContext(s.ctx, query, args...)
	if err != nil {
		s.log = append(s.log, fmt.Sprintf("query %q: error %v", query, err))
		return
	}
	s.log = append(s.log, fmt.Sprintf("query %q: %s", query, readRows(rows)))
}

// readRows reads and closes rows: columns, their types, every value, the error.
func readRows(rows *sql.Rows) string {
	defer rows.Close()
	var b strings.Builder
	cols, _ := rows.Columns()
	types, _ := rows.ColumnTypes()
	for i, ct := range types {
		nullable, _ := ct.Nullable()
		fmt.Fprintf(&b, "%s:%s/%v/%v ", cols[i], ct.DatabaseTypeName(), ct.ScanType(), nullable)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			fmt.Fprintf(&b, "scan error %v", err)
		}
		fmt.Fprintf(&b, "%v ", vals)
	}
	fmt.Fprintf(&b, "err %v close %v", rows.Err(), rows.Close())
	return b.String()
}

// TestStmtCacheMatchesPlainDriver runs each case on the plain modernc driver
// and on the cached one, three times over on one connection (so the cached
// runs hit the cache), and wants the same log.
func TestStmtCacheMatchesPlainDriver(t *testing.T) {
	t.Parallel()
	const create = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n REAL, b BLOB, at DATETIME)"
	cases := []struct {
		name string
		run  func(s *session, c *sql.Conn)
	}{
		{"exec and query", func(s *session, c *sql.Conn) {
			s.exec(create)
			for i := range 3 {
				s.exec("INSERT INTO t (name, n, b, at) VALUES (?, ?, ?, ?)", fmt.Sprint("n", i), 1.5*float64(i), []byte{byte(i)}, "2026-12-02 01:00:00")
				s.query("SELECT * FROM t WHERE id = ?", i+1)
				s.exec("UPDATE t SET n = n + 1 WHERE id <= ?", i+1)
				s.query("SELECT count(*), sum(n) FROM t")
				s.query("SELECT name FROM t WHERE name = :name", sql.Named("name", "n0"))
			}
		}},
		{"transactions", func(s *session, c *sql.Conn) {
			s.exec(create)
			for i := range 3 {
				for _, commit := range []bool{true, false} {
					tx, err := c.BeginTx(s.ctx, nil)
					if err != nil {
						s.log = append(s.log, "begin: "+err.Error())
						continue
					}
					ts := &session{ctx: s.ctx, q: tx}
					ts.exec("INSERT INTO t (name) VALUES (?)", fmt.Sprint("tx", i, commit))
					ts.query("SELECT count(*) FROM t")
					if commit {
						s.log = append(s.log, fmt.Sprint(ts.log, tx.Commit()))
					} else {
						s.log = append(s.log, fmt.Sprint(ts.log, tx.Rollback()))
					}
				}
				s.query("SELECT name FROM t ORDER BY id")
				// options reach the driver (a wrapper without ConnBeginTx refuses them)
				tx, err := c.BeginTx(s.ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelSerializable})
				s.log = append(s.log, fmt.Sprint("read-only serializable begin: ", err))
				if err == nil {
					_ = tx.Rollback()
				}
			}
		}},
		{"nested same-SQL queries while rows are open", func(s *session, c *sql.Conn) {
			s.exec(create)
			for i := range 3 {
				s.exec("INSERT INTO t (name) VALUES (?)", fmt.Sprint("n", i))
			}
			const q = "SELECT id, name FROM t ORDER BY id"
			for range 2 {
				outer, err := c.QueryContext(s.ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for outer.Next() {
					var id int
					var name string
					if err := outer.Scan(&id, &name); err != nil {
						t.Fatal(err)
					}
					s.log = append(s.log, fmt.Sprint("outer ", id, name))
					s.query(q) // runs to the end while outer is half-read
					s.exec("UPDATE t SET n = ? WHERE id = ?", id, id)
				}
				s.log = append(s.log, fmt.Sprint("outer end ", outer.Err(), outer.Close()))
			}
			s.query("SELECT id, n FROM t")
		}},
		{"schema change between runs of a cached statement", func(s *session, c *sql.Conn) {
			const q = "SELECT * FROM t"
			for range 3 {
				s.exec("CREATE TABLE t (a)")
				s.exec("INSERT INTO t VALUES (?)", 1)
				s.query(q)
				s.exec("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'")
				s.query(q)
				s.exec("INSERT INTO t VALUES (?)", 2) // one value for two columns: an error now
				s.exec("DROP TABLE t")
				s.query(q) // no such table
				s.exec("CREATE TABLE t (x INTEGER, y TEXT, z REAL)")
				s.exec("INSERT INTO t VALUES (?, ?, ?)", 1, "y", 2.5)
				s.query(q)
				s.exec("DROP TABLE t")
			}
		}},
		{"constraint violation, then the same SQL succeeds", func(s *session, c *sql.Conn) {
			s.exec(create)
			const ins = "INSERT INTO t (name) VALUES (?)"
			for i := range 3 {
				s.exec(ins, fmt.Sprint("n", i))
				s.exec(ins, fmt.Sprint("n", i)) // UNIQUE
				s.exec(ins, nil)                // NOT NULL
				s.query("INSERT INTO t (name) VALUES (?) RETURNING id", fmt.Sprint("n", i))
				s.query("INSERT INTO t (name) VALUES (?) RETURNING id", fmt.Sprint("r", i))
			}
			s.query("SELECT id, name FROM t ORDER BY id")
		}},
		{"RETURNING through exec and query", func(s *session, c *sql.Conn) {
			s.exec(create)
			for i := range 3 {
				s.exec("INSERT INTO t (name) VALUES (?) RETURNING id", fmt.Sprint("e", i))
				s.query("INSERT INTO t (name) VALUES (?) RETURNING id, name", fmt.Sprint("q", i))
				s.query("UPDATE t SET n = id RETURNING id, n")
			}
			s.query("SELECT count(*) FROM t")
		}},
		{"scripts and bad SQL", func(s *session, c *sql.Conn) {
			for range 3 {
				s.exec("CREATE TABLE IF NOT EXISTS s (x); INSERT INTO s VALUES (1); INSERT INTO s VALUES (2);")
				s.query("SELECT count(*) FROM s; ")
				s.query("SELECT count(*) FROM s;")
				s.exec("SELEC 1")
				s.query("SELECT 'a;b'")
			}
		}},
		{"cancelled context, then the same SQL runs", func(s *session, c *sql.Conn) {
			s.exec(create)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			for i := range 3 {
				cs := &session{ctx: ctx, q: c}
				cs.exec("INSERT INTO t (name) VALUES (?)", fmt.Sprint("c", i))
				cs.query("SELECT count(*) FROM t")
				s.log = append(s.log, cs.log...)
				s.exec("INSERT INTO t (name) VALUES (?)", fmt.Sprint("c", i))
				s.query("SELECT count(*) FROM t")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs [2][]string
			for i, name := range []string{"sqlite", DriverName} {
				c := openConn(t, name)
				s := &session{ctx: context.Background(), q: c}
				tc.run(s, c)
				logs[i] = s.log
			}
			if len(logs[0]) != len(logs[1]) {
				t.Fatalf("plain driver logged %d lines, cached %d:\n%s\n---\n%s", len(logs[0]), len(logs[1]), strings.Join(logs[0], "\n"), strings.Join(logs[1], "\n"))
			}
			for i := range logs[0] {
				if logs[0][i] != logs[1][i] {
					t.Errorf("line %d:\nplain:  %s\ncached: %s", i, logs[0][i], logs[1][i])
				}
			}
		})
	}
}

// countingConn counts the statements the cache prepares and closes.
type countingConn struct {
	innerConn
	prepared, open int
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.prepared++
	c.open++
	return &countingStmt{innerStmt: s.(innerStmt), c: c}, nil
}

type countingStmt struct {
	innerStmt
	c *countingConn
}

func (s *countingStmt) Close() error {
	s.c.open--
	return s.innerStmt.Close()
}

// newCountingConn opens a cached connection whose statements are counted.
func newCountingConn(t *testing.T) (*conn, *countingConn) {
	t.Helper()
	db, err := sql.Open("sqlite", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := db.Driver().Open(filepath.Join(t.TempDir(), "data.db") + pragmas)
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{innerConn: raw.(innerConn)}
	c := &conn{innerConn: cc, stmts: map[string]*cachedStmt{}}
	t.Cleanup(func() {
		if c.stmts != nil {
			_ = c.Close()
		}
	})
	return c, cc
}

// queryAll runs query on c and returns its rows' first column.
func queryAll(t *testing.T, c *conn, query string, args ...driver.NamedValue) []any {
	t.Helper()
	r, err := c.QueryContext(context.Background(), query, args)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var got []any
	dest := make([]driver.Value, len(r.Columns()))
	for {
		if err := r.Next(dest); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, dest[0])
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func exec(t *testing.T, c *conn, query string, args ...driver.NamedValue) error {
	t.Helper()
	_, err := c.ExecContext(context.Background(), query, args)
	return err
}

func arg(v any) driver.NamedValue { return driver.NamedValue{Ordinal: 1, Value: v} }

func TestStmtCacheBookkeeping(t *testing.T) {
	t.Parallel()
	type counts struct{ cached, prepared, open int }
	cases := []struct {
		name string
		run  func(t *testing.T, c *conn) // after CREATE TABLE t (name TEXT UNIQUE)
		want counts
	}{
		{"a statement is prepared once and reused", func(t *testing.T, c *conn) {
			for i := range 5 {
				if err := exec(t, c, "INSERT INTO t VALUES (?)", arg(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
				if got := queryAll(t, c, "SELECT count(*) FROM t"); got[0] != int64(i+1) {
					t.Fatalf("count %v, want %d", got, i+1)
				}
			}
		}, counts{3, 3, 3}},
		{"an error drops the statement, the next run prepares it again", func(t *testing.T, c *conn) {
			for _, v := range []string{"a", "a", "b"} {
				_ = exec(t, c, "INSERT INTO t VALUES (?)", arg(v))
			}
			if err := exec(t, c, "INSERT INTO t VALUES (?)", arg("a")); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
				t.Fatalf("duplicate insert: %v", err)
			}
			if got := queryAll(t, c, "SELECT name FROM t ORDER BY name"); !reflect.DeepEqual(got, []any{"a", "b"}) {
				t.Fatalf("rows %v", got)
			}
		}, counts{2, 4, 2}}, // CREATE, INSERT a (fails on its 2nd run), INSERT b (fails on its 2nd run: a), SELECT
		{"a query whose rows are open runs the same SQL one-shot", func(t *testing.T, c *conn) {
			for _, v := range []string{"a", "b"} {
				_ = exec(t, c, "INSERT INTO t VALUES (?)", arg(v))
			}
			const q = "SELECT name FROM t ORDER BY name"
			outer, err := c.QueryContext(context.Background(), q, nil)
			if err != nil {
				t.Fatal(err)
			}
			dest := make([]driver.Value, 1)
			var got []any
			for outer.Next(dest) == nil {
				got = append(got, dest[0])
				if inner := queryAll(t, c, q); !reflect.DeepEqual(inner, []any{"a", "b"}) {
					t.Fatalf("inner rows %v", inner)
				}
			}
			if err := outer.Close(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, []any{"a", "b"}) {
				t.Fatalf("outer rows %v", got)
			}
			if inner := queryAll(t, c, q); len(inner) != 2 { // the cached one again
				t.Fatalf("rows %v", inner)
			}
		}, counts{3, 3, 3}},
		{"scripts go straight through", func(t *testing.T, c *conn) {
			if err := exec(t, c, "INSERT INTO t VALUES ('a'); INSERT INTO t VALUES ('b');"); err != nil {
				t.Fatal(err)
			}
			if got := queryAll(t, c, "SELECT count(*) FROM t;"); got[0] != int64(2) {
				t.Fatalf("count %v", got)
			}
		}, counts{2, 2, 2}},
		{"the least recently used statement is evicted and closed", func(t *testing.T, c *conn) {
			for i := range stmtCacheSize + 10 {
				if got := queryAll(t, c, fmt.Sprintf("SELECT %d", i)); got[0] != int64(i) {
					t.Fatalf("SELECT %d = %v", i, got)
				}
			}
			if _, ok := c.stmts["SELECT 9"]; ok {
				t.Fatal("SELECT 9 still cached")
			}
			if _, ok := c.stmts[fmt.Sprintf("SELECT %d", stmtCacheSize+9)]; !ok {
				t.Fatal("the last statement is not cached")
			}
			if got := queryAll(t, c, "SELECT 0"); got[0] != int64(0) { // prepared again
				t.Fatalf("SELECT 0 = %v", got)
			}
		}, counts{stmtCacheSize, stmtCacheSize + 12, stmtCacheSize}},
		{"a statement evicted while its rows are open closes with them", func(t *testing.T, c *conn) {
			_ = exec(t, c, "INSERT INTO t VALUES ('a')")
			outer, err := c.QueryContext(context.Background(), "SELECT name FROM t", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range stmtCacheSize {
				queryAll(t, c, fmt.Sprintf("SELECT %d", i))
			}
			dest := make([]driver.Value, 1)
			if err := outer.Next(dest); err != nil || dest[0] != "a" {
				t.Fatalf("evicted rows: %v %v", dest, err)
			}
			if err := outer.Close(); err != nil {
				t.Fatal(err)
			}
		}, counts{stmtCacheSize, stmtCacheSize + 3, stmtCacheSize}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, cc := newCountingConn(t)
			if err := exec(t, c, "CREATE TABLE t (name TEXT UNIQUE)"); err != nil {
				t.Fatal(err)
			}
			tc.run(t, c)
			if got := (counts{len(c.stmts), cc.prepared, cc.open}); got != tc.want {
				t.Errorf("cached/prepared/open = %+v, want %+v", got, tc.want)
			}
			if c.lru.Len() != len(c.stmts) {
				t.Errorf("lru holds %d, map %d", c.lru.Len(), len(c.stmts))
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if cc.open != 0 {
				t.Errorf("%d statements open after Close", cc.open)
			}
		})
	}
}

// TestConnForwardsOptionalInterfaces wants every optional interface of
// modernc's conn on the wrapper: database/sql changes behaviour silently
// without one.
func TestConnForwardsOptionalInterfaces(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := db.Driver().Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	wrapped, err := (&cachingDriver{inner: db.Driver()}).Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer wrapped.Close()
	checks := map[string]func(driver.Conn) bool{
		"ConnBeginTx":        func(c driver.Conn) bool { _, ok := c.(driver.ConnBeginTx); return ok },
		"ConnPrepareContext": func(c driver.Conn) bool { _, ok := c.(driver.ConnPrepareContext); return ok },
		"ExecerContext":      func(c driver.Conn) bool { _, ok := c.(driver.ExecerContext); return ok },
		"QueryerContext":     func(c driver.Conn) bool { _, ok := c.(driver.QueryerContext); return ok },
		"SessionResetter":    func(c driver.Conn) bool { _, ok := c.(driver.SessionResetter); return ok },
		"Validator":          func(c driver.Conn) bool { _, ok := c.(driver.Validator); return ok },
		"Pinger":             func(c driver.Conn) bool { _, ok := c.(driver.Pinger); return ok },
		"NamedValueChecker":  func(c driver.Conn) bool { _, ok := c.(driver.NamedValueChecker); return ok },
	}
	for name, has := range checks {
		if has(raw) != has(wrapped) {
			t.Errorf("%s: modernc conn %v, wrapper %v", name, has(raw), has(wrapped))
		}
	}
}

func TestConnectUsesCachingDriver(t *testing.T) {
	t.Parallel()
	db, err := Connect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.DriverName() != DriverName {
		t.Errorf("driver %q", db.DriverName())
	}
	if _, ok := db.QueryBuilder().(*dbx.SqliteQueryBuilder); !ok {
		t.Errorf("query builder %T, want dbx's sqlite one", db.QueryBuilder())
	}
	if err := db.DB().Ping(); err != nil {
		t.Errorf("ping: %v", err)
	}
}
