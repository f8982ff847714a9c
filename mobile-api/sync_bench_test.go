package mobileapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
)

// cpuNow returns the process's user+system CPU time in nanoseconds.
func cpuNow() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

var benchIDs int64

func benchID(prefix string) string {
	benchIDs++
	id := fmt.Sprintf("%s%d", prefix, benchIDs)
	return id + strings.Repeat("0", 15-len(id))
}

// BenchmarkSync measures the sync API in one process through the router (no
// network), each figure next to its plain PocketBase baseline measured in the
// same run: creates of a plain collection (no hooks) for pushes, getOne of a
// plain record for the empty pull. Besides ns/op it reports cpu-ns/op, the
// process's CPU time per unit (per mutation for pushes), which the machine's
// other load changes much less than wall time.
//
//	go test -run '^$' -bench BenchmarkSync -benchtime 2s ./mobile-api/
func BenchmarkSync(b *testing.B) {
	w := testkit.NewApp(b)
	plain := core.NewBaseCollection("bench_plain")
	plain.CreateRule, plain.ViewRule = new(string), new(string)
	plain.Fields.Add(&core.TextField{Name: "service"}, &core.JSONField{Name: "answers"}, &core.GeoPointField{Name: "location"},
		&core.TextField{Name: "address"}, &core.TextField{Name: "citizen"}, &core.TextField{Name: "status"})
	if err := w.App.Save(plain); err != nil {
		b.Fatal(err)
	}
	settings := w.App.Settings()
	settings.RateLimits.Enabled = false
	if err := w.App.Save(settings); err != nil {
		b.Fatal(err)
	}
	token := testkit.Token(b, w.CitizenA)
	plainBody := fmt.Sprintf(`{"citizen":%q,"service":"pothole","answers":{"size":"large"},"location":{"lat":44.4,"lon":8.9},"address":"Via Roma 1","status":"received"}`, w.CitizenA.Id)
	do := func(b *testing.B, method, path, body string) string {
		res := w.Do(b, method, path, token, body)
		if res.Status != http.StatusOK {
			b.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
		}
		return res.Body
	}
	measure := func(b *testing.B, perOp int, fn func(b *testing.B)) {
		start := cpuNow()
		for b.Loop() {
			fn(b)
		}
		b.ReportMetric(float64(cpuNow()-start)/float64(b.N*perOp), "cpu-ns/unit")
	}
	create := func(id int64) string {
		return fmt.Sprintf(`{"id":%d,"name":"request.create","args":{"requestId":%q,"service":"pothole","answers":{"size":"large"},"location":{"lat":44.4056,"lon":8.9463},"description":"bench"}}`, id, benchID("r"))
	}
	push := func(batch int) func(b *testing.B) {
		client := benchID("bench-c")
		var next int64
		return func(b *testing.B) {
			ms := make([]string, batch)
			for i := range ms {
				next++
				ms[i] = create(next)
			}
			var res struct {
				LastMutationID int64 `json:"lastMutationID"`
			}
			_ = json.Unmarshal([]byte(do(b, http.MethodPost, "/api/mobile/sync/push", `{"clientID":"`+client+`","mutations":[`+strings.Join(ms, ",")+`]}`)), &res)
			if res.LastMutationID != next {
				b.Fatalf("lastMutationID %d, want %d", res.LastMutationID, next)
			}
		}
	}
	pull := func(clientID, cursor string, want int) func(b *testing.B) {
		body := `{"clientID":"` + clientID + `","cursor":` + cursor + `,"limit":200}`
		return func(b *testing.B) {
			var res struct {
				Changes []json.RawMessage `json:"changes"`
			}
			_ = json.Unmarshal([]byte(do(b, http.MethodPost, "/api/mobile/sync/pull", body)), &res)
			if len(res.Changes) != want {
				b.Fatalf("%d changes, want %d", len(res.Changes), want)
			}
		}
	}
	cursorOf := func(clientID string) string {
		cur := "null"
		for {
			var res struct {
				Cursor  string `json:"cursor"`
				HasMore bool   `json:"hasMore"`
			}
			_ = json.Unmarshal([]byte(do(b, http.MethodPost, "/api/mobile/sync/pull", `{"clientID":"`+clientID+`","cursor":`+cur+`,"limit":1000}`)), &res)
			cur = `"` + res.Cursor + `"`
			if !res.HasMore {
				return cur
			}
		}
	}

	b.Run("plain_create", func(b *testing.B) {
		measure(b, 1, func(b *testing.B) { do(b, http.MethodPost, "/api/collections/bench_plain/records", plainBody) })
	})
	b.Run("push_batch_1", func(b *testing.B) { measure(b, 1, push(1)) })
	b.Run("push_batch_20", func(b *testing.B) { measure(b, 20, push(20)) })

	var one struct{ ID string }
	_ = json.Unmarshal([]byte(do(b, http.MethodPost, "/api/collections/bench_plain/records", plainBody)), &one)
	b.Run("plain_getone", func(b *testing.B) {
		measure(b, 1, func(b *testing.B) { do(b, http.MethodGet, "/api/collections/bench_plain/records/"+one.ID, "") })
	})
	upToDate := benchID("bench-p")
	cur := cursorOf(upToDate)
	b.Run("pull_empty", func(b *testing.B) { measure(b, 1, pull(upToDate, cur, 0)) })

	behind := benchID("bench-b")
	start := cursorOf(behind)
	writer := benchID("bench-w")
	ms := make([]string, 100)
	for i := range ms {
		ms[i] = create(int64(i + 1)) // a create writes a request and its created event: 2 changes
	}
	do(b, http.MethodPost, "/api/mobile/sync/push", `{"clientID":"`+writer+`","mutations":[`+strings.Join(ms, ",")+`]}`)
	b.Run("pull_200_changes", func(b *testing.B) { measure(b, 1, pull(behind, start, 200)) })
}
