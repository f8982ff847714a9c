package hooks_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"civicdesk/testkit"
)

// TestCreateBadInput: every kind of bad input answers 400 naming the field and
// the rule, and writes nothing: no request, no event, no receipt, no change row.
func TestCreateBadInput(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	token := testkit.Token(t, w.CitizenA)
	inactive := newRecord(t, w, "services", map[string]any{"code": "closed_desk", "name": "Closed desk", "department": w.Departments["urp"], "location": "none", "photos": "none", "active": false})

	body := func(service, extra string) string {
		return fmt.Sprintf(`{"citizen":%q,"service":%q%s}`, w.CitizenA.Id, service, extra)
	}
	pothole := w.Services["pothole"]
	scenarios := []struct {
		name, body, want string
	}{
		{"unknown service", body("nosuchservice00", `,"answers":{}`), `"service":{"code":"validation_`},
		{"inactive service", body(inactive.Id, ``), `"service":{"code":"validation_inactive_service"`},
		{"missing required answer", body(pothole, `,"location":{"lat":44.4,"lon":8.9}`), `"answers":{"size":{"code":"validation_required"`},
		{"wrong datatype", body(pothole, `,"answers":{"size":"small","depth_cm":"deep"},"location":{"lat":44.4,"lon":8.9}`), `"depth_cm":{"code":"validation_not_number"`},
		{"list value not a key", body(pothole, `,"answers":{"size":"enormous"},"location":{"lat":44.4,"lon":8.9}`), `"size":{"code":"validation_not_in_list"`},
		{"text over its limit", body(w.Services["enquiry"], `,"answers":{"topic":"`+strings.Repeat("x", 121)+`","question":"?"}`), `"topic":{"code":"validation_max_text_constraint"`},
		{"description over its limit", body(w.Services["enquiry"], `,"answers":{"topic":"t","question":"?"},"description":"`+strings.Repeat("x", 5001)+`"`), `"description":{"code":"validation_max_text_constraint"`},
		{"location missing where required", body(pothole, `,"answers":{"size":"small"}`), `"location":{"code":"validation_required"`},
		{"location where none is taken", body(w.Services["enquiry"], `,"answers":{"topic":"t","question":"?"},"location":{"lat":44.4,"lon":8.9}`), `"location":{"code":"validation_location_not_accepted"`},
		{"filing for someone else", fmt.Sprintf(`{"citizen":%q,"service":%q,"answers":{"size":"small"},"address":"Via Roma 1"}`, w.CitizenB.Id, pothole), `"message":"Failed to create record."`},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			requests, _ := w.App.CountRecords("requests")
			events, _ := w.App.CountRecords("request_events")
			receipts, _ := w.App.CountRecords("receipts")
			seq := countRows(t, w, "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE {:id} = {:id}", "")
			res := w.Do(t, http.MethodPost, "/api/collections/requests/records", token, s.body)
			if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, s.want) {
				t.Fatalf("%d %s\nwant 400 containing %s", res.Status, res.Body, s.want)
			}
			r2, _ := w.App.CountRecords("requests")
			e2, _ := w.App.CountRecords("request_events")
			c2, _ := w.App.CountRecords("receipts")
			seq2 := countRows(t, w, "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE {:id} = {:id}", "")
			if r2 != requests || e2 != events || c2 != receipts || seq2 != seq {
				t.Fatalf("something was written: requests %d->%d events %d->%d receipts %d->%d seq %d->%d", requests, r2, events, e2, receipts, c2, seq, seq2)
			}
		})
	}

	// the address alone satisfies a required location (works without a map)
	res := w.Do(t, http.MethodPost, "/api/collections/requests/records", token, body(pothole, `,"answers":{"size":"small"},"address":"Via XX Settembre 10"`))
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `"number":"`) {
		t.Fatalf("address-only pothole: %d %s", res.Status, res.Body)
	}
}
