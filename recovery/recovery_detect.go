package recovery

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"time"

	"civicdesk/changelog"
	"civicdesk/city"
	"civicdesk/hooks"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// stderr is where detections are printed besides the app log.
var stderr io.Writer = os.Stderr

// DefaultNumberGap is how far the current year's request number counter jumps
// when a restore is detected without a witness (a fresh data dir): the numbers
// issued after the backup are unknown, so new requests start well past them.
// CIVICDESK_RESTORE_NUMBER_GAP overrides it.
const DefaultNumberGap = 1000

// Detection is what the start-up check found.
type Detection struct {
	Restored       bool             `json:"restored"`
	Reason         string           `json:"reason"`
	PreviousEpoch  string           `json:"previousEpoch"`
	Epoch          string           `json:"epoch"`
	WitnessMaxSeq  int64            `json:"witnessMaxSeq"`
	DatabaseMaxSeq int64            `json:"databaseMaxSeq"`
	NumbersRaised  map[string]int64 `json:"numbersRaised,omitempty"`
	At             time.Time        `json:"at"`
}

// LastRestore returns the last detected restore (nil when there was none).
func LastRestore(db dbx.Builder) (*Detection, error) {
	v, err := stateValue(db, keyLastRestore)
	if err != nil || v == "" {
		return nil, err
	}
	d := &Detection{}
	if err := json.Unmarshal([]byte(v), d); err != nil {
		return nil, fmt.Errorf("read last restore: %w", err)
	}
	return d, nil
}

// detect compares the database with the witness, rotates the epoch and raises
// the number counters when the database went back, and writes a fresh witness.
func (t *tracker) detect() (*Detection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	app := t.app
	w, err := readWitness(app.DataDir())
	if err != nil {
		return nil, err
	}
	d := &Detection{At: time.Now().UTC()}
	var counters map[int]int64
	err = app.RunInTransaction(func(tx core.App) error {
		epoch, err := Epoch(tx.DB())
		if err != nil {
			return err
		}
		if d.DatabaseMaxSeq, err = changelog.MaxSeq(tx.DB()); err != nil {
			return err
		}
		if counters, err = hooks.NumberCounters(tx.DB()); err != nil {
			return err
		}
		d.PreviousEpoch, d.Epoch = epoch, epoch
		if w != nil {
			d.WitnessMaxSeq = w.MaxSeq
		}
		d.Reason = restoreReason(w, epoch, d.DatabaseMaxSeq, counters)
		switch {
		case d.Reason != "":
			d.Restored = true
			d.Epoch = newEpoch()
			if d.NumbersRaised, err = raiseCounters(tx, w, counters); err != nil {
				return err
			}
			raw, _ := json.Marshal(d)
			if err := setStateValue(tx.DB(), keyLastRestore, string(raw)); err != nil {
				return err
			}
		case epoch == "":
			d.Epoch = newEpoch() // first start (or the first start of this version)
		default:
			return nil
		}
		return setStateValue(tx.DB(), keyEpoch, d.Epoch)
	})
	if err != nil {
		return nil, err
	}
	if d.Restored {
		logDetection(app, d)
	}

	next := &Witness{Epoch: d.Epoch, MaxSeq: d.DatabaseMaxSeq, Numbers: map[string]int64{}}
	if w != nil {
		maps.Copy(next.Numbers, w.Numbers) // numbers of every epoch stay: they were issued
	}
	for y, n := range counters {
		next.Numbers[numberKey(y)] = max(next.Numbers[numberKey(y)], n)
	}
	for k, n := range d.NumbersRaised {
		next.Numbers[k] = max(next.Numbers[k], n)
	}
	next.Updated = time.Now().UTC()
	if err := writeWitness(app.DataDir(), next); err != nil {
		return nil, err
	}
	t.w = next
	return d, nil
}

// restoreReason says why the database looks restored ("" when it does not).
func restoreReason(w *Witness, epoch string, maxSeq int64, counters map[int]int64) string {
	switch {
	case w == nil && epoch == "":
		return "" // a new data dir, or the first start of a version with restore detection
	case w == nil:
		return "the restore witness is missing: the data dir was restored by hand, copied, or moved to a new host"
	case epoch == "":
		return "the database has no sync epoch but the data dir had one: a backup from before restore detection was restored"
	case epoch != w.Epoch:
		return fmt.Sprintf("the database belongs to sync epoch %s, the data dir was at %s: an older backup was restored", epoch, w.Epoch)
	case maxSeq < w.MaxSeq:
		return fmt.Sprintf("the database's change sequence is at %d, the data dir had seen %d: it was restored to an earlier state", maxSeq, w.MaxSeq)
	}
	for k, n := range w.Numbers {
		y, _ := strconv.Atoi(k)
		if counters[y] < n {
			return fmt.Sprintf("request numbers of %s are at %d, the data dir had issued %d: it was restored to an earlier state", k, counters[y], n)
		}
	}
	return ""
}

