package photos_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"civicdesk/photos"
)

// solid returns a w×h image with a distinct left column, to check orientation.
func solid(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{R: uint8(x * 5), G: 90, B: uint8(y * 3), A: 255})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exifJPEG inserts an APP1 EXIF segment with the given orientation and a GPS
// IFD (latitude ref "N" and a marker string) right after the JPEG's SOI.
func exifJPEG(jpg []byte, orientation uint16) []byte {
	le := binary.LittleEndian
	tiff := []byte("II*\x00")
	tiff = le.AppendUint32(tiff, 8)
	// IFD0 at 8: 2 entries (12 bytes each) + next-IFD offset
	tiff = le.AppendUint16(tiff, 2)
	tiff = le.AppendUint16(tiff, 0x0112) // Orientation
	tiff = le.AppendUint16(tiff, 3)
	tiff = le.AppendUint32(tiff, 1)
	tiff = le.AppendUint16(tiff, orientation)
	tiff = le.AppendUint16(tiff, 0)
	gpsOffset := uint32(8 + 2 + 2*12 + 4)
	tiff = le.AppendUint16(tiff, 0x8825) // GPSInfo IFD pointer
	tiff = le.AppendUint16(tiff, 4)
	tiff = le.AppendUint32(tiff, 1)
	tiff = le.AppendUint32(tiff, gpsOffset)
	tiff = le.AppendUint32(tiff, 0)
	// GPS IFD: GPSLatitudeRef "N", GPSAreaInformation "GPSMARKER44.4056"
	marker := []byte("GPSMARKER44.4056")
	tiff = le.AppendUint16(tiff, 2)
	tiff = le.AppendUint16(tiff, 0x0001)
	tiff = le.AppendUint16(tiff, 2)
	tiff = le.AppendUint32(tiff, 2)
	tiff = append(tiff, 'N', 0, 0, 0)
	tiff = le.AppendUint16(tiff, 0x001C)
	tiff = le.AppendUint16(tiff, 7)
	tiff = le.AppendUint32(tiff, uint32(len(marker)))
	tiff = le.AppendUint32(tiff, gpsOffset+2+2*12+4)
	tiff = le.AppendUint32(tiff, 0)
	tiff = append(tiff, marker...)

	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// bombPNG is a valid PNG header claiming w×h with a tiny (truncated) body.
func bombPNG(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.Write([]byte("\x89PNG\r\n\x1a\n"))
	chunk := func(typ string, data []byte) {
		binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		body := append([]byte(typ), data...)
		buf.Write(body)
		binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(body))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return buf.Bytes()
}

func TestProcessRejects(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		data []byte
		code string
	}{
		{"text renamed .jpg", []byte("this is not an image, just text pretending to be photo.jpg"), "not_an_image"},
		{"empty", nil, "not_an_image"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"), "unsupported_format"},
		{"bomb 20000x20000", bombPNG(20000, 20000), "too_many_pixels"},
		{"side over 12000", bombPNG(12001, 10), "too_many_pixels"},
		{"over 40 MP", bombPNG(7000, 7000), "too_many_pixels"},
		{"over 10 MiB", make([]byte, photos.MaxBytes+1), "too_large"},
		{"truncated png", bombPNG(50, 50), "corrupt_image"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			_, err := photos.Process(s.data)
			pe, ok := err.(*photos.Error)
			if !ok {
				t.Fatalf("want *photos.Error %q, got %v", s.code, err)
			}
			if pe.Code != s.code {
				t.Fatalf("want code %q, got %q (%s)", s.code, pe.Code, pe.Message)
			}
			if !photos.IsRejection(err) {
				t.Fatal("IsRejection = false")
			}
		})
	}
}

func TestProcessBombIsRefusedBeforeDecoding(t *testing.T) {
	bomb := bombPNG(20000, 20000)
	allocs := testing.AllocsPerRun(5, func() { _, _ = photos.Process(bomb) })
	// a decode would allocate 1.6 GB in one go; the header check allocates a few small buffers
	if allocs > 200 {
		t.Fatalf("header check allocated %v times", allocs)
	}
	var ms1, ms2 = new(runtimeMem), new(runtimeMem)
	ms1.read()
	_, _ = photos.Process(bomb)
	ms2.read()
	if grew := ms2.total - ms1.total; grew > 8<<20 {
		t.Fatalf("processing a bomb allocated %d bytes", grew)
	}
}

