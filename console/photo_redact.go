package console

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"slices"

	"civicdesk/photos"
	"civicdesk/workflow"

	"github.com/disintegration/imaging"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// MaxRedactBoxes bounds one redaction.
const MaxRedactBoxes = 20

// Box is a rectangle as fractions (0..1) of the image's width and height.
type Box struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

func checkBoxes(boxes []Box) error {
	if len(boxes) == 0 || len(boxes) > MaxRedactBoxes {
		return validation.NewError("validation_boxes_count", fmt.Sprintf("Give 1–%d boxes.", MaxRedactBoxes))
	}
	for i, b := range boxes {
		if b.X < 0 || b.Y < 0 || b.W <= 0 || b.H <= 0 || b.X+b.W > 1.0001 || b.Y+b.H > 1.0001 {
			return validation.NewError("validation_box_outside", fmt.Sprintf("Box %d must lie within the image: x, y ≥ 0, w, h > 0, x+w ≤ 1, y+h ≤ 1.", i+1))
		}
	}
	return nil
}

// Redact blacks out boxes of an image and re-encodes it without metadata
// (PNG stays PNG, everything else becomes JPEG). The header is checked
// before decoding (decompression bombs).
func Redact(data []byte, boxes []Box) ([]byte, string, error) {
	_, format, err := photos.Header(data)
	if err != nil {
		return nil, "", err
	}
	src, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, "", fmt.Errorf("decode: %w", err)
	}
	img := imaging.Clone(src)
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	for _, b := range boxes {
		r := image.Rect(int(b.X*float64(w)), int(b.Y*float64(h)), int((b.X+b.W)*float64(w)+0.999), int((b.Y+b.H)*float64(h)+0.999)).Intersect(img.Bounds())
		draw.Draw(img, r, image.Black, image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if format == "png" {
		if err := png.Encode(&buf, img); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), ".png", nil
	}
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: photos.JPEGQuality}); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), ".jpg", nil
}

func handleRedact(e *core.RequestEvent) error {
	var body struct {
		Boxes []Box `json:"boxes"`
	}
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("The body must be {boxes: [{x, y, w, h}]}.", validation.Errors{"boxes": validation.NewError("validation_invalid_json", "boxes must be a list of {x, y, w, h}.")})
	}
	if err := checkBoxes(body.Boxes); err != nil {
		return e.BadRequestError("Invalid boxes.", validation.Errors{"boxes": err})
	}
	rec, err := loadVisible(e, func() (*core.Record, error) { return e.App.FindRecordById("requests", e.Request.PathValue("id")) })
	if err != nil {
		return err
	}
	info, _ := e.RequestInfo()
	if ok, _ := e.App.CanAccessRecord(rec, info, rec.Collection().UpdateRule); !ok {
		return e.ForbiddenError("You may not change this request.", nil)
	}
	name := e.Request.PathValue("filename")
	names := rec.GetStringSlice("photos")
	idx := slices.Index(names, name)
	if idx < 0 {
		return e.NotFoundError("No such photo on this request.", nil)
	}
	fsys, err := e.App.NewFilesystem()
	if err != nil {
		return e.InternalServerError("", err)
	}
	defer fsys.Close()
	r, err := fsys.GetReader(rec.BaseFilesPath() + "/" + name)
	if err != nil {
		return e.NotFoundError("The photo file is missing.", err)
	}
	data, err := io.ReadAll(io.LimitReader(r, photos.MaxBytes+1))
	r.Close()
	if err != nil {
		return e.InternalServerError("", err)
	}
	out, ext, err := Redact(data, body.Boxes)
	if err != nil {
		return e.BadRequestError("The photo could not be redacted.", validation.Errors{"filename": validation.NewError("validation_photo", err.Error())})
	}
	file, err := filesystem.NewFileFromBytes(out, "redacted"+ext)
	if err != nil {
		return e.InternalServerError("", err)
	}

	actor := workflow.ActorFromAuth(e.Auth)
	err = e.App.RunInTransaction(func(tx core.App) error {
		fresh, err := tx.FindRecordById("requests", rec.Id)
		if err != nil {
			return err
		}
		current := fresh.GetStringSlice("photos")
		if slices.Index(current, name) != idx {
			return e.Error(http.StatusConflict, "The photos changed meanwhile; reload the request.", nil)
		}
		files := make([]any, 0, len(current))
		for i, n := range current {
			if i == idx {
				files = append(files, file)
			} else {
				files = append(files, n)
			}
		}
		// the original is removed by PocketBase once the save commits (no copy is kept)
		fresh.Set("photos", files)
		workflow.AttachActor(fresh, actor)
		if err := tx.Save(fresh); err != nil {
			return err
		}
		col, err := tx.FindCachedCollectionByNameOrId("request_events")
		if err != nil {
			return err
		}
		ev := core.NewRecord(col)
		ev.Load(map[string]any{"request": fresh.Id, "type": "photo", "public": false, "author": actor.ID, "author_type": "staff",
			"message": fmt.Sprintf("Photo %d redacted (%d boxes).", idx+1, len(body.Boxes))})
		workflow.AttachActor(ev, workflow.System) // a workflow entry, not a comment
		if err := tx.Save(ev); err != nil {
			return err
		}
		rec = fresh
		return nil
	})
	if err != nil {
		return firstAPIError(e, err, "The photo could not be replaced.")
	}
	return e.JSON(http.StatusOK, rec.PublicExport())
}