// raiseCounters moves each year's counter past the witness's high-water mark;
// without a witness the current year's counter jumps by the number gap.
func raiseCounters(tx core.App, w *Witness, counters map[int]int64) (map[string]int64, error) {
	raised := map[string]int64{}
	if w != nil {
		for k, n := range w.Numbers {
			y, err := strconv.Atoi(k)
			if err != nil || counters[y] >= n {
				continue
			}
			if err := hooks.RaiseNumberCounter(tx, y, n); err != nil {
				return nil, err
			}
			raised[k] = n
		}
		return raised, nil
	}
	gap := int64(DefaultNumberGap)
	if v, err := strconv.ParseInt(os.Getenv("CIVICDESK_RESTORE_NUMBER_GAP"), 10, 64); err == nil && v >= 0 {
		gap = v
	}
	year := time.Now().In(city.Of(tx).Location).Year()
	n := counters[year] + gap
	if err := hooks.RaiseNumberCounter(tx, year, n); err != nil {
		return nil, err
	}
	raised[numberKey(year)] = n
	return raised, nil
}

// update brings the witness up to the database (never back) and writes it
// when something changed. It does nothing before detect ran.
func (t *tracker) update() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w == nil {
		return nil
	}
	db := t.app.ConcurrentDB() // reads only: never wait for the writer
	if db == nil || !t.app.IsBootstrapped() {
		return nil // shutting down after the database was closed
	}
	epoch, maxSeq, counters, err := readState(db)
	if err != nil {
		return err
	}
	if epoch != t.w.Epoch {
		return nil // the database was swapped under us (a restore in progress): detect decides at the next start
	}
	changed := maxSeq > t.w.MaxSeq
	next := &Witness{Epoch: t.w.Epoch, MaxSeq: max(maxSeq, t.w.MaxSeq), Numbers: maps.Clone(t.w.Numbers)}
	for y, n := range counters {
		if n > next.Numbers[numberKey(y)] {
			next.Numbers[numberKey(y)] = n
			changed = true
		}
	}
	if !changed {
		return nil
	}
	next.Updated = time.Now().UTC()
	if err := writeWitness(t.app.DataDir(), next); err != nil {
		return err
	}
	t.w = next
	return nil
}

// readState reads what update compares with the witness, in one statement
// (one snapshot, one read instead of three after every created request): the
// values of Epoch, changelog.MaxSeq and hooks.NumberCounters.
func readState(db dbx.Builder) (epoch string, maxSeq int64, counters map[int]int64, err error) {
	var row struct {
		Epoch   string `db:"epoch"`
		MaxSeq  int64  `db:"max_seq"`
		Numbers string `db:"numbers"`
	}
	// sqlite_sequence keeps AUTOINCREMENT's high-water mark, as changelog.MaxSeq reads it
	err = db.NewQuery("SELECT COALESCE((SELECT [[value]] FROM [[recovery_state]] WHERE [[key]] = {:k}), '') AS [[epoch]], " +
		"COALESCE((SELECT [[seq]] FROM sqlite_sequence WHERE [[name]] = 'changes'), 0) AS [[max_seq]], " +
		"COALESCE((SELECT json_group_object([[year]], [[last]]) FROM [[request_numbers]]), '{}') AS [[numbers]]").
		Bind(dbx.Params{"k": keyEpoch}).One(&row)
	if err != nil {
		return "", 0, nil, fmt.Errorf("read restore state: %w", err)
	}
	var byYear map[string]int64
	if err := json.Unmarshal([]byte(row.Numbers), &byYear); err != nil {
		return "", 0, nil, fmt.Errorf("read request number counters: %w", err)
	}
	counters = make(map[int]int64, len(byYear))
	for k, n := range byYear {
		y, err := strconv.Atoi(k)
		if err != nil {
			return "", 0, nil, fmt.Errorf("read request number counters: year %q: %w", k, err)
		}
		counters[y] = n
	}
	return row.Epoch, row.MaxSeq, counters, nil
}
