package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// WitnessFile is the restore witness in the data dir. Backups and restores
// leave it out (see Register), so after any restore it still describes the
// newest state this data dir ever had.
const WitnessFile = ".civicdesk_witness.json"

// witnessTemp is the witness being written (one writer at a time: the state's mutex).
const witnessTemp = WitnessFile + ".tmp"

// Witness is what the data dir last knew about its database.
type Witness struct {
	// Epoch is the sync epoch the database had.
	Epoch string `json:"epoch"`
	// MaxSeq is the highest change sequence number seen in that epoch.
	MaxSeq int64 `json:"maxSeq"`
	// Numbers is the highest request number ever issued, per year (of every epoch).
	Numbers map[string]int64 `json:"numbers"`
	// Updated is when the witness was written.
	Updated time.Time `json:"updated"`
}

// readWitness loads the witness of dataDir; nil without error when there is none.
func readWitness(dataDir string) (*Witness, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, WitnessFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read restore witness: %w", err)
	}
	w := &Witness{}
	if err := json.Unmarshal(raw, w); err != nil {
		return nil, fmt.Errorf("restore witness %s is damaged (delete it to start over): %w", WitnessFile, err)
	}
	if w.Numbers == nil {
		w.Numbers = map[string]int64{}
	}
	return w, nil
}

// writeWitness replaces the witness atomically (temp file, fsync, rename).
func writeWitness(dataDir string, w *Witness) error {
	raw, err := json.Marshal(w)
	if err != nil {
		return err
	}
	tmp, err := os.OpenFile(filepath.Join(dataDir, witnessTemp), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write restore witness: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(raw); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write restore witness: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dataDir, WitnessFile)); err != nil {
		return fmt.Errorf("write restore witness: %w", err)
	}
	return nil
}

// numberKey is the JSON key of a year in Witness.Numbers.
func numberKey(year int) string { return strconv.Itoa(year) }
