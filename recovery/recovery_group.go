package recovery

import "sync"

// writeGroup shares one witness write among concurrent callers (a group
// commit): the per-request write after every created request costs three
// reads, a file write, an fsync and a rename, and under load most of them
// would find the witness already up to date.
type writeGroup struct {
	mu      sync.Mutex
	writing *writeRound // the round reading and writing now
	waiting *writeRound // the next round, collecting callers until writing is done
}

// writeRound is one write shared by every caller that joined it.
type writeRound struct {
	done chan struct{} // closed when the round's write returned
	err  error         // the write's result, read after done
}

// do runs write for the caller, or joins a round that has not begun yet:
// it returns only after a write that began after do was called has
// returned, so whatever committed before the call is covered by it. A
// caller arriving while a round is in flight (which may have read the
// database before the caller's commit) opens or joins the next round, which
// begins when the one in flight is done. The caller that opened a round
// runs its write; the others wait for it.
func (g *writeGroup) do(write func() error) error {
	g.mu.Lock()
	if r := g.waiting; r != nil {
		g.mu.Unlock()
		<-r.done
		return r.err
	}
	r := &writeRound{done: make(chan struct{})}
	prev := g.writing
	if prev == nil {
		g.writing = r
	} else {
		g.waiting = r
	}
	g.mu.Unlock()

	if prev != nil {
		<-prev.done
		g.mu.Lock()
		g.waiting, g.writing = nil, r // from here on, newcomers open the next round
		g.mu.Unlock()
	}
	r.err = write()
	g.mu.Lock()
	if g.writing == r {
		g.writing = nil
	}
	g.mu.Unlock()
	close(r.done)
	return r.err
}
