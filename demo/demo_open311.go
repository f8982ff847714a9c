package demo

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// Open311ClientName is the demo city's Open311 API client.
const Open311ClientName = "Demo Open311 client"

// seedOpen311Client upserts the demo city's Open311 API key (scope write,
// linking requests to citizens by e-mail) and adds it to accounts, so
// `civicdesk demo` prints it and a stock Open311 client works against the
// demo. Its key is generated once and kept on later runs.
func seedOpen311Client(app core.App, accounts *[]Account) error {
	rec, err := upsertByField(app, "api_clients", "name", Open311ClientName)
	if err != nil {
		return err
	}
	rec.Set("active", true)
	rec.Set("scope", "write")
	rec.Set("link_citizens", true)
	if err := app.Save(rec); err != nil {
		return fmt.Errorf("open311 api client: %w", err)
	}
	*accounts = append(*accounts, Account{Collection: "api_clients", Email: Open311ClientName, Password: rec.GetString("key"), Role: "open311 api_key, scope write", ID: rec.Id})
	return nil
}
