package mobileapi

import (
	"bytes"
	"encoding/json/v2"
	"math"
	"testing"
)

// fuzzResponse is a pull response with s, raw and f in every field they fit.
func fuzzResponse(s, raw string, f float64, n int64, flag bool) *pullResponse {
	rq := &requestState{
		ID: s, Number: s, Service: s, ServiceCode: s, Status: s, StatusNote: s, Answers: jsonOrNull(raw), Description: s,
		Address: s, Photos: []photoState{{Name: s, URL: "/api/files/requests/" + s, Thumb: s + "?thumb=320x240"}, {}},
		Attachments: []*uploadRow{{AttachmentID: s, Status: s, Filename: s, ErrorCode: s, ErrorMessage: s, Citizen: "hidden"}, {AttachmentID: s}},
		Department:  s, Priority: s, Fee: int(n % (1 << 40)), Currency: s, PaidAt: s, ReportedAt: s, DueAt: s, ResolvedAt: s,
		NotFixedAt: s, Created: s, Updated: s, Receipts: []receiptState{{ID: s, Request: s, Kind: s, Code: s, IssuedAt: s, Revoked: flag, QR: s}},
	}
	if !math.IsNaN(f) && !math.IsInf(f, 0) {
		rq.Location = &geoState{Lat: f, Lon: -f / 3}
	}
	empty := &requestState{Photos: []photoState{}, Attachments: []*uploadRow{}, Receipts: []receiptState{}, Answers: jsonOrNull("")}
	return &pullResponse{Cursor: s, HasMore: flag, Reset: !flag, Epoch: s, LastMutationID: n, Changes: []change{
		{Collection: "requests", ID: s, Op: opPut, Data: rq},
		{Collection: "requests", ID: "e", Op: opPut, Data: empty},
		{Collection: "request_events", ID: s, Op: opPut, Data: eventState{ID: s, Request: s, Type: s, FromStatus: s, ToStatus: s, Message: s, AuthorType: s, Mine: flag, Created: s}},
		{Collection: "receipts", ID: s, Op: opPut, Data: receiptState{ID: s, Request: s, Kind: s, Code: s, IssuedAt: s, Revoked: !flag, QR: s}},
		{Collection: "fees", ID: s, Op: opPut, Data: map[string]any{"amount": n}},
		{Collection: s, ID: s, Op: opDel},
	}}
}

// appendPull must write exactly what e.JSON (json.MarshalWrite with
// PocketBase's options) writes for the same response.
func checkPullJSON(t *testing.T, resp *pullResponse) {
	t.Helper()
	got, err := appendPull(nil, resp)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.MarshalWrite(&want, resp, pullJSONOptions); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("appendPull differs from the encoder:\n got %s\nwant %s", got, want.Bytes())
	}
}

var pullJSONSeeds = []struct {
	s, raw string
	f      float64
}{
	{"k3v9x0p2m7q1t5z", `{"size":"large","n":[1,2.50,{"a":null}]}`, 44.4056},
	{"<script>&\u2028\u2029\"\\\t\n\x00\x1f\x7f", ` { "b" : "\u00e9\ud83d\ude00" , "a":1e3 } `, -0.000001},
	{"\xff\xfe invalid \xc3", `"just a string"`, 1e21},
	{"Città — ő ä ş 😀", `[]`, 0},
	{"", `not json`, 123456789.123456789},
}

func TestAppendPullAsEncoder(t *testing.T) {
	for _, seed := range pullJSONSeeds {
		checkPullJSON(t, fuzzResponse(seed.s, seed.raw, seed.f, 42, true))
		checkPullJSON(t, fuzzResponse(seed.s, seed.raw, seed.f, -1, false))
	}
	checkPullJSON(t, &pullResponse{Changes: []change{}})
}

func FuzzAppendPull(f *testing.F) {
	for _, seed := range pullJSONSeeds {
		f.Add(seed.s, seed.raw, seed.f, int64(7), true)
	}
	f.Fuzz(func(t *testing.T, s, raw string, fl float64, n int64, flag bool) {
		checkPullJSON(t, fuzzResponse(s, raw, fl, n, flag))
	})
}
