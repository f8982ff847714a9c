package console

import (
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Ref is a code and a name in the caller's language.
type Ref struct {
	ID   string `json:"id,omitempty"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// names resolves service, department and staff ids to localized names. The
// catalogue tables are small (tens of rows), so it reads them whole once.
type names struct {
	lang     string
	services map[string]Ref
	depts    map[string]Ref
	staff    map[string]Person
}

// Person is a staff member as a queue row or the file names them.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type codeNameRow struct {
	ID   string `db:"id"`
	Code string `db:"code"`
	Name string `db:"name"`
	I18n string `db:"i18n"`
}

func localizedName(row codeNameRow, lang string) string {
	var i18n map[string]map[string]string
	if row.I18n != "" && json.Unmarshal([]byte(row.I18n), &i18n) == nil {
		if n := i18n[lang]["name"]; n != "" {
			return n
		}
	}
	return row.Name
}

func loadNames(app core.App, lang string) (*names, error) {
	n := &names{lang: lang, services: map[string]Ref{}, depts: map[string]Ref{}, staff: map[string]Person{}}
	for coll, dst := range map[string]map[string]Ref{"services": n.services, "departments": n.depts} {
		var rows []codeNameRow
		if err := app.DB().NewQuery("SELECT [[id]], [[code]], [[name]], COALESCE([[i18n]], '') AS [[i18n]] FROM {{" + coll + "}}").All(&rows); err != nil {
			return nil, fmt.Errorf("load %s names: %w", coll, err)
		}
		for _, r := range rows {
			dst[r.ID] = Ref{ID: r.ID, Code: r.Code, Name: localizedName(r, lang)}
		}
	}
	return n, nil
}

// loadStaff fills the staff names of ids not yet known.
func (n *names) loadStaff(app core.App, ids []string) error {
	var want []any
	for _, id := range ids {
		if _, ok := n.staff[id]; !ok && id != "" {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return nil
	}
	var rows []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	if err := app.DB().Select("id", "name").From("staff").Where(dbx.In("id", want...)).All(&rows); err != nil {
		return fmt.Errorf("load staff names: %w", err)
	}
	for _, r := range rows {
		n.staff[r.ID] = Person{ID: r.ID, Name: r.Name}
	}
	return nil
}

func (n *names) service(id string) Ref { return n.services[id] }

func (n *names) department(id string) *Ref {
	if r, ok := n.depts[id]; ok {
		return &r
	}
	return nil
}

func (n *names) person(id string) *Person {
	if r, ok := n.staff[id]; ok {
		return &r
	}
	return nil
}
