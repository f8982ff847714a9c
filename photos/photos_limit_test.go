package photos

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"sync"
	"sync/atomic"
	"testing"
)

func tinyJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLimiterBoundsConcurrency holds every photo inside the pipeline until
// the test lets it go: never more than the limit are inside at once, and no
// slot is left over while they are.
func TestLimiterBoundsConcurrency(t *testing.T) {
	const limit, photos = 2, 12
	l := NewLimiter(limit)
	data := tinyJPEG(t, 8, 8)
	var inside, most atomic.Int64
	entered := make(chan struct{}, photos)
	release := make(chan struct{})
	hold := func(b []byte) (*Photo, error) {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		entered <- struct{}{}
		<-release
		inside.Add(-1)
		return Process(b)
	}
	var wg sync.WaitGroup
	errs := make(chan error, photos)
	for range photos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.run(context.Background(), data, hold); err != nil {
				errs <- err
			}
		}()
	}
	entries := 0
	for released := 0; released < photos; released++ {
		// wait until the pipeline is as full as it can get: the limit, or all that is left
		for entries-released < min(limit, photos-released) {
			<-entered
			entries++
		}
		if entries-released == limit && l.slots.TryAcquire(1) {
			t.Fatalf("a slot is free with %d photos inside (limit %d)", inside.Load(), limit)
		}
		release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if m := most.Load(); m != limit {
		t.Fatalf("at most %d photos were inside at once, want exactly the limit %d", m, limit)
	}
}

// TestLimiterRefusesWithoutWaiting: a photo refused by its header never
// waits for a slot, and a photo that waits gives up when its context ends.
func TestLimiterRefusesWithoutWaiting(t *testing.T) {
	l := NewLimiter(1)
	if !l.slots.TryAcquire(1) {
		t.Fatal("new limiter has no free slot")
	}
	_, err := l.Process(context.Background(), []byte("not an image"))
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "not_an_image" {
		t.Fatalf("garbage while the pipeline is full: %v, want not_an_image at once", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Process(ctx, tinyJPEG(t, 8, 8)); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting with an ended context: %v, want context.Canceled", err)
	}
	l.slots.Release(1)
	p, err := l.Process(context.Background(), tinyJPEG(t, 8, 8))
	if err != nil || p.Width != 8 || p.Format != "jpeg" {
		t.Fatalf("with a free slot: %+v, %v", p, err)
	}
	if NewLimiter(0).Size() < 1 {
		t.Fatal("a default limiter has no slot")
	}
}
