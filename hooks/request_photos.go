package hooks

import (
	"errors"
	"fmt"
	"io"

	"civicdesk/photos"
	"civicdesk/workflow"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// onRequestPhotosUpload runs the photo pipeline (header guard, EXIF
// orientation, metadata stripped) over files uploaded through the records API
// and the dashboard, before the write's transaction starts: decoding a photo
// takes tens of milliseconds that must not hold the single writer.
func onRequestPhotosUpload(e *core.RecordRequestEvent) error {
	if err := replaceUploadedPhotos(e.Record); err != nil {
		return err
	}
	return e.Next()
}

// replaceUploadedPhotos swaps every unsaved photo of rec for its processed copy.
func replaceUploadedPhotos(rec *core.Record) error {
	if len(rec.GetUnsavedFiles("photos")) == 0 {
		return nil
	}
	list := photoValues(rec.GetRaw("photos"))
	for i, v := range list {
		f, ok := v.(*filesystem.File)
		if !ok {
			continue
		}
		data, err := readAll(f)
		if err != nil {
			return err
		}
		p, err := photos.Process(data)
		if err != nil {
			return photoError(err)
		}
		clean, err := filesystem.NewFileFromBytes(p.Data, "photo"+p.Ext)
		if err != nil {
			return fmt.Errorf("wrap processed photo: %w", err)
		}
		list[i] = clean
	}
	rec.Set("photos", list)
	workflow.MarkPhotosProcessed(rec)
	return nil
}

// checkPhotoHeaders is the data layer's guard for Go code paths that did not
// go through the pipeline: only the header is read, never the pixels.
func checkPhotoHeaders(rec *core.Record) error {
	if workflow.PhotosProcessed(rec) {
		return nil
	}
	for _, f := range rec.GetUnsavedFiles("photos") {
		data, err := readAll(f)
		if err != nil {
			return err
		}
		if _, _, err := photos.Header(data); err != nil {
			return photoError(err)
		}
	}
	return nil
}

func photoValues(raw any) []any {
	switch v := raw.(type) {
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case nil:
		return nil
	default:
		return []any{v}
	}
}

func readAll(f *filesystem.File) ([]byte, error) {
	r, err := f.Reader.Open()
	if err != nil {
		return nil, fmt.Errorf("open uploaded photo: %w", err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, photos.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read uploaded photo: %w", err)
	}
	return data, nil
}

func photoError(err error) error {
	var pe *photos.Error
	if errors.As(err, &pe) {
		return validation.Errors{"photos": validation.NewError("validation_photo_"+pe.Code, pe.Message)}
	}
	return err
}