func TestProcessStripsMetadataAndOrients(t *testing.T) {
	t.Parallel()
	src := exifJPEG(encodeJPEG(t, solid(40, 20)), 6) // 6 = rotate 90° clockwise to display
	if !bytes.Contains(src, []byte("GPSMARKER")) {
		t.Fatal("fixture has no GPS marker")
	}
	cfg, format, err := photos.Header(src)
	if err != nil || format != "jpeg" || cfg.Width != 40 {
		t.Fatalf("header: %v %s %+v", err, format, cfg)
	}
	out, err := photos.Process(src)
	if err != nil {
		t.Fatal(err)
	}
	if out.Width != 20 || out.Height != 40 {
		t.Fatalf("orientation not applied: %dx%d", out.Width, out.Height)
	}
	if out.ContentType != "image/jpeg" || out.Ext != ".jpg" {
		t.Fatalf("type %s %s", out.ContentType, out.Ext)
	}
	for _, needle := range [][]byte{[]byte("Exif"), []byte("GPSMARKER"), {0xFF, 0xE1}} {
		if bytes.Contains(out.Data, needle) {
			t.Fatalf("output still contains %q", needle)
		}
	}
	img, err := jpeg.Decode(bytes.NewReader(out.Data))
	if err != nil || img.Bounds().Dx() != 20 {
		t.Fatalf("output does not decode as 20 px wide JPEG: %v", err)
	}
}

func TestProcessFormats(t *testing.T) {
	t.Parallel()
	// a tiny lossless WebP (1×1), from the WebP container spec examples
	webp := []byte{
		0x52, 0x49, 0x46, 0x46, 0x1a, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c,
		0x0d, 0x00, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe,
		0x07, 0x00,
	}
	scenarios := []struct {
		name   string
		data   []byte
		format string
		w, h   int
	}{
		{"png stays png", encodePNG(t, solid(30, 10)), "png", 30, 10},
		{"jpeg stays jpeg", encodeJPEG(t, solid(16, 32)), "jpeg", 16, 32},
		{"webp becomes jpeg", webp, "jpeg", 1, 1},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			out, err := photos.Process(s.data)
			if err != nil {
				t.Fatal(err)
			}
			if out.Format != s.format || out.Width != s.w || out.Height != s.h {
				t.Fatalf("got %s %dx%d", out.Format, out.Width, out.Height)
			}
			if _, f, err := image.DecodeConfig(bytes.NewReader(out.Data)); err != nil || f != s.format {
				t.Fatalf("output is %q: %v", f, err)
			}
		})
	}
}

// runtimeMem reads the cumulative bytes allocated by the Go heap.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

// FuzzPhotoHeader feeds arbitrary bytes to the header check: it must never
// panic, and whatever it accepts must be within the limits.
func FuzzPhotoHeader(f *testing.F) {
	f.Add(bombPNG(20000, 20000))
	f.Add(bombPNG(10, 10))
	f.Add([]byte("\xff\xd8\xff\xe0"))
	f.Add([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := photos.Header(data)
		if err != nil {
			return
		}
		if cfg.Width > photos.MaxSide || cfg.Height > photos.MaxSide || cfg.Width*cfg.Height > photos.MaxPixels {
			t.Fatalf("accepted %dx%d", cfg.Width, cfg.Height)
		}
	})
}

// benchPhoto is a w×h JPEG: smooth shapes with grain (like a phone photo)
// or, with noise, random pixels (the worst case for the entropy coder).
func benchPhoto(b *testing.B, w, h int, noise bool) []byte {
	b.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rnd := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			v := 128 + 100*math.Sin(float64(x)/37)*math.Cos(float64(y)/23)
			if noise {
				v = float64(rnd.IntN(256))
			}
			img.Pix[i] = uint8(min(255, v+float64(rnd.IntN(24))))
			img.Pix[i+1] = uint8(min(255, v/2+float64(rnd.IntN(24))))
			img.Pix[i+2] = uint8(min(255, 255-v+float64(rnd.IntN(24))))
			img.Pix[i+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkProcess measures the pipeline per photo (decode, orientation,
// re-encode): the CPU an upload costs the server.
func BenchmarkProcess(b *testing.B) {
	for _, bc := range []struct {
		name  string
		w, h  int
		noise bool
	}{
		{"phone_1600x1200", 1600, 1200, false},
		{"noise_800x600", 800, 600, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := benchPhoto(b, bc.w, bc.h, bc.noise)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := photos.Process(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
