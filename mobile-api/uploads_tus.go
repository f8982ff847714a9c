package mobileapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"civicdesk/photos"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/tus/tusd/v2/pkg/filestore"
	tus "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	"golang.org/x/exp/slog"
	"golang.org/x/sync/semaphore"
)

// uploads serves tus 1.0 at PathUploads with tusd's handler and file store.
// The upload id is the client's attachmentId, so a retried creation finds the
// upload it already made; sync_uploads records who owns it and where it is.
type uploads struct {
	app   core.App
	store filestore.FileStore
	tus   *tus.UnroutedHandler
	post  http.Handler
	head  http.Handler
	patch http.Handler
	// creating serializes the creations of one attachmentId, so two retries
	// of one POST make one upload (one lock for all serialized the storm's
	// creations behind each other's SQLite writes: p50 30-40 s a POST)
	creating  keyedMutex
	finishing keyedMutex      // one finisher per upload
	pipeline  *photos.Limiter // photos decoded and encoded at once: one per core
	// inMemory bounds the photos whose bytes (raw, then processed until they
	// are stored) are in memory at once: twice the pipeline, so a photo can
	// wait for the write lock while the next one is processed.
	inMemory *semaphore.Weighted
}

func newUploads(app core.App) (*uploads, error) {
	for _, dir := range []string{tusDir(app), processedDir(app)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	pipeline := photos.NewLimiter(0)
	u := &uploads{app: app, store: filestore.New(tusDir(app)), pipeline: pipeline, inMemory: semaphore.NewWeighted(int64(2 * pipeline.Size()))}
	composer := tus.NewStoreComposer()
	u.store.UseIn(composer)
	memorylocker.New().UseIn(composer)
	h, err := tus.NewUnroutedHandler(tus.Config{
		StoreComposer:             composer,
		BasePath:                  PathUploads,
		MaxSize:                   photos.MaxBytes,
		DisableDownload:           true,
		DisableTermination:        true,
		DisableConcatenation:      true,
		Cors:                      &tus.CorsConfig{Disable: true}, // PocketBase's CORS middleware answers
		PreUploadCreateCallback:   u.preCreate,
		PreFinishResponseCallback: u.preFinish,
		NetworkTimeout:            30 * time.Second,
		// behind a TLS-terminating proxy the Location must say https (see absoluteURL)
		RespectForwardedHeaders: true,
		Logger:                  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("tus handler: %w", err)
	}
	u.tus = h
	u.post = h.Middleware(http.HandlerFunc(h.PostFile))
	u.head = h.Middleware(http.HandlerFunc(h.HeadFile))
	u.patch = h.Middleware(http.HandlerFunc(h.PatchFile))
	return u, nil
}

func (u *uploads) mount(g *router.RouterGroup[*core.RequestEvent]) {
	g.POST("/{$}", u.handlePost)
	g.Route(http.MethodHead, "/{id}", u.handleHead)
	g.PATCH("/{id}", u.handlePatch)
}

// preCreate makes tusd use the attachmentId as the upload id.
func (u *uploads) preCreate(hook tus.HookEvent) (tus.HTTPResponse, tus.FileInfoChanges, error) {
	id := hook.Upload.MetaData["attachmentId"]
	if !clientIDPattern.MatchString(id) {
		return tus.HTTPResponse{}, tus.FileInfoChanges{}, tus.NewError("ERR_INVALID_ATTACHMENT", "invalid attachmentId", http.StatusBadRequest)
	}
	return tus.HTTPResponse{}, tus.FileInfoChanges{ID: id}, nil
}

// preFinish runs the pipeline when the last byte arrived, before tusd answers
// the final PATCH: the client learns about a rejection in that response.
func (u *uploads) preFinish(hook tus.HookEvent) (tus.HTTPResponse, error) {
	// tusd's deadlines (30 s read, 60 s write after the last byte) are for
	// moving bytes; a photo may wait longer than that for the pipeline in a
	// storm, and the answer must still reach the client
	if w, ok := hook.Context.Value(responseKey{}).(http.ResponseWriter); ok {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Now().Add(answerTimeout))
	}
	row, err := u.finish(hook.Context, hook.Upload.ID)
	if err != nil {
		u.app.Logger().Error("Failed to process a photo upload", "upload", hook.Upload.ID, "error", err)
		return tus.HTTPResponse{}, tusError(http.StatusInternalServerError, "server_error", "The photo could not be processed; retry.")
	}
	if row.Status == uploadRejected {
		return tus.HTTPResponse{}, tusError(http.StatusUnprocessableEntity, row.ErrorCode, row.ErrorMessage)
	}
	return tus.HTTPResponse{}, nil
}

// responseKey is the request-context key of a final PATCH's response writer.
type responseKey struct{}

// answerTimeout bounds how long a final PATCH may wait for the pipeline and
// still answer.
const answerTimeout = 5 * time.Minute

// tusError is a tusd error whose body has PocketBase's error shape.
func tusError(status int, code, msg string) tus.Error {
	body, _ := json.Marshal(map[string]any{"status": status, "message": msg, "data": map[string]any{"code": code}})
	return tus.Error{ErrorCode: code, Message: msg, HTTPResponse: tus.HTTPResponse{
		StatusCode: status, Body: string(body), Header: tus.HTTPHeader{"Content-Type": "application/json"},
	}}
}

func (u *uploads) handlePost(e *core.RequestEvent) error {
	meta, err := ParseUploadMetadata(e.Request.Header.Get("Upload-Metadata"))
	if err != nil {
		return requestErrorResponse(e, err)
	}
	size, err := strconv.ParseInt(e.Request.Header.Get("Upload-Length"), 10, 64)
	if err != nil || size < 1 {
		return e.BadRequestError("Upload-Length must be a positive number (deferred lengths are not supported).", nil)
	}
	if size > photos.MaxBytes {
		return e.Error(http.StatusRequestEntityTooLarge, fmt.Sprintf("A photo may be at most %d bytes.", photos.MaxBytes), nil)
	}

	defer u.creating.Lock(meta.AttachmentID)()

	row, err := findUpload(e.App.DB(), meta.AttachmentID)
	switch {
	case err == nil && row.Citizen != e.Auth.Id:
		return e.ForbiddenError("This attachmentId belongs to another account.", nil)
	case err == nil && row.Status == uploadRejected:
		// a fresh attempt after a rejection (e.g. the photo was re-encoded): start over
		if err := u.forget(row); err != nil {
			return e.InternalServerError("Failed to reset the upload.", err)
		}
	case err == nil && (row.Size != size || row.SHA256 != meta.SHA256):
		return e.Error(http.StatusConflict, "This attachmentId was already used for another file.", nil)
	case err == nil:
		if row.Status != uploadUploading || u.tusExists(row.AttachmentID) {
			// a retried creation: answer with the upload that exists
			return u.created(e, row)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return e.InternalServerError("Failed to look up the upload.", err)
	}

	if meta.RequestID != "" {
		req, err := e.App.FindRecordById("requests", meta.RequestID)
		if err == nil && req.GetString("citizen") != e.Auth.Id {
			return e.ForbiddenError("You can add photos only to your own requests.", nil)
		}
	}
	_, err = e.App.DB().NewQuery(`INSERT INTO [[sync_uploads]] ([[attachment_id]], [[citizen]], [[request_id]], [[size]], [[sha256]], [[filetype]], [[status]])
		VALUES ({:id}, {:c}, {:r}, {:size}, {:sha}, {:ft}, {:st})
		ON CONFLICT([[attachment_id]]) DO NOTHING`).Bind(dbx.Params{
		"id": meta.AttachmentID, "c": e.Auth.Id, "r": meta.RequestID, "size": size, "sha": meta.SHA256, "ft": meta.Filetype, "st": uploadUploading,
	}).Execute()
	if err != nil {
		return e.InternalServerError("Failed to record the upload.", err)
	}
	u.post.ServeHTTP(e.Response, e.Request)
	return nil
}

// created answers a repeated creation with the existing upload's location.
// An upload whose bytes all arrived but whose final PATCH got no answer (the
// client gave up waiting, the server died) is finished first, as HEAD does:
// a client told "offset = length" considers the upload done and never sends
// the PATCH that would have processed it.
func (u *uploads) created(e *core.RequestEvent, row *uploadRow) error {
	offset := row.Size
	if row.Status == uploadUploading {
		if info, err := u.tusInfo(row.AttachmentID); err == nil {
			offset = info.Offset
			if info.Offset == info.Size {
				if row, err = u.finish(e.Request.Context(), row.AttachmentID); err != nil {
					return e.InternalServerError("The photo could not be processed; retry.", err)
				}
				if row.Status == uploadRejected {
					return rejectedUpload(e, row)
				}
			}
		}
	}
	h := e.Response.Header()
	h.Set("Tus-Resumable", "1.0.0")
	h.Set("Location", absoluteURL(e.Request, PathUploads+row.AttachmentID))
	h.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	return e.NoContent(http.StatusCreated)
}

// absoluteURL builds a Location the way tusd does with RespectForwardedHeaders,
// so a repeated creation answers the very same URL as the first one.
func absoluteURL(r *http.Request, path string) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + host + path
}

// owned loads the upload in the path if it is the caller's (else 404: no probing).
func (u *uploads) owned(e *core.RequestEvent) (*uploadRow, error) {
	id := e.Request.PathValue("id")
	if !clientIDPattern.MatchString(id) {
		return nil, e.NotFoundError("", nil)
	}
	row, err := findUpload(e.App.DB(), id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && row.Citizen != e.Auth.Id) {
		return nil, e.NotFoundError("", nil)
	}
	if err != nil {
		return nil, e.InternalServerError("Failed to look up the upload.", err)
	}
	return row, nil
}

func (u *uploads) handleHead(e *core.RequestEvent) error {
	row, err := u.owned(e)
	if err != nil {
		return err
	}
	if row.Status == uploadUploading {
		if info, err := u.tusInfo(row.AttachmentID); err == nil && info.Offset == info.Size {
			// complete but not processed (the server died in between): finish now
			if row, err = u.finish(e.Request.Context(), row.AttachmentID); err != nil {
				return e.InternalServerError("The photo could not be processed; retry.", err)
			}
		}
	}
	switch row.Status {
	case uploadUploading:
		u.head.ServeHTTP(e.Response, tusRequest(e.Request, row.AttachmentID))
		return nil
	case uploadRejected:
		return rejectedUpload(e, row)
	}
	return u.complete(e, row, http.StatusOK)
}

func (u *uploads) handlePatch(e *core.RequestEvent) error {
	row, err := u.owned(e)
	if err != nil {
		return err
	}
	switch row.Status {
	case uploadUploading:
		r := tusRequest(e.Request, row.AttachmentID)
		u.patch.ServeHTTP(e.Response, r.WithContext(context.WithValue(r.Context(), responseKey{}, e.Response)))
		return nil
	case uploadRejected:
		return rejectedUpload(e, row)
	}
	if off, _ := strconv.ParseInt(e.Request.Header.Get("Upload-Offset"), 10, 64); off != row.Size {
		e.Response.Header().Set("Tus-Resumable", "1.0.0")
		return e.Error(http.StatusConflict, "The upload is complete; its offset is its length.", nil)
	}
	return u.complete(e, row, http.StatusNoContent)
}

// complete answers HEAD/PATCH for an upload that is already processed.
func (u *uploads) complete(e *core.RequestEvent, row *uploadRow, status int) error {
	h := e.Response.Header()
	h.Set("Tus-Resumable", "1.0.0")
	h.Set("Cache-Control", "no-store")
	h.Set("Upload-Offset", strconv.FormatInt(row.Size, 10))
	h.Set("Upload-Length", strconv.FormatInt(row.Size, 10))
	return e.NoContent(status)
}

func rejectedUpload(e *core.RequestEvent, row *uploadRow) error {
	e.Response.Header().Set("Tus-Resumable", "1.0.0")
	return e.JSON(http.StatusUnprocessableEntity, map[string]any{
		"status": http.StatusUnprocessableEntity, "message": row.ErrorMessage, "data": map[string]any{"code": row.ErrorCode},
	})
}

// tusRequest is r with the path tusd expects (the upload id only) and the
// body as the connection gives it (see keepRawUploadBody).
func tusRequest(r *http.Request, id string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + id
	r2.URL.RawPath = ""
	r2.Body = rawBody(r)
	return r2
}

func (u *uploads) tusExists(id string) bool {
	_, err := u.tusInfo(id)
	return err == nil
}

func (u *uploads) tusInfo(id string) (tus.FileInfo, error) {
	up, err := u.store.GetUpload(context.Background(), id)
	if err != nil {
		return tus.FileInfo{}, err
	}
	return up.GetInfo(context.Background())
}
