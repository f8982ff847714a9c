package main

import (
	"fmt"
	"syscall"
	"time"

	"civicdesk/bench/benchserver"
	"civicdesk/city"
	"civicdesk/console"
	"civicdesk/sqlitedb"

	"github.com/pocketbase/pocketbase/core"
)

// cpuNow is this process's user+system CPU time.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// figuresCPU computes every figure in this process on the data dir (read
// only, beside the server) with console.ComputeFigure, as the route does,
// and prints the CPU time per figure from getrusage: the load other
// processes put on the shared machine does not enter it, unlike the
// round-trip times above (which also carry the server's GC and background
// jobs).
func figuresCPU(dir string, runs int) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir, DBConnect: sqlitedb.Connect})
	benchserver.Must(app.Bootstrap())
	defer func() { _ = app.ClearBootstrap() }()
	cfg := city.Default()
	loc := cfg.Location
	now := time.Now()
	local := now.In(loc)
	tomorrow := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)
	last := tomorrow.AddDate(0, 0, -1)
	monday := last.AddDate(0, 0, -((int(last.Weekday()) + 6) % 7))
	fmt.Printf("\nFigures in-process (console.ComputeFigure on the data dir), CPU ms per figure (getrusage, mean of %d):\n", runs)
	fmt.Printf("%-22s %12s %12s\n", "figure", "8 weeks", "52 weeks")
	for _, fig := range console.Figures {
		var out []float64
		for _, from := range []time.Time{monday.AddDate(0, 0, -7*7), monday.AddDate(0, 0, -7*51)} {
			p := &console.StatsParams{From: from, To: tomorrow, Now: now, Loc: loc, Lang: "en"}
			_, err := console.ComputeFigure(app, fig, p) // warm-up
			benchserver.Must(err)
			c0 := cpuNow()
			for i := 0; i < runs; i++ {
				_, err := console.ComputeFigure(app, fig, p)
				benchserver.Must(err)
			}
			out = append(out, float64(cpuNow()-c0)/float64(time.Millisecond)/float64(runs))
		}
		fmt.Printf("%-22s %12.1f %12.1f\n", fig, out[0], out[1])
	}
}
