package recovery

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pocketbase/dbx"
)

// Keys of the recovery_state table.
const (
	keyEpoch       = "epoch"
	keyLastRestore = "last_restore"
)

// epochAlphabet and epochLen shape an epoch: 8 of [a-z0-9].
const (
	epochAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	epochLen      = 8
)

// Epoch returns the database's sync epoch ("" before the first start). It
// changes whenever a restore is detected; pull cursors carry it, so every
// cursor issued before the restore leads to a reset. db may be a snapshot.
func Epoch(db dbx.Builder) (string, error) {
	v, err := stateValue(db, keyEpoch)
	if err != nil {
		return "", fmt.Errorf("read sync epoch: %w", err)
	}
	return v, nil
}

func stateValue(db dbx.Builder, key string) (string, error) {
	var v string
	err := db.NewQuery("SELECT [[value]] FROM [[recovery_state]] WHERE [[key]] = {:k}").Bind(dbx.Params{"k": key}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setStateValue(db dbx.Builder, key, value string) error {
	_, err := db.NewQuery("INSERT INTO [[recovery_state]] ([[key]], [[value]]) VALUES ({:k}, {:v}) ON CONFLICT([[key]]) DO UPDATE SET [[value]] = excluded.[[value]]").
		Bind(dbx.Params{"k": key, "v": value}).Execute()
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// newEpoch returns a random epoch.
func newEpoch() string {
	return randomString(epochLen)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = epochAlphabet[int(b[i])%len(epochAlphabet)]
	}
	return string(b)
}
