package websec_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civicdesk/photos"
	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
)

const svgPayload = `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"><script>alert(1)</script></svg>`

// TestSVGUploadsRefused: an SVG (script-capable) is refused by the photo
// pipeline that every upload path runs (records API and tus), whatever name
// or type it claims.
func TestSVGUploadsRefused(t *testing.T) {
	t.Parallel()
	if _, err := photos.Process([]byte(svgPayload)); err == nil || !photos.IsRejection(err) {
		t.Fatalf("photos.Process(svg) = %v, want a rejection", err)
	}
	w := testkit.NewApp(t)
	for _, name := range []string{"photo.svg", "photo.png", "photo.jpg"} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range map[string]string{"citizen": w.CitizenA.Id, "service": w.Services["enquiry"], "answers": `{"topic":"t","question":"q"}`} {
			_ = mw.WriteField(k, v)
		}
		part, _ := mw.CreatePart(map[string][]string{
			"Content-Disposition": {`form-data; name="photos"; filename="` + name + `"`},
			"Content-Type":        {"image/png"},
		})
		_, _ = part.Write([]byte(svgPayload))
		_ = mw.Close()
		req := httptest.NewRequest(http.MethodPost, "/api/collections/requests/records", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", testkit.Token(t, w.CitizenA))
		rec := httptest.NewRecorder()
		w.Handler(t).ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "photos") {
			t.Errorf("SVG as %s: %d %s, want 400 naming photos", name, rec.Code, rec.Body.String())
		}
	}
	n, err := w.App.CountRecords("requests")
	if err != nil || n != 0 {
		t.Fatalf("requests after refused uploads: %d (%v)", n, err)
	}
}

// TestURLFieldsOnlyWeb: a URL field takes http and https only, on every
// collection (javascript:, data: and scheme-less values are refused).
func TestURLFieldsOnlyWeb(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	col := core.NewBaseCollection("links_probe")
	col.Fields.Add(&core.URLField{Name: "link"})
	if err := w.App.Save(col); err != nil {
		t.Fatal(err)
	}
	for v, ok := range map[string]bool{
		"javascript:alert(1)":               false,
		"JavaScript:alert(1)":               false,
		"data:text/html,<script>x</script>": false,
		"vbscript:msgbox":                   false,
		"//evil.example/x":                  false,
		"https://www.comune.example/info":   true,
		"http://city.example":               true,
	} {
		rec := core.NewRecord(col)
		rec.Set("link", v)
		err := w.App.Save(rec)
		if ok != (err == nil) {
			t.Errorf("link %q: err %v, want ok=%v", v, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "link") {
			t.Errorf("link %q: error %v does not name the field", v, err)
		}
	}
}
