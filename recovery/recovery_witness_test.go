package recovery_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

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
