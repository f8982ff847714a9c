package mobileapi

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"civicdesk/photos"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// finish checks a completely received upload (size, sha256), runs the photo
// pipeline and binds the result: attached to its request if that exists,
// else kept as `ready` until request.create names it. It is idempotent and
// returns the upload's row as it stands afterwards.
//
// It carries on when the client goes away: every byte is here, and a retry
// then finds the photo attached. ctx gives only its values: net/http and tusd
// cancel a request's context while its answer is still awaited (tusd's 30 s
// read deadline outlives the body; 10 s later its hook context ends), which
// under a storm dropped every photo that waited over 40 s for the pipeline.
func (u *uploads) finish(ctx context.Context, id string) (*uploadRow, error) {
	ctx = context.WithoutCancel(ctx)
	// one finisher per upload (the final PATCH and a HEAD after a crash may race)
	defer u.finishing.Lock(id)()

	row, err := findUpload(u.app.DB(), id)
	if err != nil {
		return nil, fmt.Errorf("load upload %s: %w", id, err)
	}
	if row.Status != uploadUploading {
		return row, nil // processed by an earlier attempt
	}

	// the photo's bytes are in memory from here until it is stored: bounded
	// whatever the number of uploads finishing at once (the others wait here
	// holding nothing but their connection)
	if err := u.inMemory.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("wait to process upload %s: %w", id, err)
	}
	defer u.inMemory.Release(1)
	data, err := os.ReadFile(filepath.Join(tusDir(u.app), id))
	if err != nil {
		return nil, fmt.Errorf("read upload %s: %w", id, err)
	}
	if int64(len(data)) != row.Size {
		return u.reject(row, "size_mismatch", fmt.Sprintf("Received %d bytes, announced %d.", len(data), row.Size))
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != row.SHA256 {
		return u.reject(row, "checksum_mismatch", "The photo's sha256 does not match what was announced; it was damaged on the way. Upload it again.")
	}
	photo, err := u.pipeline.Process(ctx, data)
	data = nil // let the raw bytes go before the next allocation
	var pe *photos.Error
	if errors.As(err, &pe) {
		return u.reject(row, pe.Code, pe.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("process upload %s: %w", id, err)
	}

	// the common order is request.create first, photo second: attach straight
	// from memory, and keep a durable copy only when the photo has to wait
	name := id + photo.Ext
	refusal, err := u.bind(id, name, photo.Data)
	if errors.Is(err, errNeedCopy) {
		if err := writeDurably(filepath.Join(processedDir(u.app), name), photo.Data); err != nil {
			return nil, err
		}
		refusal, err = u.bind(id, name, nil)
	}
	switch {
	case err != nil:
		return nil, err
	case refusal != nil:
		_ = os.Remove(filepath.Join(processedDir(u.app), name))
		return u.reject(row, "photo_refused", refusal.Message)
	}
	u.removeTus(id)
	return findUpload(u.app.DB(), id)
}

// errNeedCopy says the photo must wait for its request: write it to disk first.
var errNeedCopy = errors.New("the photo waits for its request")

// bind attaches a processed photo to its request if that exists, else marks
// it ready (only once its processed copy is on disk: data == nil). A refusal
// by the request's hooks (closed request, no photos taken) is returned with
// everything rolled back.
func (u *uploads) bind(id, name string, data []byte) (*mutationError, error) {
	var refusal *mutationError
	err := u.app.RunInTransaction(func(tx core.App) error {
		row, err := findUpload(tx.DB(), id)
		if err != nil {
			return fmt.Errorf("reload upload %s: %w", id, err)
		}
		if row.Status != uploadUploading {
			return nil // bound by an earlier attempt
		}
		var req *core.Record
		if row.RequestID != "" {
			req, err = tx.FindRecordById("requests", row.RequestID)
			switch {
			case errors.Is(err, sql.ErrNoRows) || (err == nil && req.GetString("citizen") != row.Citizen):
				req = nil // its request.create has not arrived yet: attach then
			case err != nil:
				return fmt.Errorf("load request %s: %w", row.RequestID, err)
			}
		}
		if req == nil && data != nil {
			return errNeedCopy
		}
		if err := setUploadStatus(tx, id, uploadReady, "", "", dbx.Params{"processed": name}); err != nil {
			return err
		}
		if req == nil {
			return nil
		}
		row.Processed, row.data = name, data
		err = attachRows(tx, req, workflow.Actor{Kind: workflow.ActorCitizen, ID: row.Citizen}, []*uploadRow{row})
		if rej, cerr := classify(err); cerr != nil {
			return cerr
		} else if rej != nil {
			refusal = rej
			return errRedo // roll back the half-done attach
		}
		return nil
	})
	if errors.Is(err, errRedo) {
		return refusal, nil
	}
	return nil, err
}

// reject marks the upload refused and drops its bytes: nothing is attached.
func (u *uploads) reject(row *uploadRow, code, msg string) (*uploadRow, error) {
	if err := setUploadStatus(u.app, row.AttachmentID, uploadRejected, code, msg, nil); err != nil {
		return nil, err
	}
	u.removeTus(row.AttachmentID)
	return findUpload(u.app.DB(), row.AttachmentID)
}

// forget deletes an upload entirely (row and files).
func (u *uploads) forget(row *uploadRow) error {
	u.removeTus(row.AttachmentID)
	if row.Processed != "" {
		_ = os.Remove(filepath.Join(processedDir(u.app), row.Processed))
	}
	_, err := u.app.DB().Delete("sync_uploads", dbx.HashExp{"attachment_id": row.AttachmentID}).Execute()
	return err
}

func (u *uploads) removeTus(id string) {
	_ = os.Remove(filepath.Join(tusDir(u.app), id))
	_ = os.Remove(filepath.Join(tusDir(u.app), id+".info"))
}

// writeDurably writes data to path through a synced temporary file, so a
// crash leaves either the whole file or none.
func writeDurably(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

// PruneUploads removes uploads that never got bound to a request (still
// uploading, processed but unclaimed, or rejected) and were last touched
// before cutoff, with their files. Attached uploads keep their small
// row, so a client resuming late still learns its photo is stored. The jobs
// package runs it daily (jobs.SyncCleanup, 30 days).
func PruneUploads(app core.App, before time.Time) (int, error) {
	cutoff, _ := types.ParseDateTime(before)
	var rows []*uploadRow
	err := app.DB().NewQuery("SELECT * FROM [[sync_uploads]] WHERE [[status]] != {:attached} AND [[updated]] < {:cutoff}").
		Bind(dbx.Params{"attached": uploadAttached, "cutoff": cutoff.String()}).All(&rows)
	if err != nil {
		return 0, fmt.Errorf("list stale uploads: %w", err)
	}
	u := &uploads{app: app}
	for _, row := range rows {
		if err := u.forget(row); err != nil {
			return 0, fmt.Errorf("prune upload %s: %w", row.AttachmentID, err)
		}
	}
	if err := u.sweepOrphans(); err != nil {
		return len(rows), err
	}
	return len(rows), nil
}

// sweepOrphans removes files a crash left behind: raw bytes of uploads that
// are no longer receiving, processed copies already attached or refused.
func (u *uploads) sweepOrphans() error {
	for _, dir := range []string{tusDir(u.app), processedDir(u.app)} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("list %s: %w", dir, err)
		}
		for _, entry := range entries {
			name := entry.Name()
			id := strings.TrimSuffix(strings.TrimSuffix(name, ".info"), filepath.Ext(name))
			if dir == tusDir(u.app) {
				id = strings.TrimSuffix(name, ".info")
			}
			row, err := findUpload(u.app.DB(), id)
			keep := err == nil && (row.Status == uploadUploading || (row.Status == uploadReady && dir == processedDir(u.app)))
			if errors.Is(err, sql.ErrNoRows) || (err == nil && !keep) {
				_ = os.Remove(filepath.Join(dir, name))
			}
		}
	}
	return nil
}
