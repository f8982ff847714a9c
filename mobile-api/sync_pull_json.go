package mobileapi

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"net/http"
	"strconv"

	"github.com/pocketbase/pocketbase/core"
)

// pullJSONOptions are the options PocketBase's e.JSON encodes with.
var pullJSONOptions = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// writePull writes resp as e.JSON does, byte for byte, but appends the
// shapes it knows into one buffer instead of encoding them by reflection: a
// page of 200 records spent a quarter of its handler time in the encoder.
// A request that picks fields (?fields=) goes through e.JSON.
func writePull(e *core.RequestEvent, resp *pullResponse) error {
	if e.Request.URL.Query().Get("fields") != "" {
		return e.JSON(http.StatusOK, resp)
	}
	buf, err := appendPull(make([]byte, 0, 256+512*len(resp.Changes)), resp)
	if err != nil {
		return e.JSON(http.StatusOK, resp)
	}
	if e.Response.Header().Get("Content-Type") == "" {
		e.Response.Header().Set("Content-Type", "application/json")
	}
	e.Response.WriteHeader(http.StatusOK)
	_, err = e.Response.Write(buf)
	return err
}

// appendPull appends resp as json.Marshal(resp, pullJSONOptions) does.
func appendPull(b []byte, resp *pullResponse) ([]byte, error) {
	b = append(b, `{"cursor":`...)
	b = appendString(b, resp.Cursor)
	b = append(b, `,"hasMore":`...)
	b = strconv.AppendBool(b, resp.HasMore)
	b = append(b, `,"reset":`...)
	b = strconv.AppendBool(b, resp.Reset)
	b = append(b, `,"epoch":`...)
	b = appendString(b, resp.Epoch)
	b = append(b, `,"lastMutationID":`...)
	b = strconv.AppendInt(b, resp.LastMutationID, 10)
	b = append(b, `,"changes":[`...)
	var err error
	for i := range resp.Changes {
		if i > 0 {
			b = append(b, ',')
		}
		c := &resp.Changes[i]
		b = append(b, `{"collection":`...)
		b = appendString(b, c.Collection)
		b = append(b, `,"id":`...)
		b = appendString(b, c.ID)
		b = append(b, `,"op":`...)
		b = appendString(b, c.Op)
		if c.Data != nil {
			b = append(b, `,"data":`...)
			if b, err = appendData(b, c.Data); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// appendData appends one record's state; shapes it does not know (fees, a
// map) go through the encoder.
func appendData(b []byte, data any) ([]byte, error) {
	switch d := data.(type) {
	case *requestState:
		return appendRequest(b, d)
	case eventState:
		return appendEvent(b, &d), nil
	case receiptState:
		return appendReceipt(b, &d), nil
	}
	out, err := json.Marshal(data, pullJSONOptions)
	return append(b, out...), err
}

func appendRequest(b []byte, r *requestState) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"number":`...)
	b = appendString(b, r.Number)
	b = append(b, `,"service":`...)
	b = appendString(b, r.Service)
	b = append(b, `,"serviceCode":`...)
	b = appendString(b, r.ServiceCode)
	b = append(b, `,"status":`...)
	b = appendString(b, r.Status)
	b = append(b, `,"status_note":`...)
	b = appendString(b, r.StatusNote)
	b = append(b, `,"answers":`...)
	// a raw value: the encoder checks and reformats it; let it
	answers, err := json.Marshal(r.Answers, pullJSONOptions)
	if err != nil {
		return nil, err
	}
	b = append(b, answers...)
	b = append(b, `,"description":`...)
	b = appendString(b, r.Description)
	b = append(b, `,"location":`...)
	if r.Location == nil {
		b = append(b, "null"...)
	} else {
		loc, err := json.Marshal(r.Location, pullJSONOptions) // floats as the encoder writes them
		if err != nil {
			return nil, err
		}
		b = append(b, loc...)
	}
	b = append(b, `,"address":`...)
	b = appendString(b, r.Address)
	b = append(b, `,"photos":[`...)
	for i := range r.Photos {
		if i > 0 {
			b = append(b, ',')
		}
		p := &r.Photos[i]
		b = append(b, `{"name":`...)
		b = appendString(b, p.Name)
		b = append(b, `,"url":`...)
		b = appendString(b, p.URL)
		b = append(b, `,"thumb":`...)
		b = appendString(b, p.Thumb)
		b = append(b, '}')
	}
	b = append(b, `],"attachments":[`...)
	for i, a := range r.Attachments {
		if i > 0 {
			b = append(b, ',')
		}
		if a == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, `{"id":`...)
		b = appendString(b, a.AttachmentID)
		b = append(b, `,"status":`...)
		b = appendString(b, a.Status)
		if a.Filename != "" {
			b = append(b, `,"filename":`...)
			b = appendString(b, a.Filename)
		}
		if a.ErrorCode != "" {
			b = append(b, `,"errorCode":`...)
			b = appendString(b, a.ErrorCode)
		}
		if a.ErrorMessage != "" {
			b = append(b, `,"errorMessage":`...)
			b = appendString(b, a.ErrorMessage)
		}
		b = append(b, '}')
	}
	b = append(b, `],"department":`...)
	b = appendString(b, r.Department)
	b = append(b, `,"priority":`...)
	b = appendString(b, r.Priority)
	b = append(b, `,"fee":`...)
	b = strconv.AppendInt(b, int64(r.Fee), 10)
	b = append(b, `,"currency":`...)
	b = appendString(b, r.Currency)
	b = append(b, `,"paid_at":`...)
	b = appendString(b, r.PaidAt)
	b = append(b, `,"reported_at":`...)
	b = appendString(b, r.ReportedAt)
	b = append(b, `,"due_at":`...)
	b = appendString(b, r.DueAt)
	b = append(b, `,"resolved_at":`...)
	b = appendString(b, r.ResolvedAt)
	b = append(b, `,"not_fixed_at":`...)
	b = appendString(b, r.NotFixedAt)
	b = append(b, `,"created":`...)
	b = appendString(b, r.Created)
	b = append(b, `,"updated":`...)
	b = appendString(b, r.Updated)
	b = append(b, `,"receipts":[`...)
	for i := range r.Receipts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendReceipt(b, &r.Receipts[i])
	}
	return append(b, "]}"...), nil
}

func appendEvent(b []byte, ev *eventState) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"request":`...)
	b = appendString(b, ev.Request)
	b = append(b, `,"type":`...)
	b = appendString(b, ev.Type)
	b = append(b, `,"from_status":`...)
	b = appendString(b, ev.FromStatus)
	b = append(b, `,"to_status":`...)
	b = appendString(b, ev.ToStatus)
	b = append(b, `,"message":`...)
	b = appendString(b, ev.Message)
	b = append(b, `,"author_type":`...)
	b = appendString(b, ev.AuthorType)
	b = append(b, `,"mine":`...)
	b = strconv.AppendBool(b, ev.Mine)
	b = append(b, `,"created":`...)
	b = appendString(b, ev.Created)
	return append(b, '}')
}

func appendReceipt(b []byte, rc *receiptState) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, rc.ID)
	b = append(b, `,"request":`...)
	b = appendString(b, rc.Request)
	b = append(b, `,"kind":`...)
	b = appendString(b, rc.Kind)
	b = append(b, `,"code":`...)
	b = appendString(b, rc.Code)
	b = append(b, `,"issued_at":`...)
	b = appendString(b, rc.IssuedAt)
	b = append(b, `,"revoked":`...)
	b = strconv.AppendBool(b, rc.Revoked)
	b = append(b, `,"qr":`...)
	b = appendString(b, rc.QR)
	return append(b, '}')
}

// appendString appends s quoted as the encoder quotes it (minimal escaping,
// invalid UTF-8 replaced by U+FFFD, as AllowInvalidUTF8 does).
func appendString(b []byte, s string) []byte {
	b, _ = jsontext.AppendQuote(b, s) // the error only reports the replacement
	return b
}
