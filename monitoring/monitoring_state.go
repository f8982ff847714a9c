package monitoring

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"civicdesk/jobs"
	"civicdesk/push"
	"civicdesk/recovery"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// stateTTL is how long a scrape's database figures are reused: scrapes and
// readiness probes cost a few indexed counts at most every stateTTL.
const stateTTL = 5 * time.Second

// backupTTL is how long the backup listing is reused (it may be on S3).
const backupTTL = time.Minute

type named struct {
	name string
	n    int64
}

type dbFile struct {
	db        string
	size, wal int64
}

// appState is what the app collector and the readiness probe read.
type appState struct {
	at              time.Time
	OutboxDepth     int64
	OutboxOldestAge time.Duration
	PushSends       []named
	Jobs            []jobs.JobStats
	Requests        []named
	Overdue         int64
	LastBackup      time.Time
	Files           []dbFile
	LastRestore     time.Time
	Err             error // the last database read's error (the figures are then zero)
}

// stateCache computes appState at most every stateTTL.
type stateCache struct {
	app core.App

	mu         sync.Mutex
	cur        *appState
	backupAt   time.Time
	lastBackup time.Time
}

func newStateCache(app core.App) *stateCache { return &stateCache{app: app} }

func (c *stateCache) get() *appState {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.cur != nil && now.Sub(c.cur.at) < stateTTL {
		return c.cur
	}
	s := &appState{at: now}
	s.Err = c.readDB(s, now)
	c.readPush(s)
	if sched := jobs.Of(c.app); sched != nil {
		s.Jobs = sched.Stats()
	}
	if now.Sub(c.backupAt) >= backupTTL {
		c.lastBackup, c.backupAt = newestBackup(c.app), now
	}
	s.LastBackup = c.lastBackup
	for _, db := range []string{"data", "auxiliary"} {
		f := dbFile{db: db}
		if fi, err := os.Stat(filepath.Join(c.app.DataDir(), db+".db")); err == nil {
			f.size = fi.Size()
		}
		if fi, err := os.Stat(filepath.Join(c.app.DataDir(), db+".db-wal")); err == nil {
			f.wal = fi.Size()
		}
		s.Files = append(s.Files, f)
	}
	c.cur = s
	return s
}

// readDB reads the figures that come from data.db, on the read pool.
func (c *stateCache) readDB(s *appState, now time.Time) error {
	db := c.app.ConcurrentDB()
	var ob struct {
		N      int64  `db:"n"`
		Oldest string `db:"oldest"`
	}
	// the oldest message due: waiting ones not yet due (a retry's next_at) do not count
	err := db.NewQuery("SELECT COUNT(*) AS n, COALESCE(MIN(CASE WHEN [[next_at]] = '' OR [[next_at]] <= {:now} THEN [[created]] END), '') AS oldest FROM [[push_outbox]] WHERE [[state]] IN ('pending', 'sending')").
		Bind(dbx.Params{"now": types.NowDateTime().String()}).One(&ob)
	if err != nil {
		return err
	}
	s.OutboxDepth = ob.N
	if ob.Oldest != "" {
		if t, err := types.ParseDateTime(ob.Oldest); err == nil {
			s.OutboxOldestAge = max(0, now.Sub(t.Time()))
		}
	}

	var rows []struct {
		Status string `db:"status"`
		N      int64  `db:"n"`
	}
	// idx_requests_status makes this an index-only count
	if err := db.NewQuery("SELECT [[status]], COUNT(*) AS n FROM [[requests]] GROUP BY [[status]]").All(&rows); err != nil {
		return err
	}
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.Status] = r.N
	}
	for _, st := range workflow.Statuses {
		s.Requests = append(s.Requests, named{st, counts[st]})
	}
	// open and past due_at (idx_requests_due_at); the SLA job's flag may lag a minute
	err = db.NewQuery("SELECT COUNT(*) FROM [[requests]] WHERE [[due_at]] != '' AND [[due_at]] < {:now} AND [[status]] IN ('received', 'in_progress', 'waiting_citizen')").
		Bind(dbx.Params{"now": types.NowDateTime().String()}).Row(&s.Overdue)
	if err != nil {
		return err
	}
	if d, err := recovery.LastRestore(db); err == nil && d != nil {
		s.LastRestore = d.At
	}
	return nil
}

func (c *stateCache) readPush(s *appState) {
	var st push.Stats
	if d := push.Of(c.app); d != nil {
		st = d.Stats()
	}
	s.PushSends = []named{{"sent", st.Sent}, {"retried", st.Retried}, {"failed", st.Failed}, {"gone", st.Gone}, {"expired", st.Expired}}
}

// newestBackup is the ModTime of the newest backup (zero when none or unreadable).
func newestBackup(app core.App) time.Time {
	fsys, err := app.NewBackupsFilesystem()
	if err != nil {
		return time.Time{}
	}
	defer fsys.Close()
	files, err := fsys.List("")
	if err != nil {
		return time.Time{}
	}
	var newest time.Time
	for _, f := range files {
		if f.ModTime.After(newest) {
			newest = f.ModTime
		}
	}
	return newest
}
