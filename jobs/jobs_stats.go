package jobs

import (
	"sort"
	"sync"
	"time"
)

// JobStats are the counters of one job since the process started (metrics).
type JobStats struct {
	Name        string
	Runs        int64
	Failures    int64
	LastSuccess time.Time // zero until a run succeeded
}

// stats collects JobStats; the zero value is ready.
type stats struct {
	mu   sync.Mutex
	jobs map[string]*JobStats
}

func (s *stats) record(name string, err error, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs == nil {
		s.jobs = map[string]*JobStats{}
	}
	js := s.jobs[name]
	if js == nil {
		js = &JobStats{Name: name}
		s.jobs[name] = js
	}
	js.Runs++
	if err != nil {
		js.Failures++
	} else {
		js.LastSuccess = at
	}
}

// Stats returns every scheduled job's counters, by name.
func (s *Scheduler) Stats() []JobStats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := make([]JobStats, 0, len(s.jobs))
	for name := range s.jobs {
		js := JobStats{Name: name}
		if got := s.stats.jobs[name]; got != nil {
			js = *got
		}
		out = append(out, js)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
