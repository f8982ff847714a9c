package main

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// CIVICDESK_CPUPROFILE=<path> makes the server record a CPU profile from its
// start until it receives SIGUSR1 (the load tools in bench/ send it before they
// stop the server); the profile appears at <path> once it is complete. It is
// for measuring only: nothing is recorded without the variable.
func init() {
	path := os.Getenv("CIVICDESK_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path + ".part")
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGUSR1)
	go func() {
		<-stop
		pprof.StopCPUProfile()
		if f.Close() == nil {
			_ = os.Rename(path+".part", path)
		}
	}()
}
