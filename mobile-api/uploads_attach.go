package mobileapi

import (
	"fmt"
	"os"
	"path/filepath"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Upload statuses (sync_uploads.status).
const (
	uploadUploading = "uploading" // bytes still arriving (tus)
	uploadReady     = "ready"     // processed, waiting for its request
	uploadAttached  = "attached"  // stored on the request
	uploadRejected  = "rejected"  // refused: checksum, not an image, too big, too many
)

// uploadRow is one row of sync_uploads.
type uploadRow struct {
	AttachmentID string `db:"attachment_id" json:"id"`
	Citizen      string `db:"citizen" json:"-"`
	RequestID    string `db:"request_id" json:"-"`
	Size         int64  `db:"size" json:"-"`
	SHA256       string `db:"sha256" json:"-"`
	Filetype     string `db:"filetype" json:"-"`
	Status       string `db:"status" json:"status"`
	Processed    string `db:"processed" json:"-"`
	Filename     string `db:"filename" json:"filename,omitempty"`
	ErrorCode    string `db:"error_code" json:"errorCode,omitempty"`
	ErrorMessage string `db:"error_message" json:"errorMessage,omitempty"`
	Created      string `db:"created" json:"-"`
	Updated      string `db:"updated" json:"-"`

	data []byte // the processed photo when it is attached straight from memory
}

// uploadsDir is where tus keeps partial uploads and the pipeline keeps processed photos.
func uploadsDir(app core.App) string { return filepath.Join(app.DataDir(), "mobile_uploads") }

func tusDir(app core.App) string       { return filepath.Join(uploadsDir(app), "tus") }
func processedDir(app core.App) string { return filepath.Join(uploadsDir(app), "processed") }

func findUpload(db dbx.Builder, attachmentID string) (*uploadRow, error) {
	row := &uploadRow{}
	err := db.NewQuery("SELECT * FROM [[sync_uploads]] WHERE [[attachment_id]] = {:id}").Bind(dbx.Params{"id": attachmentID}).One(row)
	if err != nil {
		return nil, err
	}
	return row, nil
}

func setUploadStatus(tx core.App, id, status, code, msg string, extra dbx.Params) error {
	params := dbx.Params{"status": status, "error_code": code, "error_message": truncate(msg, 1000), "updated": types.NowDateTime().String()}
	for k, v := range extra {
		params[k] = v
	}
	_, err := tx.DB().Update("sync_uploads", params, dbx.HashExp{"attachment_id": id}).Execute()
	if err != nil {
		return fmt.Errorf("update upload %s: %w", id, err)
	}
	return nil
}

// attachReady stores on rec every processed upload of the actor that names
// rec (by the upload's requestId or by the mutation's attachment list), and
// points still-running uploads of that list at rec so they attach when they
// complete. It runs inside the caller's transaction.
func attachReady(tx core.App, rec *core.Record, actor workflow.Actor, attachmentIDs []string) error {
	if len(attachmentIDs) > 0 {
		ids := make([]any, len(attachmentIDs))
		for i, id := range attachmentIDs {
			ids[i] = id
		}
		_, err := tx.DB().Update("sync_uploads", dbx.Params{"request_id": rec.Id}, dbx.And(
			dbx.HashExp{"citizen": actor.ID}, dbx.In("attachment_id", ids...), dbx.In("status", uploadUploading, uploadReady),
		)).Execute()
		if err != nil {
			return fmt.Errorf("bind uploads to %s: %w", rec.Id, err)
		}
	}
	var rows []*uploadRow
	err := tx.DB().NewQuery("SELECT * FROM [[sync_uploads]] WHERE [[citizen]] = {:c} AND [[request_id]] = {:r} AND [[status]] = {:s} ORDER BY [[created]], [[attachment_id]]").
		Bind(dbx.Params{"c": actor.ID, "r": rec.Id, "s": uploadReady}).All(&rows)
	if err != nil {
		return fmt.Errorf("load ready uploads: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	return attachRows(tx, rec, actor, rows)
}

// attachRows appends the processed photos of rows to rec through the records
// layer (so the hooks check the photo policy and log the `photo` event).
func attachRows(tx core.App, rec *core.Record, actor workflow.Actor, rows []*uploadRow) error {
	room := maxAttachments - len(rec.GetStringSlice("photos"))
	var files []*filesystem.File
	var attached []*uploadRow
	for _, row := range rows {
		if room <= 0 {
			if err := setUploadStatus(tx, row.AttachmentID, uploadRejected, "too_many_photos", fmt.Sprintf("A request has at most %d photos.", maxAttachments), nil); err != nil {
				return err
			}
			continue
		}
		data := row.data
		if data == nil {
			var err error
			if data, err = os.ReadFile(filepath.Join(processedDir(tx), row.Processed)); err != nil {
				return fmt.Errorf("read processed photo %s: %w", row.AttachmentID, err)
			}
		}
		f, err := filesystem.NewFileFromBytes(data, "photo"+filepath.Ext(row.Processed))
		if err != nil {
			return fmt.Errorf("photo file %s: %w", row.AttachmentID, err)
		}
		files = append(files, f)
		attached = append(attached, row)
		room--
	}
	if len(files) == 0 {
		return nil
	}
	rec.Set("photos+", files)
	workflow.AttachActor(rec, actor)
	workflow.MarkPhotosProcessed(rec) // package photos already checked and re-encoded them
	if err := tx.Save(rec); err != nil {
		return err
	}
	for i, row := range attached {
		if err := setUploadStatus(tx, row.AttachmentID, uploadAttached, "", "", dbx.Params{"request_id": rec.Id, "filename": files[i].Name}); err != nil {
			return err
		}
	}
	// the processed copies are now in PocketBase's storage; drop ours once that is committed
	removeAfterCommit(tx, attached)
	return nil
}

func removeAfterCommit(tx core.App, rows []*uploadRow) {
	paths := make([]string, 0, len(rows))
	for _, r := range rows {
		paths = append(paths, filepath.Join(processedDir(tx), r.Processed))
	}
	remove := func() {
		for _, p := range paths {
			_ = os.Remove(p)
		}
	}
	if info := tx.TxInfo(); info != nil {
		info.OnComplete(func(txErr error) error {
			if txErr == nil {
				remove()
			}
			return nil
		})
		return
	}
	remove()
}
