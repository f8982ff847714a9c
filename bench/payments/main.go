// Command payments measures a bank statement import and prints figures (it
// asserts nothing): N open fees are created through the workflow (each a
// request with its receipt and fee), then one camt.053.001.02 statement with N
// booked credits, one per fee, is imported in one transaction (each line
// matched, booked, the fee paid, the payment receipt signed, the push queued).
// It prints the seconds of the import, lines/s, the CPU time (user+sys) per
// line, and the peak RSS and Go heap. As a baseline measured in the same run it
// saves plain records (a 6-field collection without hooks) through app.Save in
// one transaction and prints the import's CPU per line as a multiple of one
// plain save, a figure that depends little on the machine's load.
//
//	GOTOOLCHAIN=auto go run ./bench/payments -n 50000
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"civicdesk/payments"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func main() {
	n := flag.Int("n", 50000, "open fees and statement lines")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the import to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile (in use at the import's end, before the commit's release) to this file")
	flag.Parse()

	dir, err := os.MkdirTemp("", "civicdesk-bench-payments-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	app, err := tests.NewTestApp(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer app.Cleanup()
	testkit.RegisterAll(app)
	w, err := testkit.Seed(app)
	if err != nil {
		log.Fatal(err)
	}

	start := time.Now()
	col, _ := app.FindCollectionByNameOrId("requests")
	type fee struct{ ref, amount string }
	fees := make([]fee, 0, *n)
	const batch = 500
	for i := 0; i < *n; i += batch {
		err := app.RunInTransaction(func(tx core.App) error {
			for j := i; j < min(i+batch, *n); j++ {
				rec := core.NewRecord(col)
				rec.Load(map[string]any{
					"service": w.Services["residence_certificate"], "citizen": w.CitizenA.Id,
					"answers": map[string]any{"purpose": "bank", "copies": 1, "delivery": "digital"},
				})
				workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: w.CitizenA.Id})
				if err := tx.Save(rec); err != nil {
					return err
				}
				f, err := tx.FindFirstRecordByData("fees", "request", rec.Id)
				if err != nil {
					return err
				}
				fees = append(fees, fee{f.GetString("reference"), payments.FormatAmount(int64(f.GetInt("amount")), "EUR")})
			}
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
		if (i/batch)%20 == 19 {
			fmt.Fprintf(os.Stderr, "created %d fees\n", i+batch)
		}
	}
	seeded := time.Since(start)
	plainCPU, plainN := plainSaves(app, min(*n, 5000))

	var xml bytes.Buffer
	iban := "IT60X0542811101000000123456"
	fmt.Fprintf(&xml, `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId></GrpHdr>
<Stmt><Id>BENCH-1</Id><Acct><Id><IBAN>%s</IBAN></Id><Ccy>EUR</Ccy></Acct>
`, iban)
	for i, f := range fees {
		fmt.Fprintf(&xml, `<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>B%08d</AcctSvcrRef>`+
			`<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RltdPties><Dbtr><Nm>Payer %d</Nm></Dbtr></RltdPties>`+
			`<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>%s</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
`, f.amount, i, i, f.ref)
	}
	xml.WriteString("</Stmt></BkToCstmrStmt></Document>\n")

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := maxRSS()
	var peakHeap uint64
	done := make(chan struct{})
	go func() { // sample the heap while the import runs
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peakHeap = max(peakHeap, m.HeapInuse)
			}
		}
	}()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	t0, c0 := time.Now(), cpuTime()
	res, err := payments.Import(app, bytes.NewReader(xml.Bytes()), "bench.xml", workflow.System)
	took, cpu := time.Since(t0), cpuTime()-c0
	close(done)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	if err != nil {
		log.Fatal(err)
	}
	t1 := time.Now()
	again, err := payments.Import(app, bytes.NewReader(xml.Bytes()), "bench.xml", workflow.System)
	if err != nil || !again.Duplicate {
		log.Fatal("second import: ", err)
	}
	dupTook := time.Since(t1)

	fmt.Printf("fees created through the workflow: %d in %.1f s (%.0f/s)\n", *n, seeded.Seconds(), float64(*n)/seeded.Seconds())
	fmt.Printf("statement: %d lines, %.1f MiB\n", res.Lines, float64(xml.Len())/(1<<20))
	fmt.Printf("import: %.1f s (%.0f lines/s), matched %d, exceptions %d\n", took.Seconds(), float64(res.Lines)/took.Seconds(), res.Matched, res.Exceptions)
	perLine := cpu / time.Duration(max(res.Lines, 1))
	perPlain := plainCPU / time.Duration(max(plainN, 1))
	fmt.Printf("import CPU (user+sys): %.1f s = %.2f ms per line\n", cpu.Seconds(), float64(perLine)/1e6)
	fmt.Printf("baseline, same run: a plain 6-field record through app.Save in one transaction: %.3f ms CPU (%d saves)\n", float64(perPlain)/1e6, plainN)
	fmt.Printf("ratio: one import line costs %.1f plain saves\n", float64(perLine)/float64(perPlain))
	fmt.Printf("same file again (duplicate, nothing written): %.2f s\n", dupTook.Seconds())
	fmt.Printf("Go heap in use: %.0f MiB before, peak %.0f MiB during the import\n", float64(before.HeapInuse)/(1<<20), float64(peakHeap)/(1<<20))
	fmt.Printf("process peak RSS: %.0f MiB before the import, %.0f MiB after\n", rssBefore, maxRSS())
}

// plainSaves saves n records of a 6-field collection without hooks through
// app.Save in one transaction and returns the CPU time it took.
func plainSaves(app core.App, n int) (time.Duration, int) {
	col := core.NewBaseCollection("bench_plain")
	col.Fields.Add(&core.TextField{Name: "a"}, &core.TextField{Name: "b"}, &core.TextField{Name: "c"},
		&core.NumberField{Name: "d"}, &core.BoolField{Name: "e"}, &core.AutodateField{Name: "created", OnCreate: true})
	if err := app.Save(col); err != nil {
		log.Fatal(err)
	}
	c0 := cpuTime()
	err := app.RunInTransaction(func(tx core.App) error {
		for i := 0; i < n; i++ {
			rec := core.NewRecord(col)
			rec.Load(map[string]any{"a": "alpha", "b": fmt.Sprint(i), "c": "gamma", "d": i, "e": i%2 == 0})
			if err := tx.Save(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	return cpuTime() - c0, n
}

// cpuTime is the process's user+sys CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the process's peak resident set size in MiB (Linux: ru_maxrss in KiB).
func maxRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
