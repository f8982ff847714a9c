// Command push measures the web push outbox: notifications/s from queued
// outbox rows to a local push service (an in-process HTTP server answering
// 201), through the real dispatcher — claim transactions, webpush-go
// encryption and VAPID signing per message, group-committed results — on a
// data dir opened like the server opens it (synchronous=FULL). It prints
// figures; it asserts nothing.
//
//	go run ./bench/push -subs 1000 -messages 10000 -workers 32
package main

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/sqlitedb"

	_ "civicdesk/migrations"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

func main() {
	subs := flag.Int("subs", 1000, "push subscriptions (10 per citizen)")
	messages := flag.Int("messages", 10000, "notifications to send (spread over the subscriptions)")
	workers := flag.Int("workers", push.DefaultWorkers, "dispatcher workers")
	delay := flag.Duration("delay", 0, "push service response delay (0 = answer at once)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the delivery phase to this file")
	flag.Parse()
	if *subs%push.MaxDevices != 0 || *messages%*subs != 0 {
		log.Fatalf("-subs must be a multiple of %d and -messages a multiple of -subs", push.MaxDevices)
	}

	// the local push service
	var received atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if *delay > 0 {
				time.Sleep(*delay)
			}
			received.Add(1)
			w.WriteHeader(http.StatusCreated)
		}))
	}()

	dir, err := os.MkdirTemp("", "civicdesk-bench-push-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir, DBConnect: sqlitedb.Connect})
	if err := app.Bootstrap(); err != nil {
		log.Fatal(err)
	}
	if err := app.RunAllMigrations(); err != nil {
		log.Fatal(err)
	}
	app.Settings().Logs.MaxDays = 0
	cfg := city.Default()
	cfg.PushAllowHosts = []string{ln.Addr().String()}
	city.Set(app, cfg)

	t0 := time.Now()
	requests := seed(app, ln.Addr().String(), *subs, *messages / *subs)
	seedTook := time.Since(t0)

	t1 := time.Now()
	perRequest := push.MaxDevices
	for _, rq := range requests {
		err := app.RunInTransaction(func(tx core.App) error {
			_, err := push.Enqueue(tx, rq.citizen, push.Message{Kind: push.KindStatus, RequestID: rq.id, Number: rq.number, Status: "in_progress"}, time.Now(), push.DefaultTTL)
			return err
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	enqueueTook := time.Since(t1)
	queued := len(requests) * perRequest

	d, err := push.NewDispatcher(app, push.Options{Workers: *workers})
	if err != nil {
		log.Fatal(err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	t2 := time.Now()
	if err := d.Start(); err != nil {
		log.Fatal(err)
	}
	for d.Stats().Sent < int64(queued) { // counted once the result is committed
		if time.Since(t2) > 10*time.Minute {
			log.Fatalf("gave up: %+v of %d", d.Stats(), queued)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(t2)
	stats := d.Stats()

	fmt.Printf("bench/push: GOMAXPROCS=%d NumCPU=%d workers=%d push-service-delay=%v sqlite synchronous=FULL\n", runtime.GOMAXPROCS(0), runtime.NumCPU(), *workers, *delay)
	fmt.Printf("  seed: %d citizens, %d subscriptions, %d requests in %v\n", *subs/push.MaxDevices, *subs, len(requests), seedTook.Round(time.Millisecond))
	fmt.Printf("  enqueue: %d outbox rows in %v (%.0f rows/s, one transaction per request)\n", queued, enqueueTook.Round(time.Millisecond), float64(queued)/enqueueTook.Seconds())
	fmt.Printf("  deliver: %d notifications in %v = %.0f notifications/s (push service saw %d; sent=%d retried=%d failed=%d)\n",
		queued, took.Round(time.Millisecond), float64(queued)/took.Seconds(), received.Load(), stats.Sent, stats.Retried, stats.Failed)
	fmt.Printf("  outbox transactions: %d (%d claimed rows, avg %.1f; %d wrote results, avg %.1f)\n",
		stats.Transactions, stats.Claims, float64(queued)/float64(max(stats.Claims, 1)), stats.Flushes, float64(queued)/float64(max(stats.Flushes, 1)))
}

type request struct{ id, number, citizen string }

// seed creates citizens with MaxDevices subscriptions each and perSub requests per citizen.
func seed(app core.App, host string, subs, perSub int) []request {
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	col := func(name string) *core.Collection {
		c, err := app.FindCollectionByNameOrId(name)
		must(err)
		return c
	}
	dept := core.NewRecord(col("departments"))
	dept.Load(map[string]any{"code": "roads", "name": "Roads"})
	must(app.Save(dept))
	svc := core.NewRecord(col("services"))
	svc.Load(map[string]any{"code": "pothole", "name": "Pothole", "department": dept.Id, "location": "none", "photos": "none", "active": true})
	must(app.Save(svc))

	var out []request
	n := 0
	for c := 0; c < subs/push.MaxDevices; c++ {
		cit := core.NewRecord(col("citizens"))
		cit.SetEmail(fmt.Sprintf("bench%04d@civicdesk.example", c))
		cit.Set("password", "bench-password-123")
		cit.Set("lang", city.Languages[c%len(city.Languages)])
		must(app.Save(cit))
		for s := 0; s < push.MaxDevices; s++ {
			priv, err := ecdh.P256().GenerateKey(rand.Reader)
			must(err)
			auth := make([]byte, 16)
			_, _ = rand.Read(auth)
			sub := core.NewRecord(col(push.CollectionSubscriptions))
			sub.Load(map[string]any{
				"citizen":  cit.Id,
				"endpoint": fmt.Sprintf("http://%s/push/%d-%d", host, c, s),
				"keys":     map[string]string{"p256dh": base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(auth)},
			})
			must(app.Save(sub))
		}
		for r := 0; r < perSub; r++ {
			n++
			rq := core.NewRecord(col("requests"))
			rq.Load(map[string]any{"number": fmt.Sprintf("2026-%06d", n), "citizen": cit.Id, "service": svc.Id, "status": "in_progress", "department": dept.Id, "reported_at": types.NowDateTime()})
			must(app.Save(rq))
			out = append(out, request{id: rq.Id, number: rq.GetString("number"), citizen: cit.Id})
		}
	}
	return out
}
