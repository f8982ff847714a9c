package recovery_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"civicdesk/changelog"
	"civicdesk/hooks"
	"civicdesk/recovery"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// TestWitnessHoldsNumberBeforeSaveReturns: with requests filed concurrently
// (their witness writes shared), each request's number is in the witness on
// disk by the time its Save returns, before any response could go out.
func TestWitnessHoldsNumberBeforeSaveReturns(t *testing.T) {
	w := testkit.NewApp(t)
	if _, err := recovery.DetectNow(w.App); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 6 {
				rec, err := fileRequest(w)
				if err != nil {
					t.Error(err)
					return
				}
				year, n, ok := hooks.ParseNumber(rec.GetString("number"))
				if !ok {
					t.Errorf("request number %q", rec.GetString("number"))
					return
				}
				raw, err := os.ReadFile(filepath.Join(w.App.DataDir(), recovery.WitnessFile))
				if err != nil {
					t.Error(err)
					return
				}
				var wit recovery.Witness
				if err := json.Unmarshal(raw, &wit); err != nil {
					t.Error(err)
					return
				}
				if got := wit.Numbers[strconv.Itoa(year)]; got < n {
					t.Errorf("request %s saved, the witness holds %d of %d", rec.GetString("number"), got, year)
					return
				}
			}
		})
	}
	wg.Wait()
}

// fileRequest files a citizen's request through the data layer (callable
// off the test goroutine, unlike testkit's NewRequest).
func fileRequest(w *testkit.World) (*core.Record, error) {
	col, err := w.App.FindCachedCollectionByNameOrId("requests")
	if err != nil {
		return nil, err
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"service": w.Services["pothole"], "answers": map[string]any{"size": "medium"}, "address": "Via Roma 1", "citizen": w.CitizenA.Id})
	workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: w.CitizenA.Id})
	return rec, w.App.Save(rec)
}

// TestReadStateMatchesItsParts: update's one-statement read gives what
// Epoch, changelog.MaxSeq and hooks.NumberCounters give.
func TestReadStateMatchesItsParts(t *testing.T) {
	w := testkit.NewApp(t)
	if _, err := recovery.DetectNow(w.App); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := fileRequest(w); err != nil {
			t.Fatal(err)
		}
	}
	if err := hooks.RaiseNumberCounter(w.App, 2031, 77); err != nil { // a second year
		t.Fatal(err)
	}
	db := w.App.ConcurrentDB()
	epoch, maxSeq, counters, err := recovery.ReadState(db)
	if err != nil {
		t.Fatal(err)
	}
	wantEpoch, err := recovery.Epoch(db)
	if err != nil {
		t.Fatal(err)
	}
	wantSeq, err := changelog.MaxSeq(db)
	if err != nil {
		t.Fatal(err)
	}
	wantCounters, err := hooks.NumberCounters(db)
	if err != nil {
		t.Fatal(err)
	}
	if epoch != wantEpoch || epoch == "" || maxSeq != wantSeq || maxSeq == 0 || !maps.Equal(counters, wantCounters) || len(counters) != 2 {
		t.Fatalf("read %q %d %v, want %q %d %v", epoch, maxSeq, counters, wantEpoch, wantSeq, wantCounters)
	}
}
