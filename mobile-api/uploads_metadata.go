package mobileapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// maxMetadataBytes bounds the Upload-Metadata header we parse.
const maxMetadataBytes = 4 << 10

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// acceptedFiletypes are the announced types of photos (the pipeline checks
// the bytes themselves anyway).
var acceptedFiletypes = map[string]bool{"": true, "image/jpeg": true, "image/png": true, "image/webp": true}

// UploadMetadata is what a tus creation announces about a photo.
type UploadMetadata struct {
	AttachmentID string
	RequestID    string
	SHA256       string
	Filetype     string
}

// ParseUploadMetadata parses a tus Upload-Metadata header ("key base64,key
// base64") and checks the keys civicdesk needs: attachmentId (required),
// sha256 (required, 64 lowercase hex), requestId (optional record id) and
// filetype (optional image type). Other keys (filename, ...) are ignored.
func ParseUploadMetadata(header string) (*UploadMetadata, error) {
	if len(header) > maxMetadataBytes {
		return nil, &RequestError{Status: http.StatusRequestHeaderFieldsTooLarge, Field: "Upload-Metadata", Message: fmt.Sprintf("Upload-Metadata may have at most %d bytes.", maxMetadataBytes)}
	}
	values := map[string]string{}
	for _, pair := range strings.Split(header, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		key, enc, _ := strings.Cut(pair, " ")
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, &RequestError{Status: http.StatusBadRequest, Field: "Upload-Metadata", Message: "Upload-Metadata has an empty or malformed key."}
		}
		if _, dup := values[key]; dup {
			return nil, &RequestError{Status: http.StatusBadRequest, Field: "Upload-Metadata", Message: fmt.Sprintf("Upload-Metadata repeats %q.", key)}
		}
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil {
			return nil, &RequestError{Status: http.StatusBadRequest, Field: "Upload-Metadata", Message: fmt.Sprintf("Upload-Metadata value of %q is not base64.", key)}
		}
		values[key] = string(dec)
	}
	m := &UploadMetadata{AttachmentID: values["attachmentId"], RequestID: values["requestId"], SHA256: values["sha256"], Filetype: values["filetype"]}
	switch {
	case !clientIDPattern.MatchString(m.AttachmentID):
		return nil, &RequestError{Status: http.StatusBadRequest, Field: "attachmentId", Message: "attachmentId must be 1-64 characters of A-Z, a-z, 0-9, _ and -."}
	case m.RequestID != "" && !recordIDPattern.MatchString(m.RequestID):
		return nil, &RequestError{Status: http.StatusBadRequest, Field: "requestId", Message: "requestId must be 15 characters of a-z and 0-9."}
	case !sha256Pattern.MatchString(m.SHA256):
		return nil, &RequestError{Status: http.StatusBadRequest, Field: "sha256", Message: "sha256 must be 64 lowercase hex characters."}
	case !acceptedFiletypes[m.Filetype]:
		return nil, &RequestError{Status: http.StatusUnsupportedMediaType, Field: "filetype", Message: "Only JPEG, PNG and WebP photos are accepted."}
	}
	return m, nil
}
