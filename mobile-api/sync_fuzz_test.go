package mobileapi_test

import (
	"encoding/base64"
	"testing"

	mobileapi "civicdesk/mobile-api"
)

// FuzzParsePushBody: any body either parses into a push within the limits or
// is refused with a 4xx; it never panics.
func FuzzParsePushBody(f *testing.F) {
	f.Add([]byte(`{"clientID":"01JD5Y1S7W8K3Q9C2M4N6P8R0T","mutations":[{"id":1,"name":"request.create","clientTime":"2026-11-25T09:12:03.120Z","args":{"requestId":"k3v9x0p2m7q1t5z","service":"pothole"}}]}`))
	f.Add([]byte(`{"clientID":"x","mutations":[{"id":2},{"id":1}]}`))
	f.Add([]byte(`{"clientID":"","mutations":null}`))
	f.Add([]byte(`{"clientID":"a","mutations":[{"id":-1}]} trailing`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := mobileapi.ParsePushBody(body)
		if err != nil {
			re, ok := err.(*mobileapi.RequestError)
			if !ok || re.Status < 400 || re.Status > 499 || re.Message == "" {
				t.Fatalf("bad refusal %#v", err)
			}
			return
		}
		if len(req.ClientID) == 0 || len(req.ClientID) > 64 || len(req.Mutations) > mobileapi.MaxPushMutations {
			t.Fatalf("accepted %q with %d mutations", req.ClientID, len(req.Mutations))
		}
		for i, m := range req.Mutations {
			if m.ID < 1 || (i > 0 && m.ID <= req.Mutations[i-1].ID) {
				t.Fatalf("accepted ids out of order: %d", m.ID)
			}
		}
	})
}

// FuzzParsePullBody: the pull body parser never panics and bounds the limit.
func FuzzParsePullBody(f *testing.F) {
	f.Add([]byte(`{"clientID":"abc","cursor":null,"limit":200}`))
	f.Add([]byte(`{"clientID":"abc","cursor":"r12.1.k3v9x0p2m7q1t5z","limit":7}`))
	f.Add([]byte(`{"clientID":"abc","cursor":1187}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := mobileapi.ParsePullBody(body)
		if err != nil {
			return
		}
		if req.Limit < 1 || req.Limit > mobileapi.MaxPullLimit {
			t.Fatalf("limit %d", req.Limit)
		}
	})
}

// FuzzParseUploadMetadata: any tus Upload-Metadata header either yields the
// checked fields or a 4xx refusal.
func FuzzParseUploadMetadata(f *testing.F) {
	b := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	f.Add("attachmentId " + b("01JD5Y2A9V") + ",sha256 " + b("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08") + ",requestId " + b("k3v9x0p2m7q1t5z") + ",filetype " + b("image/jpeg"))
	f.Add("attachmentId,sha256 ")
	f.Add("filename " + b("a.jpg") + ",,attachmentId " + b("x"))
	f.Fuzz(func(t *testing.T, header string) {
		m, err := mobileapi.ParseUploadMetadata(header)
		if err != nil {
			re, ok := err.(*mobileapi.RequestError)
			if !ok || re.Status < 400 || re.Status > 499 {
				t.Fatalf("bad refusal %#v", err)
			}
			return
		}
		if len(m.AttachmentID) == 0 || len(m.AttachmentID) > 64 || len(m.SHA256) != 64 {
			t.Fatalf("accepted %+v", m)
		}
		for _, r := range m.AttachmentID {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				t.Fatalf("accepted attachmentId %q", m.AttachmentID)
			}
		}
	})
}
