package mobileapi

import (
	"testing"

	"github.com/pocketbase/pocketbase/tools/types"
)

var dateSeeds = []string{
	"", "2026-12-02 01:54:16.123Z", "2026-12-02 01:54:16.000Z", "0001-01-01 00:00:00.000Z",
	"2026-02-30 01:00:00.000Z", "2026-12-02 24:00:00.000Z", "2026-12-02T01:54:16Z", "2026-12-02 01:54:16Z",
	"2026-12-02T01:54:16.5+02:00", "2026-12-02", "1764640456", "garbage", "2026-12-02 01:54:16.1234Z",
}

// pocketBaseDate is what a record's GetString gives for a stored date.
func pocketBaseDate(s string) string {
	if dt, err := types.ParseDateTime(s); err == nil && !dt.IsZero() {
		return dt.String()
	}
	return ""
}

// dateString must give what a record's GetString gives for a date: the
// stored value parsed and formatted by PocketBase.
func TestDateStringAsPocketBase(t *testing.T) {
	for _, s := range dateSeeds {
		if got, want := dateString(s), pocketBaseDate(s); got != want {
			t.Errorf("dateString(%q) = %q, PocketBase %q", s, got, want)
		}
	}
}

func FuzzDateString(f *testing.F) {
	for _, s := range dateSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := dateString(s), pocketBaseDate(s); got != want {
			t.Fatalf("dateString(%q) = %q, PocketBase %q", s, got, want)
		}
	})
}
