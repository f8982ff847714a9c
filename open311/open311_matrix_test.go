package open311_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// containers are the elements the Spark convention turns into arrays.
var containers = map[string]bool{
	"services": true, "service_requests": true, "errors": true, "attributes": true, "values": true,
	"endpoints": true, "formats": true, "notes": true, "service_request_updates": true,
}

type xmlNode struct {
	XMLName  xml.Name
	Children []xmlNode `xml:",any"`
	Text     string    `xml:",chardata"`
}

// spark converts parsed XML to the JSON the Spark convention maps it to, with
// every scalar as a string (XML has no types).
func spark(n xmlNode) any {
	if containers[n.XMLName.Local] {
		out := []any{}
		for _, c := range n.Children {
			out = append(out, spark(c))
		}
		return out
	}
	if len(n.Children) == 0 {
		return n.Text
	}
	obj := map[string]any{}
	for _, c := range n.Children {
		obj[c.XMLName.Local] = spark(c)
	}
	return obj
}

// stringify turns JSON scalars into their XML text.
func stringify(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = stringify(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = stringify(x)
		}
		return t
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return ""
	}
	return v
}

// TestXMLMatchesJSON: every resource answers the same data in both formats:
// the XML, parsed and mapped by the Spark convention, equals the JSON.
func TestXMLMatchesJSON(t *testing.T) {
	t.Parallel()
	w := newFixtureWorld(t)
	pub, _ := fixtureNumbers()
	now := time.Now().UTC()
	window := "start_date=" + now.Add(-time.Hour).Format(time.RFC3339) + "&end_date=" + now.Add(time.Hour).Format(time.RFC3339)
	for _, path := range []string{
		"discovery.%s", "services.%s", "services/pothole.%s", "services/waste_pickup.%s", "services/noise.%s?locale=sv",
		"requests.%s", "requests.%s?extensions=true", "requests/" + pub + ".%s", "requests/" + pub + ".%s?extensions=true",
		"tokens/" + pubID + ".%s", "servicerequestupdates.%s?" + window,
		"requests/nope.%s", "services/nope.%s", "requests.%s?status=bad", "services.%s?jurisdiction_id=x",
	} {
		rx := send(t, w, "GET", "/open311/v2/"+fmt.Sprintf(path, "xml"), "")
		rj := send(t, w, "GET", "/open311/v2/"+fmt.Sprintf(path, "json"), "")
		if rx.Status != rj.Status {
			t.Errorf("%s: status xml %d json %d", path, rx.Status, rj.Status)
			continue
		}
		var root xmlNode
		if err := xml.Unmarshal([]byte(rx.Body), &root); err != nil {
			t.Errorf("%s: xml: %v", path, err)
			continue
		}
		fromXML := spark(root)
		var fromJSON any
		if err := json.Unmarshal([]byte(rj.Body), &fromJSON); err != nil {
			t.Errorf("%s: json: %v", path, err)
			continue
		}
		fromJSON = stringify(fromJSON)
		if !reflect.DeepEqual(fromXML, fromJSON) {
			t.Errorf("%s: XML and JSON differ\nxml:  %v\njson: %v", path, fromXML, fromJSON)
		}
	}
}

