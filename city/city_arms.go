package city

import (
	_ "embed"
	"fmt"
	"net/http"
	"os"
)

//go:embed arms.svg
var demoArms []byte

//go:embed map.geojson
var demoMap []byte

// Map returns the city's map file (GeoJSON, at most 8 MiB): MapFile, else the
// embedded demo map.
func (c Config) Map() ([]byte, error) {
	if c.MapFile == "" {
		return demoMap, nil
	}
	b, err := os.ReadFile(c.MapFile)
	if err != nil {
		return nil, fmt.Errorf("city map %s: %w", c.MapFile, err)
	}
	if len(b) > 8<<20 {
		return nil, fmt.Errorf("city map %s: %d bytes, at most 8 MiB", c.MapFile, len(b))
	}
	return b, nil
}

// Arms returns the city's arms image and its media type: the file named by
// ArmsFile (SVG or PNG, at most 1 MiB), else the embedded demo arms.
func (c Config) Arms() ([]byte, string, error) {
	if c.ArmsFile == "" {
		return demoArms, "image/svg+xml", nil
	}
	b, err := os.ReadFile(c.ArmsFile)
	if err != nil {
		return nil, "", fmt.Errorf("city arms %s: %w", c.ArmsFile, err)
	}
	if len(b) > 1<<20 {
		return nil, "", fmt.Errorf("city arms %s: %d bytes, at most 1 MiB", c.ArmsFile, len(b))
	}
	switch ct := http.DetectContentType(b); {
	case ct == "image/png":
		return b, ct, nil
	case len(b) > 0 && (ct == "text/xml; charset=utf-8" || ct == "text/plain; charset=utf-8"):
		return b, "image/svg+xml", nil // DetectContentType does not know SVG
	default:
		return nil, "", fmt.Errorf("city arms %s: %s, want SVG or PNG", c.ArmsFile, ct)
	}
}
