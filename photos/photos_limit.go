package photos

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sync/semaphore"
)

// Limiter runs the pipeline for at most a fixed number of photos at once and
// within a pixel budget (MaxPixels at once, so one 40 MP photo decodes alone).
//
// Decoding and encoding are pure CPU: more photos at once than cores finish
// none sooner, but each one in progress holds its pixels (~4 bytes a pixel per
// copy), so a storm of uploads would otherwise hold hundreds of half-decoded
// photos at once. Photos past the limit wait, holding nothing, in FIFO order.
type Limiter struct {
	slots  *semaphore.Weighted
	pixels *semaphore.Weighted
	n      int
}

// NewLimiter returns a Limiter for n photos at once (n < 1 means one per
// core, GOMAXPROCS).
func NewLimiter(n int) *Limiter {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Limiter{slots: semaphore.NewWeighted(int64(n)), pixels: semaphore.NewWeighted(MaxPixels), n: n}
}

// Size is the number of photos processed at once.
func (l *Limiter) Size() int { return l.n }

// Process is Process within the limits: it checks the header first (a
// refused photo never waits), then waits for a slot and for its pixels in
// the budget, or for ctx to end.
func (l *Limiter) Process(ctx context.Context, data []byte) (*Photo, error) {
	return l.run(ctx, data, Process)
}

func (l *Limiter) run(ctx context.Context, data []byte, process func([]byte) (*Photo, error)) (*Photo, error) {
	cfg, _, err := Header(data)
	if err != nil {
		return nil, err
	}
	if err := l.slots.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("wait for the photo pipeline: %w", err)
	}
	defer l.slots.Release(1)
	weight := int64(cfg.Width) * int64(cfg.Height)
	if err := l.pixels.Acquire(ctx, weight); err != nil {
		return nil, fmt.Errorf("wait for the pixel budget: %w", err)
	}
	defer l.pixels.Release(weight)
	return process(data)
}
