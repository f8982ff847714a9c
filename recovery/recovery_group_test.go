package recovery

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// roundError names the write (by start order) that answered a caller.
type roundError struct{ n int64 }

func (e *roundError) Error() string { return fmt.Sprintf("round %d", e.n) }

// TestWriteGroupCoalesces: callers arriving while a write is in flight are
// not answered by it (it may have read the database before their commit);
// they share the next write, which begins after the one in flight.
func TestWriteGroupCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g writeGroup
		var started atomic.Int64
		release := make(chan struct{})
		write := func() error {
			n := started.Add(1)
			if n == 1 {
				<-release // the first write is in flight while the others arrive
			}
			return &roundError{n}
		}
		answers := make(chan int64, 9)
		call := func() {
			n := int64(0) // not a round: fails the counts below
			if re, ok := g.do(write).(*roundError); ok {
				n = re.n
			}
			answers <- n
		}
		go call()
		synctest.Wait() // the first write is blocked
		for range 8 {
			go call()
		}
		synctest.Wait() // every later caller waits
		if n := started.Load(); n != 1 {
			t.Fatalf("%d writes began while the first was in flight, want 1", n)
		}
		close(release)
		synctest.Wait()
		if n := started.Load(); n != 2 {
			t.Fatalf("%d writes, want 2 (the first, then one shared by the 8 callers that came during it)", n)
		}
		counts := map[int64]int{}
		for range 9 {
			counts[<-answers]++
		}
		if counts[1] != 1 || counts[2] != 8 {
			t.Fatalf("answers by round %v, want the first caller by round 1 and the 8 others by round 2", counts)
		}
	})
}

// TestWriteGroupCoversEveryCaller: whatever the interleaving, each caller is
// answered by a write that began after it called, and no two writes overlap.
func TestWriteGroupCoversEveryCaller(t *testing.T) {
	var g writeGroup
	var started, running atomic.Int64
	write := func() error {
		if running.Add(1) != 1 {
			t.Error("two witness writes at once")
		}
		n := started.Add(1)
		running.Add(-1)
		return &roundError{n}
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				before := started.Load() // writes begun before this call
				err := g.do(write)
				re, ok := err.(*roundError)
				if !ok {
					t.Errorf("answer %v, want a round", err)
					return
				}
				if re.n <= before {
					t.Errorf("answered by write %d, which began before the call (%d had begun)", re.n, before)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := started.Load(); n > 16*50 {
		t.Fatalf("%d writes for %d calls", n, 16*50)
	}
}
