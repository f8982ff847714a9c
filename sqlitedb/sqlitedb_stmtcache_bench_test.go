package sqlitedb

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkStmtCache runs the statements of a PocketBase record save (a
// lookup by id, an insert, an update, all in one transaction) on the plain
// modernc driver and on the cached one. synchronous=OFF: the figure is the
// statements' CPU, not the disk's.
//
//	go test -run '^$' -bench BenchmarkStmtCache -count 5 ./sqlitedb/
func BenchmarkStmtCache(b *testing.B) {
	for _, name := range []string{"sqlite", DriverName} {
		b.Run(name, func(b *testing.B) {
			db, err := sql.Open(name, filepath.Join(b.TempDir(), "data.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec("CREATE TABLE `bench` (`id` TEXT PRIMARY KEY NOT NULL, `service` TEXT DEFAULT '' NOT NULL, `answers` JSON DEFAULT NULL, " +
				"`location` JSON DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL, `address` TEXT DEFAULT '' NOT NULL, `status` TEXT DEFAULT '' NOT NULL, `created` TEXT DEFAULT '' NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				id := fmt.Sprintf("r%014d", i)
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				var n int
				if err := tx.QueryRow("SELECT count(*) FROM `bench` WHERE `bench`.`id`=? LIMIT 1", id).Scan(&n); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec("INSERT INTO `bench` (`id`, `service`, `answers`, `location`, `address`, `status`, `created`) VALUES (?, ?, ?, ?, ?, ?, ?)",
					id, "pothole", `{"size":"large"}`, `{"lon":8.9,"lat":44.4}`, "Via Roma 1", "received", "2026-12-02 01:00:00.000Z"); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec("UPDATE `bench` SET `status`=? WHERE `id`=?", "accepted", id); err != nil {
					b.Fatal(err)
				}
				var status string
				if err := tx.QueryRow("SELECT `bench`.`status` FROM `bench` WHERE `bench`.`id`=? LIMIT 1", id).Scan(&status); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
