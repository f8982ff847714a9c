// Package rawinsert writes rows the server itself generates (workflow events,
// receipts, push outbox rows, ledger lines) with one prepared INSERT instead
// of app.Save, inside the caller's transaction.
//
// app.Save runs the record hooks, the field validators (relation lookups
// included), a savepoint and a freshly built INSERT for every row: about a
// third of a millisecond of CPU for a row whose every value the server chose
// itself. Insert keeps what matters of that machinery:
//   - the stored values are exactly what a Save stores: the record is built
//     with the collection's field setters and exported with Record.DBExport,
//     the id comes from the id field's autogenerate pattern and the autodate
//     fields are stamped as on create (tests compare a raw row with a saved
//     one field by field);
//   - OnModelAfterCreateSuccess fires after the commit (never on a rollback),
//     so realtime subscribers and after-commit listeners (the sync poke) see
//     the row as if it had been saved;
//   - SQLite triggers (the change sequence) fire as for any INSERT.
//
// The field validators run too, except the relation fields' (their lookups
// are most of a Save's queries): the server sets relations to records it holds.
//
// What it skips, on purpose: OnRecordCreate / OnModelCreate hooks, the
// savepoint and the relation lookups. So use it only for rows whose values the server builds itself;
// everything a person or an API client submits goes through app.Save.
package rawinsert

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"
)

// HookIDRoot is the id of the bootstrap handler that remembers the root app.
const HookIDRoot = "civicdeskRawInsertRoot"

const rootStoreKey = "civicdesk.rawinsert.root"

// Register remembers app as the root app, whose after-commit hooks a raw row
// fires (a transaction's app is finished by then). Call it before any insert:
// rooms.Register does, first.
func Register(app core.App) {
	app.Store().Set(rootStoreKey, app)
	app.OnBootstrap().Bind(&hook.Handler[*core.BootstrapEvent]{
		Id: HookIDRoot,
		Func: func(e *core.BootstrapEvent) error {
			e.App.Store().Set(rootStoreKey, e.App)
			return e.Next()
		},
	})
}

// Insert writes a new record of collection with values (field name -> value,
// as for Record.Set) through txApp, and returns it. An "id" in values is kept;
// otherwise one is generated. The returned record is for reading: to change
// the row later, load it again.
func Insert(txApp core.App, collection string, values map[string]any) (*core.Record, error) {
	col, err := txApp.FindCachedCollectionByNameOrId(collection)
	if err != nil {
		return nil, fmt.Errorf("raw insert: collection %s: %w", collection, err)
	}
	rec := core.NewRecord(col)
	for k, v := range values {
		rec.Set(k, v)
	}
	if rec.Id == "" {
		pattern := "[a-z0-9]{15}"
		if f, ok := col.Fields.GetByName("id").(*core.TextField); ok && f.AutogeneratePattern != "" {
			pattern = f.AutogeneratePattern
		}
		id, err := security.RandomStringByRegex(pattern)
		if err != nil {
			return nil, fmt.Errorf("raw insert: id of %s: %w", collection, err)
		}
		rec.Id = id
	}
	now := types.NowDateTime()
	for _, f := range col.Fields {
		if af, ok := f.(*core.AutodateField); ok && af.OnCreate {
			rec.SetRaw(af.Name, now)
		}
	}
	if err := validate(txApp, rec); err != nil {
		return nil, fmt.Errorf("raw insert into %s: %w", collection, err)
	}
	data, err := rec.DBExport(txApp)
	if err != nil {
		return nil, fmt.Errorf("raw insert: export %s: %w", collection, err)
	}
	data["id"] = rec.Id

	if err := statementFor(col).exec(txApp, data); err != nil {
		return nil, fmt.Errorf("raw insert into %s: %w", collection, err)
	}
	rec.MarkAsNotNew()
	afterCommit(txApp, rec)
	return rec, nil
}

