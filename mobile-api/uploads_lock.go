package mobileapi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
)

// keyedMutex is one mutex per key (an upload's attachmentId): work on one
// upload is serialized, work on different uploads is not. A key's mutex lives
// while anyone holds or waits for it.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	refs int // holders and waiters
}

// Lock locks key and returns its unlock.
func (k *keyedMutex) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()

	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// held is the number of keys locked or waited for (for tests).
func (k *keyedMutex) held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.locks)
}

// rawBodyKey is the request-context key of an upload's body as the
// connection gives it.
type rawBodyKey struct{}

// keepRawUploadBody wraps the server's handler: it keeps the body of a tus
// PATCH in the request's context before PocketBase's router wraps it in a
// RereadableReadCloser, which keeps a copy of everything read (in memory up
// to 16 MB) until the request ends. tusd streams a PATCH to disk and never
// rereads it; with the copy every upload in progress, or waiting for the
// photo pipeline, held its whole photo once more (a 1,000-phone storm: the
// live heap grew by ~125 MB).
func keepRawUploadBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, PathUploads) && r.Body != nil {
			r = r.WithContext(context.WithValue(r.Context(), rawBodyKey{}, r.Body))
		}
		next.ServeHTTP(w, r)
	})
}

// rawBody is the body keepRawUploadBody kept for r, else r.Body (a server
// built without the wrapper, as in tests through the router alone). Nothing
// in front of the upload handlers reads a PATCH body, so the raw body is
// still at its first byte.
func rawBody(r *http.Request) io.ReadCloser {
	if raw, ok := r.Context().Value(rawBodyKey{}).(io.ReadCloser); ok {
		return raw
	}
	return r.Body
}
