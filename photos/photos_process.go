// Package photos is the image pipeline for citizens' photos (CONTRACT §4.3):
// it refuses anything that is not a JPEG, PNG or WebP within the size limits,
// reading only the header before it decodes, applies the EXIF orientation and
// strips every piece of metadata (EXIF GPS included) by re-encoding.
package photos

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/webp" // registers the WebP decoder with package image
)

// Limits of an accepted photo.
const (
	// MaxBytes is the largest file accepted (10 MiB).
	MaxBytes = 10 << 20
	// MaxPixels is the largest width×height accepted (40 megapixels).
	MaxPixels = 40_000_000
	// MaxSide is the longest side accepted, in pixels.
	MaxSide = 12_000
	// JPEGQuality is the quality of re-encoded JPEGs.
	JPEGQuality = 85
)

// Error is a photo refused for a reason the client can act on.
type Error struct {
	// Code is stable and machine readable: too_large, not_an_image,
	// unsupported_format, too_many_pixels, corrupt_image.
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// IsRejection reports whether err is a photo refusal (as opposed to an I/O failure).
func IsRejection(err error) bool {
	var pe *Error
	return errors.As(err, &pe)
}

// Photo is a processed photo, free of metadata.
type Photo struct {
	// Data is the re-encoded image.
	Data []byte
	// Format is "jpeg" or "png"; ContentType and Ext follow it.
	Format      string
	ContentType string
	Ext         string
	// Width and Height are after orientation.
	Width, Height int
}

// Header reads only the image header of data and returns its format and size,
// refusing unsupported formats and oversized images before any pixel is decoded
// (a 160 KB PNG can claim 12000×12000 and decode to hundreds of MB).
func Header(data []byte) (image.Config, string, error) {
	if len(data) > MaxBytes {
		return image.Config{}, "", &Error{Code: "too_large", Message: fmt.Sprintf("A photo may be at most %d bytes; this one has %d.", MaxBytes, len(data))}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return image.Config{}, "", &Error{Code: "not_an_image", Message: "The file is not a JPEG, PNG or WebP image."}
	}
	switch format {
	case "jpeg", "png", "webp":
	default:
		return image.Config{}, "", &Error{Code: "unsupported_format", Message: fmt.Sprintf("Images in %s format are not accepted; send JPEG, PNG or WebP.", format)}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return image.Config{}, "", &Error{Code: "corrupt_image", Message: "The image has no pixels."}
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return image.Config{}, "", &Error{Code: "too_many_pixels", Message: fmt.Sprintf("The image is %d×%d; at most %d megapixels and %d px a side are accepted.", cfg.Width, cfg.Height, MaxPixels/1_000_000, MaxSide)}
	}
	return cfg, format, nil
}

// Process checks data with Header, decodes it with its EXIF orientation
// applied and re-encodes it without metadata: PNG stays PNG (lossless, keeps
// transparency), JPEG and WebP become JPEG (no WebP encoder in Go).
func Process(data []byte) (*Photo, error) {
	_, format, err := Header(data)
	if err != nil {
		return nil, err
	}
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, &Error{Code: "corrupt_image", Message: "The image could not be decoded."}
	}
	// sized for the common case (a re-encoded photo about as large as the
	// original): one allocation instead of a doubling series of copies
	var buf bytes.Buffer
	buf.Grow(len(data) + len(data)/4 + 4<<10)
	out := &Photo{Width: img.Bounds().Dx(), Height: img.Bounds().Dy()}
	if format == "png" {
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("encode png: %w", err)
		}
		out.Format, out.ContentType, out.Ext = "png", "image/png", ".png"
	} else {
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: JPEGQuality}); err != nil {
			return nil, fmt.Errorf("encode jpeg: %w", err)
		}
		out.Format, out.ContentType, out.Ext = "jpeg", "image/jpeg", ".jpg"
	}
	if buf.Len() > MaxBytes {
		return nil, &Error{Code: "too_large", Message: fmt.Sprintf("The processed photo would have %d bytes; at most %d are accepted.", buf.Len(), MaxBytes)}
	}
	out.Data = buf.Bytes()
	return out, nil
}