// TestPrivacyMatrix: api key scopes × resources. A read key, a write key and
// no key see the same public data; unknown and inactive keys are refused
// alike; only a write key posts. Whoever asks, no answer carries a personal
// field or anything of a private service's request.
func TestPrivacyMatrix(t *testing.T) {
	t.Parallel()
	w := newFixtureWorld(t)
	pub, priv := fixtureNumbers()
	keys := map[string]string{
		"none":     "",
		"read":     newKey(t, w, "reader", "read", true, 1000),
		"write":    newKey(t, w, "writer", "write", true, 1000),
		"inactive": newKey(t, w, "inactive", "write", false, 1000),
		"unknown":  "unknown-key-0123456789-abcdefgh",
	}
	now := time.Now().UTC()
	window := "start_date=" + now.Add(-time.Hour).Format(time.RFC3339) + "&end_date=" + now.Add(time.Hour).Format(time.RFC3339)
	gets := map[string]struct {
		path   string
		status int
	}{
		"services":        {"services.json", 200},
		"requests":        {"requests.json?extensions=true", 200},
		"requests by id":  {"requests.json?extensions=true&service_request_id=" + pub + "," + priv, 200},
		"public request":  {"requests/" + pub + ".json?extensions=true", 200},
		"private request": {"requests/" + priv + ".json", 404},
		"private token":   {"tokens/" + privID + ".xml", 404},
		"updates":         {"servicerequestupdates.json?" + window, 200},
	}
	for who, key := range keys {
		for name, g := range gets {
			u := "/open311/v2/" + g.path
			if key != "" {
				sep := "?"
				if strings.Contains(u, "?") {
					sep = "&"
				}
				u += sep + "api_key=" + key
			}
			want := g.status
			if who == "inactive" || who == "unknown" {
				want = http.StatusForbidden
			}
			r := send(t, w, "GET", u, "")
			if r.Status != want {
				t.Errorf("%s key, %s: %d, want %d: %s", who, name, r.Status, want, r.Body)
			}
			secret := personal
			if r.Status == 200 { // a 404 may echo the id the client asked for
				secret = append([]string{priv, privID}, personal...)
			}
			for _, p := range secret {
				if strings.Contains(r.Body, p) {
					t.Errorf("%s key, %s: answer shows %q: %s", who, name, p, r.Body)
				}
			}
			if (name == "requests" || name == "public request") && want == 200 && !strings.Contains(r.Body, pub) {
				t.Errorf("%s key, %s: the public request is missing: %s", who, name, r.Body)
			}
		}
		// POST requests and updates: only a write key
		wantPost := map[string]int{"none": 403, "read": 403, "write": 200, "inactive": 403, "unknown": 403}[who]
		r := send(t, w, "POST", "/open311/v2/requests.json", potholeForm(key, "email", "z@example.net"))
		if r.Status != wantPost {
			t.Errorf("%s key, POST requests: %d, want %d: %s", who, r.Status, wantPost, r.Body)
		}
		r = send(t, w, "POST", "/open311/v2/servicerequestupdates.xml", form("api_key", key, "service_request_id", pub, "update_id", "u-"+who,
			"status", "OPEN", "updated_datetime", now.Format(time.RFC3339), "description", "Still there"))
		if r.Status != wantPost {
			t.Errorf("%s key, POST update: %d, want %d: %s", who, r.Status, wantPost, r.Body)
		}
	}
	// a POST of personal data is stored, and still never listed
	r := send(t, w, "GET", "/open311/v2/requests.xml?extensions=true", "")
	if strings.Contains(r.Body, "z@example.net") {
		t.Errorf("a posted e-mail is listed: %s", r.Body)
	}
	if n, _ := w.App.CountRecords("requests", nil); n != 3 {
		t.Errorf("want 3 requests (2 fixture + the write key's), got %d", n)
	}
	// an update to the private service's request is refused for a key that did not file it
	r = send(t, w, "POST", "/open311/v2/servicerequestupdates.json", form("api_key", keys["write"], "service_request_id", priv, "update_id", "p1",
		"status", "OPEN", "updated_datetime", now.Format(time.RFC3339), "description", "x"))
	if r.Status != 404 {
		t.Errorf("update of a private request: %d %s", r.Status, r.Body)
	}
}

