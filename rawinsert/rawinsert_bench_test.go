package rawinsert_test

import (
	"syscall"
	"testing"

	"civicdesk/rawinsert"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
)

// BenchmarkRawRow compares writing one workflow event row with app.Save (its
// hooks, validation and relation lookups) and with Insert, each in its own
// transaction, and Insert's marginal cost in a transaction that writes 20
// (a sync push of 20 mutations): cpu-ns/op is the process's CPU per row.
//
//	go test -run '^$' -bench BenchmarkRawRow -benchtime 2s ./rawinsert/
func BenchmarkRawRow(b *testing.B) {
	w := testkit.NewApp(b)
	req := w.NewRequest(b, w.CitizenA)
	values := map[string]any{"request": req.Id, "type": "status", "from_status": "received", "to_status": "in_progress",
		"message": "bench", "public": true, "author": w.CitizenA.Id, "author_type": "staff"}
	col, err := w.App.FindCollectionByNameOrId("request_events")
	if err != nil {
		b.Fatal(err)
	}
	measure := func(b *testing.B, perOp int, fn func(tx core.App) error) {
		start := cpuTime()
		for b.Loop() {
			if err := w.App.RunInTransaction(fn); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N*perOp), "cpu-ns/op")
	}
	b.Run("save", func(b *testing.B) {
		measure(b, 1, func(tx core.App) error {
			ev := core.NewRecord(col)
			ev.Load(values)
			workflow.AttachActor(ev, workflow.System)
			return tx.Save(ev)
		})
	})
	b.Run("insert", func(b *testing.B) {
		measure(b, 1, func(tx core.App) error {
			_, err := rawinsert.Insert(tx, "request_events", values)
			return err
		})
	})
	b.Run("save_20_per_tx", func(b *testing.B) {
		measure(b, 20, func(tx core.App) error {
			for i := 0; i < 20; i++ {
				ev := core.NewRecord(col)
				ev.Load(values)
				workflow.AttachActor(ev, workflow.System)
				if err := tx.Save(ev); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("insert_20_per_tx", func(b *testing.B) {
		measure(b, 20, func(tx core.App) error {
			for i := 0; i < 20; i++ {
				if _, err := rawinsert.Insert(tx, "request_events", values); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
