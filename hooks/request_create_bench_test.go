package hooks_test

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"

	"civicdesk/hooks"
	"civicdesk/receipts"
	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// BenchmarkCreate compares creating a request through the records API (rules,
// workflow hooks, change rows, receipt, outbox) with creating a record of a
// plain collection with the same field kinds and no hooks, in one process.
//
//	go test -run '^$' -bench BenchmarkCreate -benchtime 2s ./hooks/
func BenchmarkCreate(b *testing.B) {
	w := testkit.NewApp(b)
	plain := core.NewBaseCollection("bench_plain")
	plain.CreateRule = new(string)
	plain.Fields.Add(&core.TextField{Name: "service"}, &core.JSONField{Name: "answers"}, &core.GeoPointField{Name: "location"},
		&core.TextField{Name: "address"}, &core.TextField{Name: "citizen"}, &core.TextField{Name: "status"})
	if err := w.App.Save(plain); err != nil {
		b.Fatal(err)
	}
	settings := w.App.Settings()
	settings.RateLimits.Enabled = false // one client would hit the per-IP create limit
	if err := w.App.Save(settings); err != nil {
		b.Fatal(err)
	}
	token := testkit.Token(b, w.CitizenA)
	body := fmt.Sprintf(`{"citizen":%q,"service":%q,"answers":{"size":"large","danger":true},"location":{"lat":44.4,"lon":8.9},"address":"Via Roma 1"}`, w.CitizenA.Id, w.Services["pothole"])

	for _, c := range []struct{ name, collection string }{{"plain", "bench_plain"}, {"requests", "requests"}} {
		b.Run(c.name, func(b *testing.B) {
			start := cpuTime()
			for b.Loop() {
				res := w.Do(b, http.MethodPost, "/api/collections/"+c.collection+"/records", token, body)
				if res.Status != http.StatusOK {
					b.Fatalf("%d %s", res.Status, res.Body)
				}
			}
			// CPU time of the whole process per create: on a shared machine wall time
			// mostly measures the neighbours, CPU time measures the work
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime returns the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSaveCost splits a request's cost on the data layer (no HTTP): a plain
// record, the bare requests record with the workflow hook unbound, one event
// row saved through app.Save, one receipt as the workflow issues it, and a
// request through the full workflow with every listener. BenchmarkRawRow
// (package rawinsert) has the cost of a server row written without Save.
//
//	go test -run '^$' -bench BenchmarkSaveCost -benchtime 2s ./hooks/
func BenchmarkSaveCost(b *testing.B) {
	w := testkit.NewApp(b)
	plain := core.NewBaseCollection("bench_plain")
	plain.Fields.Add(&core.TextField{Name: "service"}, &core.JSONField{Name: "answers"}, &core.GeoPointField{Name: "location"},
		&core.TextField{Name: "address"}, &core.TextField{Name: "citizen"}, &core.TextField{Name: "status"})
	if err := w.App.Save(plain); err != nil {
		b.Fatal(err)
	}
	requests, _ := w.App.FindCollectionByNameOrId("requests")
	events, _ := w.App.FindCollectionByNameOrId("request_events")
	parent := w.NewRequest(b, w.CitizenA)
	fields := map[string]any{"service": w.Services["pothole"], "citizen": w.CitizenA.Id, "answers": map[string]any{"size": "medium"},
		"location": types.GeoPoint{Lat: 44.4, Lon: 8.9}, "address": "Via Roma 1"}
	save := func(b *testing.B, col *core.Collection, data map[string]any) {
		rec := core.NewRecord(col)
		rec.Load(data)
		if err := w.App.Save(rec); err != nil {
			b.Fatal(err)
		}
	}
	measure := func(b *testing.B, fn func(*testing.B)) {
		start := cpuTime()
		for b.Loop() {
			fn(b)
		}
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
	b.Run("plain_record", func(b *testing.B) { measure(b, func(b *testing.B) { save(b, plain, fields) }) })
	b.Run("event_row", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			save(b, events, map[string]any{"request": parent.Id, "type": "created", "public": true})
		})
	})
	// a receipt as the workflow issues it: signing and the row, in a transaction
	b.Run("receipt_issue", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			if err := w.App.RunInTransaction(func(tx core.App) error {
				_, err := receipts.Of(w.App).Issue(tx, parent, receipts.KindReceived)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("request_full_workflow", func(b *testing.B) { measure(b, func(b *testing.B) { w.NewRequest(b, w.CitizenA) }) })
	b.Run("request_bare", func(b *testing.B) {
		w.App.OnRecordCreate("requests").Unbind(hooks.HookIDRequestCreate) // last: the world is spent afterwards
		bare := map[string]any{"status": "received", "department": w.Departments["roads"], "priority": "normal"}
		for k, v := range fields {
			bare[k] = v
		}
		measure(b, func(b *testing.B) { save(b, requests, bare) })
	})
}
