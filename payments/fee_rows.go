package payments

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// rowWriter writes server-generated rows of one collection (ledger rows, bank
// entries, fee updates) with statements prepared once per transaction, as the
// decision on issue #12 allows: no app.Save, so no hooks and no after-commit
// callbacks holding each record until the commit (an import of 50,000 lines
// would keep them all). The values are the ones app.Save would write: each
// field's DriverValue (Record.DBExport), with created/updated set as the
// autodate fields set them (TestRawRowsEqualSavedRows compares both field by
// field). The change-sequence triggers fire on these statements as on any.
type rowWriter struct {
	col    *core.Collection
	cols   []string // every column, sorted
	insert *dbx.Query
	update *dbx.Query
}

func newRowWriter(tx core.App, name string) (*rowWriter, error) {
	col, err := tx.FindCachedCollectionByNameOrId(name)
	if err != nil {
		return nil, fmt.Errorf("rows of %s: %w", name, err)
	}
	w := &rowWriter{col: col}
	for _, f := range col.Fields {
		w.cols = append(w.cols, f.GetName())
	}
	sort.Strings(w.cols)
	names := make([]string, len(w.cols))
	params := make([]string, len(w.cols))
	sets := make([]string, 0, len(w.cols))
	for i, c := range w.cols {
		names[i], params[i] = "[["+c+"]]", "{:"+c+"}"
		if c != core.FieldNameId && c != "created" {
			sets = append(sets, "[["+c+"]] = {:"+c+"}")
		}
	}
	w.insert = tx.DB().NewQuery(fmt.Sprintf("INSERT INTO [[%s]] (%s) VALUES (%s)", name, strings.Join(names, ", "), strings.Join(params, ", "))).Prepare()
	w.update = tx.DB().NewQuery(fmt.Sprintf("UPDATE [[%s]] SET %s WHERE [[id]] = {:id}", name, strings.Join(sets, ", "))).Prepare()
	if w.insert.LastError != nil || w.update.LastError != nil {
		w.close()
		return nil, fmt.Errorf("prepare rows of %s: %w", name, firstErr(w.insert.LastError, w.update.LastError))
	}
	return w, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *rowWriter) close() {
	w.insert.Close()
	w.update.Close()
}

// params exports rec as the column values app.Save would write.
func (w *rowWriter) params(rec *core.Record) (dbx.Params, error) {
	data, err := rec.DBExport(nil)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", w.col.Name, err)
	}
	p := make(dbx.Params, len(w.cols))
	for _, c := range w.cols {
		p[c] = data[c]
	}
	return p, nil
}

// create inserts the new record rec (an id is generated when it has none) and
// marks it saved.
func (w *rowWriter) create(rec *core.Record) error {
	if rec.Id == "" {
		rec.Id = core.GenerateDefaultRandomId()
	}
	rec.Set(core.FieldNameId, rec.Id)
	now := types.NowDateTime()
	if _, ok := w.col.Fields.GetByName("created").(*core.AutodateField); ok {
		rec.SetRaw("created", now)
	}
	if _, ok := w.col.Fields.GetByName("updated").(*core.AutodateField); ok {
		rec.SetRaw("updated", now)
	}
	p, err := w.params(rec)
	if err != nil {
		return err
	}
	if _, err := w.insert.Bind(p).Execute(); err != nil {
		return fmt.Errorf("insert %s: %w", w.col.Name, err)
	}
	return rec.PostScan()
}

// save writes every column of the stored record rec but id and created.
func (w *rowWriter) save(rec *core.Record) error {
	if _, ok := w.col.Fields.GetByName("updated").(*core.AutodateField); ok {
		rec.SetRaw("updated", types.NowDateTime())
	}
	p, err := w.params(rec)
	if err != nil {
		return err
	}
	delete(p, "created")
	if _, err := w.update.Bind(p).Execute(); err != nil {
		return fmt.Errorf("update %s %s: %w", w.col.Name, rec.Id, err)
	}
	return rec.PostScan()
}

// recordFromRow builds a stored record of col from a scanned row, as
// PocketBase's record queries do.
func recordFromRow(col *core.Collection, row dbx.NullStringMap) (*core.Record, error) {
	rec := core.NewRecord(col)
	for _, f := range col.Fields {
		var raw any
		if ns, ok := row[f.GetName()]; ok && ns.Valid {
			raw = ns.String
		}
		v, err := f.PrepareValue(rec, raw)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", col.Name, f.GetName(), err)
		}
		rec.SetRaw(f.GetName(), v)
	}
	rec.Id = rec.GetString(core.FieldNameId)
	if err := rec.PostScan(); err != nil {
		return nil, fmt.Errorf("%s row: %w", col.Name, err)
	}
	return rec, nil
}
