package open311

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Formats of the spec: the path suffix chooses one (`services.xml`).
const (
	formatXML  = "xml"
	formatJSON = "json"
)

// Content types of the spec's "Format Support".
const (
	contentTypeXML  = "text/xml; charset=utf-8"
	contentTypeJSON = "application/json; charset=utf-8"
)

// datetimeLayout is W3C/ISO 8601 with seconds and a zone offset, the subset
// mySociety's adapter schema requires (`+01:00`, never a bare local time).
const datetimeLayout = "2006-01-02T15:04:05-07:00"

// formatTime renders t in the city's zone; the zero time renders empty.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(datetimeLayout)
}

// writeList answers a list resource: in XML <root><item/>...</root>, in JSON
// an array (the Spark convention: a container is an array even with one child).
func writeList(e *core.RequestEvent, format string, status int, root, item string, items any) error {
	v := reflect.ValueOf(items)
	if format == formatJSON {
		if v.Kind() == reflect.Slice && v.IsNil() {
			items = []struct{}{}
		}
		return writeJSON(e, status, items)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: root}}
	if err := enc.EncodeToken(start); err != nil {
		return fmt.Errorf("open311 xml %s: %w", root, err)
	}
	for i := 0; i < v.Len(); i++ {
		if err := enc.EncodeElement(v.Index(i).Interface(), xml.StartElement{Name: xml.Name{Local: item}}); err != nil {
			return fmt.Errorf("open311 xml %s: %w", item, err)
		}
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return fmt.Errorf("open311 xml %s: %w", root, err)
	}
	if err := enc.Flush(); err != nil {
		return fmt.Errorf("open311 xml %s: %w", root, err)
	}
	return writeXMLBytes(e, status, buf.Bytes())
}

// writeObject answers a single-object resource (discovery, service_definition).
func writeObject(e *core.RequestEvent, format string, status int, root string, v any) error {
	if format == formatJSON {
		return writeJSON(e, status, v)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: root}}); err != nil {
		return fmt.Errorf("open311 xml %s: %w", root, err)
	}
	if err := enc.Flush(); err != nil {
		return fmt.Errorf("open311 xml %s: %w", root, err)
	}
	return writeXMLBytes(e, status, buf.Bytes())
}

// writeError answers an Open311 error in the format asked for.
func writeError(e *core.RequestEvent, format string, ae *apiError) error {
	if ae.RetryAfter > 0 {
		e.Response.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	return writeList(e, format, ae.Status, "errors", "error", ae.Errors)
}

func writeJSON(e *core.RequestEvent, status int, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("open311 json: %w", err)
	}
	e.Response.Header().Set("Content-Type", contentTypeJSON)
	e.Response.WriteHeader(status)
	_, err = e.Response.Write(raw)
	return err
}

func writeXMLBytes(e *core.RequestEvent, status int, raw []byte) error {
	e.Response.Header().Set("Content-Type", contentTypeXML)
	e.Response.WriteHeader(status)
	_, err := e.Response.Write(raw)
	return err
}
