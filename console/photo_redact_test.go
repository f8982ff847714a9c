package console_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

func whiteJPEG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			img.Set(x, y, color.White)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRedactPhoto(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	f, _ := filesystem.NewFileFromBytes(whiteJPEG(t), "face.jpg")
	req := file(t, w, "pothole", w.CitizenA, map[string]any{"photos": []any{f}})
	req, _ = w.App.FindRecordById("requests", req.Id)
	name := req.GetStringSlice("photos")[0]
	clerk := testkit.Token(t, w.ClerkRoads)
	path := func(n string) string { return "/api/staff/requests/" + req.Id + "/photos/" + n + "/redact" }
	box := `{"boxes":[{"x":0,"y":0,"w":0.5,"h":0.5}]}`

	for _, c := range []struct {
		name, token, path, body string
		status                  int
	}{
		{"other department", testkit.Token(t, w.ClerkRegistry), path(name), box, 404},
		{"citizen", testkit.Token(t, w.CitizenA), path(name), box, 403},
		{"unknown photo", clerk, path("nope.jpg"), box, 404},
		{"box outside", clerk, path(name), `{"boxes":[{"x":0.8,"y":0,"w":0.5,"h":0.5}]}`, 400},
		{"no boxes", clerk, path(name), `{"boxes":[]}`, 400},
	} {
		res := w.Do(t, http.MethodPost, c.path, c.token, c.body)
		if res.Status != c.status || (c.status == 400 && !strings.Contains(res.Body, `"boxes"`)) {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
	if fresh, _ := w.App.FindRecordById("requests", req.Id); fresh.GetStringSlice("photos")[0] != name {
		t.Fatal("a refused redaction changed the photo")
	}

	res := w.Do(t, http.MethodPost, path(name), clerk, box)
	if res.Status != 200 {
		t.Fatalf("redact: %d %s", res.Status, res.Body)
	}
	fresh, _ := w.App.FindRecordById("requests", req.Id)
	newName := fresh.GetStringSlice("photos")[0]
	if newName == name || len(fresh.GetStringSlice("photos")) != 1 {
		t.Fatalf("photos after redaction: %v", fresh.GetStringSlice("photos"))
	}
	fsys, err := w.App.NewFilesystem()
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if ok, _ := fsys.Exists(fresh.BaseFilesPath() + "/" + name); ok {
		t.Fatal("the original is still stored")
	}
	r, err := fsys.GetReader(fresh.BaseFilesPath() + "/" + newName)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r)
	r.Close()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	lum := func(x, y int) uint32 { r, g, b, _ := img.At(x, y).RGBA(); return (r + g + b) / 3 >> 8 }
	if lum(10, 10) > 30 || lum(190, 90) < 220 || lum(110, 10) < 220 {
		t.Fatalf("pixels: box %d, outside %d / %d", lum(10, 10), lum(190, 90), lum(110, 10))
	}
	n, _ := w.App.CountRecords("request_events", dbx.HashExp{"request": req.Id, "type": "photo", "public": false})
	if n != 1 {
		t.Fatalf("%d internal photo events", n)
	}
	if n, _ := w.App.CountRecords("request_events", dbx.HashExp{"request": req.Id, "type": "photo", "public": true}); n != 0 {
		t.Fatal(fmt.Sprint("a public photo event for a redaction: ", n))
	}
}