// validate runs the field validators a Save runs (lengths, select values,
// numbers, dates, JSON size), except the relation fields': their lookups are
// most of a Save's queries, and the server sets them to records it holds.
func validate(app core.App, rec *core.Record) error {
	errs := validation.Errors{}
	for _, f := range rec.Collection().Fields {
		if _, ok := f.(*core.RelationField); ok {
			continue
		}
		if err := f.ValidateValue(context.Background(), app, rec); err != nil {
			errs[f.GetName()] = err
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// afterCommit fires OnModelAfterCreateSuccess once the row is committed, with
// the root app, as app.Save does.
func afterCommit(txApp core.App, rec *core.Record) {
	root, _ := txApp.Store().Get(rootStoreKey).(core.App)
	if root == nil {
		if txApp.IsTransactional() {
			txApp.Logger().Warn("rawinsert: not registered; no after-commit hooks for the row", "collection", rec.Collection().Name)
			return
		}
		root = txApp
	}
	fire := func() error {
		return root.OnModelAfterCreateSuccess().Trigger(&core.ModelEvent{App: root, Context: context.Background(), Type: core.ModelEventTypeCreate, Model: rec})
	}
	if info := txApp.TxInfo(); info != nil {
		info.OnComplete(func(txErr error) error {
			if txErr != nil {
				return nil
			}
			return fire()
		})
		return
	}
	if err := fire(); err != nil {
		txApp.Logger().Warn("rawinsert: after-commit hook failed", "collection", rec.Collection().Name, "error", err.Error())
	}
}

// statement is the INSERT of one collection's current schema.
type statement struct {
	sql     string   // in dbx's syntax, for a write outside a transaction
	plain   string   // the same with "quoted" names and ? parameters, run on the transaction itself
	columns []string // in parameter order
	version string   // the collection's updated time: a schema edit builds a new one
}

var statements sync.Map // collection id -> *statement

func statementFor(col *core.Collection) *statement {
	version := col.Updated.String()
	if s, ok := statements.Load(col.Id); ok && s.(*statement).version == version {
		return s.(*statement)
	}
	s := &statement{version: version}
	holders := make([]string, 0, len(col.Fields))
	quoted := make([]string, 0, len(col.Fields))
	for _, f := range col.Fields {
		name := f.GetName()
		if _, ok := f.(core.DriverValuer); !ok && !storesColumn(f) {
			continue
		}
		s.columns = append(s.columns, name)
		quoted = append(quoted, "[["+name+"]]")
		holders = append(holders, "{:"+name+"}")
	}
	s.sql = "INSERT INTO {{" + col.Name + "}} (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.Join(holders, ", ") + ")"
	plainCols := make([]string, len(s.columns))
	for i, c := range s.columns {
		plainCols[i] = `"` + c + `"` // PocketBase names are [a-zA-Z0-9_]
	}
	s.plain = `INSERT INTO "` + col.Name + `" (` + strings.Join(plainCols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(s.columns)), ", ") + ")"
	statements.Store(col.Id, s)
	return s
}

// storesColumn reports whether a field has a column (every field kind of
// PocketBase v0.40 does; the check keeps a future virtual field out).
func storesColumn(f core.Field) bool {
	return f.Type() != ""
}

// executor is what dbx's builders have beside the Builder interface: the
// *sql.Tx a transaction runs on.
type executor interface{ Executor() dbx.Executor }

// exec runs the INSERT with data's columns. Inside a transaction it goes to
// the *sql.Tx with a constant SQL text: the driver's statement cache
// (sqlitedb) keeps it prepared per connection, where dbx would rewrite the
// names and parameters with regular expressions on every call and a
// per-transaction Prepare would parse the INSERT and its triggers again for
// every transaction.
func (s *statement) exec(txApp core.App, data map[string]any) error {
	if tx, ok := txApp.NonconcurrentDB().(*dbx.Tx); ok && txApp.TxInfo() != nil {
		if ex, ok := tx.Builder.(executor); ok {
			args := make([]any, len(s.columns))
			for i, c := range s.columns {
				args[i] = data[c]
			}
			_, err := ex.Executor().ExecContext(context.Background(), s.plain, args...)
			return err
		}
	}
	params := make(dbx.Params, len(s.columns))
	for _, c := range s.columns {
		params[c] = data[c]
	}
	_, err := txApp.NonconcurrentDB().NewQuery(s.sql).Bind(params).Execute()
	return err
}
