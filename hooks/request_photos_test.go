package hooks_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
)

// jpegWithExif returns a small JPEG carrying an APP1 Exif segment (as phones write GPS there).
func jpegWithExif(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		img.Set(x, x%48, color.RGBA{200, 10, 10, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"), []byte("GPSLatitude 44.4056 N")...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, buf.Bytes()[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, buf.Bytes()[2:]...)
}

// pngBomb returns a tiny PNG whose header claims 20000×20000 pixels.
func pngBomb() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 20000)
	binary.BigEndian.PutUint32(ihdr[4:], 20000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func multipartRequest(t *testing.T, fields map[string]string, file []byte, filename string) (io.Reader, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("photos", filename)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	_ = mw.Close()
	return &body, mw.FormDataContentType()
}

// TestPhotosThroughRecordsAPI: uploads through the records API go through the
// same pipeline as sync's: metadata stripped, bombs and non-images refused.
func TestPhotosThroughRecordsAPI(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	token := testkit.Token(t, w.CitizenA)
	fields := func(service string) map[string]string {
		return map[string]string{
			"citizen": w.CitizenA.Id, "service": w.Services[service],
			"answers": `{"surface":"monument"}`, "location": `{"lat":44.4,"lon":8.9}`,
		}
	}
	scenarios := []struct {
		name     string
		service  string
		file     []byte
		filename string
		status   int
		content  string
	}{
		{"exif stripped", "graffiti", jpegWithExif(t), "IMG_0001.jpg", http.StatusOK, `"photos":["photo_`},
		{"decompression bomb", "graffiti", pngBomb(), "bomb.png", http.StatusBadRequest, `"photos":{"code":"validation_photo_too_many_pixels"`},
		{"not an image", "graffiti", []byte("%PDF-1.4 definitely not a photo"), "scan.jpg", http.StatusBadRequest, `"photos":{"code":"validation_photo_not_an_image"`},
		{"service takes none", "residence_certificate", jpegWithExif(t), "x.jpg", http.StatusBadRequest, `"photos":{"code":"validation_photos_not_accepted"`},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			f := fields(s.service)
			if s.service == "residence_certificate" {
				f["answers"] = `{"purpose":"bank","copies":1,"delivery":"digital"}`
				delete(f, "location")
			}
			body, ctype := multipartRequest(t, f, s.file, s.filename)
			before, _ := w.App.CountRecords("requests")
			req := httptest.NewRequest(http.MethodPost, "/api/collections/requests/records", body)
			req.Header.Set("content-type", ctype)
			req.Header.Set("Authorization", token)
			rec := httptest.NewRecorder()
			w.Handler(t).ServeHTTP(rec, req)
			if rec.Code != s.status || !strings.Contains(rec.Body.String(), s.content) {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			after, _ := w.App.CountRecords("requests")
			if s.status != http.StatusOK {
				if after != before {
					t.Fatalf("refused upload created a request")
				}
				return
			}
			var created struct {
				ID     string   `json:"id"`
				Photos []string `json:"photos"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || len(created.Photos) != 1 {
				t.Fatalf("created = %+v (%v)", created, err)
			}
			stored, _ := w.App.FindRecordById("requests", created.ID)
			fsys, err := w.App.NewFilesystem()
			if err != nil {
				t.Fatal(err)
			}
			defer fsys.Close()
			r, err := fsys.GetReader(stored.BaseFilesPath() + "/" + created.Photos[0])
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(r)
			r.Close()
			if bytes.Contains(data, []byte("Exif")) || bytes.Contains(data, []byte("GPSLatitude")) {
				t.Fatalf("stored photo still carries EXIF (%d bytes)", len(data))
			}
			if _, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
				t.Fatalf("stored photo is not a JPEG: %v", err)
			}
			ev := countRows(t, w, "SELECT COUNT(*) FROM request_events WHERE request = {:id} AND type = 'created'", created.ID)
			if ev != 1 {
				t.Fatalf("%d created events", ev)
			}
		})
	}
}

// TestProtectedPhotos: a request's photos download only with a file token of
// someone who may view the request (owner, clerk of its department, supervisor).
func TestProtectedPhotos(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	body, ctype := multipartRequest(t, map[string]string{
		"citizen": w.CitizenA.Id, "service": w.Services["graffiti"],
		"answers": `{"surface":"monument"}`, "location": `{"lat":44.4,"lon":8.9}`,
	}, jpegWithExif(t), "wall.jpg")
	req := httptest.NewRequest(http.MethodPost, "/api/collections/requests/records", body)
	req.Header.Set("content-type", ctype)
	req.Header.Set("Authorization", testkit.Token(t, w.CitizenA))
	rec := httptest.NewRecorder()
	w.Handler(t).ServeHTTP(rec, req)
	var created struct {
		ID     string   `json:"id"`
		Photos []string `json:"photos"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || len(created.Photos) != 1 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	fileURL := "/api/files/requests/" + created.ID + "/" + created.Photos[0]

	for _, c := range []struct {
		name  string
		actor func() string
		want  int
	}{
		{"anonymous", func() string { return "" }, http.StatusNotFound},
		{"owner", func() string { return fileToken(t, w, testkit.Token(t, w.CitizenA)) }, http.StatusOK},
		{"other citizen", func() string { return fileToken(t, w, testkit.Token(t, w.CitizenB)) }, http.StatusNotFound},
		{"clerk of another department", func() string { return fileToken(t, w, testkit.Token(t, w.ClerkRoads)) }, http.StatusNotFound},
		{"clerk of the department (environment)", func() string { return fileToken(t, w, testkit.Token(t, clerkOf(t, w, "environment"))) }, http.StatusOK},
		{"supervisor", func() string { return fileToken(t, w, testkit.Token(t, w.Supervisor)) }, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := fileURL
			if tok := c.actor(); tok != "" {
				url += "?token=" + tok
			}
			res := w.Do(t, http.MethodGet, url, "", "")
			if res.Status != c.want {
				t.Fatalf("GET photo: %d, want %d", res.Status, c.want)
			}
		})
	}
}

func fileToken(t *testing.T, w *testkit.World, authToken string) string {
	t.Helper()
	res := w.Do(t, http.MethodPost, "/api/files/token", authToken, "")
	var out struct{ Token string }
	res.JSON(t, &out)
	if out.Token == "" {
		t.Fatalf("no file token: %d %s", res.Status, res.Body)
	}
	return out.Token
}

func clerkOf(t *testing.T, w *testkit.World, dept string) *core.Record {
	t.Helper()
	rec, err := w.App.FindAuthRecordByEmail("staff", "clerk."+dept+"@demo.civicdesk.example")
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
