package mobileapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/pocketbase/tools/router"
)

func TestKeyedMutex(t *testing.T) {
	var k keyedMutex
	unlockA := k.Lock("a")
	unlockB := k.Lock("b") // another key is not held up by "a"

	var second atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		unlock := k.Lock("a")
		second.Store(true)
		unlock()
	}()
	// wait until the goroutine waits for "a" (its reference is counted first)
	for {
		k.mu.Lock()
		refs := k.locks["a"].refs
		k.mu.Unlock()
		if refs == 2 {
			break
		}
		runtime.Gosched()
	}
	if second.Load() {
		t.Fatal("a second holder got key a while the first held it")
	}
	unlockA()
	<-done
	if !second.Load() {
		t.Fatal("the waiter never got key a")
	}
	unlockB()
	if n := k.held(); n != 0 {
		t.Fatalf("%d keys left after every unlock, want 0", n)
	}
}

// TestRawUploadBody checks that a tus PATCH reaches tusd with the
// connection's body, not through PocketBase's copy-keeping wrapper, and that
// nothing else is changed.
func TestRawUploadBody(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		raw          bool
	}{
		{http.MethodPatch, PathUploads + "att-1", true},
		{http.MethodPost, PathUploads, false},
		{http.MethodPatch, "/api/collections/requests/records/x", false},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			payload := strings.Repeat("photo bytes ", 1000)
			var original io.ReadCloser
			var wrapper *router.RereadableReadCloser
			var got []byte
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// what PocketBase's router does before any middleware runs
				wrapper = &router.RereadableReadCloser{ReadCloser: r.Body}
				r.Body = wrapper
				tr := tusRequest(r, "att-1")
				if tr.URL.Path != "/att-1" {
					t.Errorf("tusd path %q", tr.URL.Path)
				}
				if tc.raw != (tr.Body == original) {
					t.Errorf("body given to tusd is the raw one: %v, want %v", tr.Body == original, tc.raw)
				}
				if !tc.raw && tr.Body != wrapper {
					t.Errorf("body given to tusd is %T, want the router's", tr.Body)
				}
				got, _ = io.ReadAll(tr.Body)
			})
			h := keepRawUploadBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				original = r.Body
				inner.ServeHTTP(w, r)
			}))
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(payload))
			h.ServeHTTP(httptest.NewRecorder(), req)
			if string(got) != payload {
				t.Fatalf("tusd read %d bytes, want %d", len(got), len(payload))
			}
			// the wrapper keeps a copy only of what was read through it
			wrapper.Reread()
			copied, _ := io.ReadAll(wrapper)
			if tc.raw && len(copied) != 0 {
				t.Fatalf("PocketBase's wrapper kept %d bytes of the upload", len(copied))
			}
		})
	}
}
