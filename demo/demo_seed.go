// Package demo seeds a demo city: departments, a service catalogue in five
// languages and one account per role, idempotently (`civicdesk demo`).
package demo

import (
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"civicdesk/city"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

//go:embed demo_city.json
var cityJSON []byte

type localized map[string]string

type cityData struct {
	Departments []struct {
		Code  string    `json:"code"`
		Email string    `json:"email"`
		Name  localized `json:"name"`
	} `json:"departments"`
	Services []struct {
		Code        string    `json:"code"`
		Department  string    `json:"department"`
		Location    string    `json:"location"`
		Photos      string    `json:"photos"`
		SLAHours    int       `json:"sla_hours"`
		Public      bool      `json:"public"`
		Fee         int       `json:"fee"`
		Currency    string    `json:"currency"`
		Keywords    string    `json:"keywords"`
		Name        localized `json:"name"`
		Description localized `json:"description"`
		Group       localized `json:"group"`
		Fields      []any     `json:"fields"`
	} `json:"services"`
}

// Account is a demo login that Seed made or found.
type Account struct {
	Collection string
	Email      string
	Password   string
	Name       string
	Role       string
	Department string
	ID         string
}

// DefaultPassword is the demo accounts' password unless CIVICDESK_DEMO_PASSWORD is set.
const DefaultPassword = "civicdesk-demo-2026"

// Seed creates or updates the demo city in app and returns its accounts.
// Running it twice changes nothing the second time (upsert by code and email).
func Seed(app core.App) ([]Account, error) {
	var data cityData
	if err := json.Unmarshal(cityJSON, &data); err != nil {
		return nil, fmt.Errorf("demo city data: %w", err)
	}
	password := DefaultPassword
	if p := os.Getenv("CIVICDESK_DEMO_PASSWORD"); p != "" {
		password = p
	}
	lang := city.Of(app).DefaultLang

	var accounts []Account
	err := app.RunInTransaction(func(txApp core.App) error {
		deptIDs := map[string]string{}
		for _, d := range data.Departments {
			rec, err := upsertByField(txApp, "departments", "code", d.Code)
			if err != nil {
				return err
			}
			i18n := map[string]map[string]string{}
			for l, n := range d.Name {
				i18n[l] = map[string]string{"name": n}
			}
			rec.Set("name", pick(d.Name, lang))
			rec.Set("email", d.Email)
			rec.Set("i18n", i18n)
			if err := txApp.Save(rec); err != nil {
				return fmt.Errorf("department %s: %w", d.Code, err)
			}
			deptIDs[d.Code] = rec.Id
		}

		for _, s := range data.Services {
			rec, err := upsertByField(txApp, "services", "code", s.Code)
			if err != nil {
				return err
			}
			i18n := map[string]map[string]string{}
			for l := range s.Name {
				i18n[l] = map[string]string{"name": s.Name[l], "description": s.Description[l], "group": s.Group[l]}
			}
			rec.Load(map[string]any{
				"name": pick(s.Name, lang), "description": pick(s.Description, lang), "group": pick(s.Group, lang),
				"keywords": s.Keywords, "department": deptIDs[s.Department], "fields": s.Fields,
				"location": s.Location, "photos": s.Photos, "fee": s.Fee, "currency": s.Currency,
				"sla_hours": s.SLAHours, "active": true, "public": s.Public, "i18n": i18n,
			})
			if err := txApp.Save(rec); err != nil {
				return fmt.Errorf("service %s: %w", s.Code, err)
			}
		}

		if err := seedCitizenApp(txApp); err != nil {
			return err
		}

		codes := make([]string, 0, len(deptIDs))
		for code := range deptIDs {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			a := Account{Collection: "staff", Email: "clerk." + code + "@demo.civicdesk.example", Password: password,
				Name: "Clerk (" + code + ")", Role: "clerk", Department: code}
			if err := upsertAccount(txApp, &a, []string{deptIDs[code]}); err != nil {
				return err
			}
			accounts = append(accounts, a)
		}
		sup := Account{Collection: "staff", Email: "supervisor@demo.civicdesk.example", Password: password, Name: "Supervisor", Role: "supervisor"}
		if err := upsertAccount(txApp, &sup, nil); err != nil {
			return err
		}
		cit := Account{Collection: "citizens", Email: "citizen@demo.civicdesk.example", Password: password, Name: "Maria Rossi"}
		if err := upsertAccount(txApp, &cit, nil); err != nil {
			return err
		}
		accounts = append(accounts, sup, cit)
		if err := seedOpen311Client(txApp, &accounts); err != nil {
			return err
		}
		return seedConsultation(txApp)
	})
	if err != nil {
		return nil, fmt.Errorf("seed demo city: %w", err)
	}
	if err := seedWeeks(app, accounts); err != nil {
		return nil, fmt.Errorf("seed demo history: %w", err)
	}
	if err := seedPayments(app); err != nil {
		return nil, err
	}
	return accounts, nil
}

func pick(m localized, lang string) string {
	if v := m[lang]; v != "" {
		return v
	}
	return m["en"]
}

func upsertByField(app core.App, collection, field, value string) (*core.Record, error) {
	rec, err := app.FindFirstRecordByFilter(collection, field+" = {:v}", dbx.Params{"v": value})
	if err == nil {
		return rec, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("find %s %s: %w", collection, value, err)
	}
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", collection, err)
	}
	rec = core.NewRecord(col)
	rec.Set(field, value)
	return rec, nil
}

func upsertAccount(app core.App, a *Account, departments []string) error {
	rec, err := upsertByField(app, a.Collection, "email", a.Email)
	if err != nil {
		return err
	}
	if rec.IsNew() {
		rec.SetPassword(a.Password)
	}
	rec.SetEmail(a.Email)
	rec.SetVerified(true)
	rec.Set("name", a.Name)
	if a.Collection == "staff" {
		rec.Set("role", a.Role)
		rec.Set("departments", departments)
	} else {
		rec.Set("lang", "it")
	}
	if err := app.Save(rec); err != nil {
		return fmt.Errorf("account %s: %w", a.Email, err)
	}
	a.ID = rec.Id
	return nil
}
