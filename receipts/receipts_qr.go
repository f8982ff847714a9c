package receipts

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	qrcode "github.com/skip2/go-qrcode"
)

// Pixels per QR module accepted by QRPNG (the qr.png route's `ppm` parameter).
const (
	MinModulePixels     = 1
	DefaultModulePixels = 6
	MaxModulePixels     = 20
)

// QRLevel is the error correction level of receipt QR codes: Q (25 %), which
// go-qrcode calls High.
const QRLevel = qrcode.High

// QuietZoneModules is the white border around the symbol (ISO/IEC 18004 minimum).
const QuietZoneModules = 4

// MaxQRVersion is the largest symbol a receipt may need (69×69 modules).
const MaxQRVersion = 13

// newQR encodes code at level Q, or at level M (15 %) when Q would need more
// than version 13: a payment receipt from the ledger carries up to 60 Base45
// characters of payment claims more (docs/receipts.md "Size budget").
func newQR(code string) (*qrcode.QRCode, error) {
	q, err := qrcode.New(code, QRLevel)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	if q.VersionNumber > MaxQRVersion {
		if q, err = qrcode.New(code, qrcode.Medium); err != nil {
			return nil, fmt.Errorf("qr: %w", err)
		}
	}
	return q, nil
}

// QRVersion returns the QR version a code's image uses (level Q, or M for
// codes that do not fit version 13 at Q).
func QRVersion(code string) (int, error) {
	q, err := newQR(code)
	if err != nil {
		return 0, err
	}
	return q.VersionNumber, nil
}

// QRPNG renders code as a level-Q (or M, see newQR) QR code PNG with a 4-module quiet zone and
// ppm pixels per module (MinModulePixels..MaxModulePixels), black on white.
func QRPNG(code string, ppm int) ([]byte, error) {
	if ppm < MinModulePixels || ppm > MaxModulePixels {
		return nil, fmt.Errorf("qr: %d pixels per module, want %d-%d", ppm, MinModulePixels, MaxModulePixels)
	}
	q, err := newQR(code)
	if err != nil {
		return nil, err
	}
	return encodeBitmapPNG(q.Bitmap(), ppm) // the bitmap includes go-qrcode's 4-module quiet zone
}

// encodeBitmapPNG writes a 1-bit grayscale PNG of a square module bitmap
// (true = dark). image/png would walk the image pixel by pixel through the
// color model; a QR code is rows of whole modules, so each packed row is built
// once and repeated ppm times, which makes the PNG a small part of issuing.
func encodeBitmapPNG(bitmap [][]bool, ppm int) ([]byte, error) {
	size := len(bitmap) * ppm
	rowBytes := (size + 7) / 8
	var raw bytes.Buffer
	raw.Grow(64 + size*rowBytes/8)
	zw, err := zlib.NewWriterLevel(&raw, zlib.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("qr png: %w", err)
	}
	row := make([]byte, 1+rowBytes) // filter type 0 (None) + packed pixels
	for _, modules := range bitmap {
		clear(row)
		for px := 0; px < size; px++ {
			if !modules[px/ppm] { // white = 1 in 1-bit grayscale
				row[1+px/8] |= 0x80 >> (px % 8)
			}
		}
		for i := 0; i < ppm; i++ {
			if _, err := zw.Write(row); err != nil {
				return nil, fmt.Errorf("qr png: %w", err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("qr png: %w", err)
	}

	var out bytes.Buffer
	out.Grow(8 + 25 + 12 + raw.Len() + 12)
	out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(size))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(size))
	ihdr[8] = 1 // bit depth; [9] color type 0 = grayscale; compression, filter, interlace 0
	writePNGChunk(&out, "IHDR", ihdr[:])
	writePNGChunk(&out, "IDAT", raw.Bytes())
	writePNGChunk(&out, "IEND", nil)
	return out.Bytes(), nil
}

func writePNGChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}
