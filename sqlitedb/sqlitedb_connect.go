// Package sqlitedb opens civicdesk's SQLite databases with durable settings.
package sqlitedb

import (
	"fmt"

	"github.com/pocketbase/dbx"
	_ "modernc.org/sqlite" // the pure-Go driver PocketBase pins, wrapped in DriverName
)

// pragmas are PocketBase's defaults with synchronous=FULL: in WAL mode NORMAL
// may lose the last commits on power loss, and a city's requests must survive
// it once acknowledged to a phone.
const pragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)&_defensive=1"

// Connect is a pocketbase.Config.DBConnect that opens dbPath with synchronous=FULL
// through DriverName, which caches prepared statements per connection.
func Connect(dbPath string) (*dbx.DB, error) {
	db, err := dbx.Open(DriverName, dbPath+pragmas)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dbPath, err)
	}
	return db, nil
}