// TestUpdateIdempotency: the same update_id posted 20 times at once gives
// one event, one log row, and the same answer to all 20.
func TestUpdateIdempotency(t *testing.T) {
	t.Parallel()
	w := newFixtureWorld(t)
	pub, _ := fixtureNumbers()
	body := form("api_key", w.Open311Key, "service_request_id", pub, "update_id", "fms-7781", "status", "FIXED",
		"updated_datetime", time.Now().Format(time.RFC3339), "description", "The hole is fixed, says a neighbour", "email", "fms.user@example.net")
	before, _ := w.App.CountRecords("request_events", nil)
	w.Handler(t) // build once before the goroutines
	var wg sync.WaitGroup
	answers := make([]resp, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = send(t, w, "POST", "/open311/v2/servicerequestupdates.json", body)
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.Status != 200 || a.Body != answers[0].Body {
			t.Errorf("answer %d: %d %s (first: %s)", i, a.Status, a.Body, answers[0].Body)
		}
	}
	after, _ := w.App.CountRecords("request_events", nil)
	if after != before+1 {
		t.Fatalf("%d events written, want 1", after-before)
	}
	logs, _ := w.App.CountRecords("open311_updates", nil)
	if logs != 1 {
		t.Fatalf("%d open311_updates rows, want 1", logs)
	}
	list := answers[0].jsonList(t)
	ev, err := w.App.FindRecordById("request_events", list[0]["update_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetString("author_type") != "open311" || ev.GetString("type") != "comment" || !ev.GetBool("public") || !strings.Contains(ev.GetString("message"), "The hole is fixed") {
		t.Errorf("event: %v", ev.FieldsData())
	}
	req, _ := w.App.FindRecordById("requests", pubID)
	if req.GetString("status") != "in_progress" {
		t.Errorf("an update's status must not change the request: %s", req.GetString("status"))
	}
	// the same update_id from another key is another update
	other := newKey(t, w, "other", "write", true, 100)
	r := send(t, w, "POST", "/open311/v2/servicerequestupdates.json", strings.Replace(body, w.Open311Key, other, 1))
	if r.Status != 200 || r.Body == answers[0].Body {
		t.Errorf("another key's update: %d %s", r.Status, r.Body)
	}
	// GET servicerequestupdates shows it (FixMyStreet reads it back) with the FMS status vocabulary
	now := time.Now().UTC()
	g := send(t, w, "GET", "/open311/v2/servicerequestupdates.xml?start_date="+now.Add(-time.Hour).Format(time.RFC3339)+"&end_date="+now.Add(time.Minute).Format(time.RFC3339), "")
	if !strings.Contains(g.Body, "<update_id>"+ev.Id+"</update_id>") || strings.Contains(g.Body, "fms.user@example.net") {
		t.Errorf("updates: %s", g.Body)
	}
}

// TestUpdateValidation: POST servicerequestupdates names every missing or bad parameter.
func TestUpdateValidation(t *testing.T) {
	t.Parallel()
	w := newFixtureWorld(t)
	pub, _ := fixtureNumbers()
	now := time.Now().Format(time.RFC3339)
	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{form("api_key", w.Open311Key), 400, "update_id: required."},
		{form("api_key", w.Open311Key, "service_request_id", pub, "update_id", "1", "status", "MAYBE", "updated_datetime", now, "description", "x"), 400, "status:"},
		{form("api_key", w.Open311Key, "service_request_id", pub, "update_id", "1", "status", "OPEN", "updated_datetime", "yesterday", "description", "x"), 400, "updated_datetime:"},
		{form("api_key", w.Open311Key, "service_request_id", pub, "update_id", "1", "status", "OPEN", "updated_datetime", now, "description", strings.Repeat("y", 2001)), 400, "description:"},
		{form("api_key", w.Open311Key, "service_request_id", "1999-000009", "update_id", "1", "status", "OPEN", "updated_datetime", now, "description", "x"), 404, "service_request_id:"},
	} {
		r := send(t, w, "POST", "/open311/v2/servicerequestupdates.xml", c.body)
		if r.Status != c.status || !strings.Contains(r.Body, c.want) {
			t.Errorf("%s: %d %s, want %d %q", c.body, r.Status, r.Body, c.status, c.want)
		}
	}
	if n, _ := w.App.CountRecords("open311_updates", nil); n != 0 {
		t.Errorf("refused updates wrote %d log rows", n)
	}
}

// TestRateLimit: a key gets rate_limit requests a minute, then 429 with
// Retry-After in the spec's error shape; other keys are not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	w := newFixtureWorld(t)
	slow := newKey(t, w, "slow", "read", true, 3)
	for i := 0; i < 3; i++ {
		if r := send(t, w, "GET", "/open311/v2/services.xml?api_key="+slow, ""); r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := send(t, w, "GET", "/open311/v2/services.xml?api_key="+slow, "")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Body, "<code>429</code>") {
		t.Fatalf("want 429 with Retry-After: %d %v %s", r.Status, r.Header, r.Body)
	}
	if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 1 || s > 60 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// POSTs count against the same key; another key is unaffected
	r = send(t, w, "POST", "/open311/v2/requests.json", potholeForm(slow))
	if r.Status != http.StatusTooManyRequests {
		t.Errorf("POST after the limit: %d", r.Status)
	}
	if r := send(t, w, "GET", "/open311/v2/services.xml?api_key="+w.Open311Key, ""); r.Status != 200 {
		t.Errorf("another key: %d", r.Status)
	}
}
