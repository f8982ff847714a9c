package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"civicdesk/console"
	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
)

func TestStaffNotifications(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	clerk2, err := testkit.NewAccount(w.App, "staff", "clerk2.roads@demo.civicdesk.example", map[string]any{"name": "Second Clerk", "role": "clerk", "departments": []string{w.Departments["roads"]}})
	if err != nil {
		t.Fatal(err)
	}
	clerk := testkit.Token(t, w.ClerkRoads)
	other := testkit.Token(t, clerk2)
	count := func(staff, kind string) int {
		n, _ := w.App.CountRecords("staff_notifications", dbx.HashExp{"staff": staff, "kind": kind})
		return int(n)
	}

	req := file(t, w, "pothole", w.CitizenA, nil)
	// taking it yourself tells nobody; a colleague assigning it tells you
	w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+req.Id, clerk, fmt.Sprintf(`{"assignee":%q}`, w.ClerkRoads.Id))
	if n := count(w.ClerkRoads.Id, console.KindAssigned); n != 0 {
		t.Fatalf("self-assignment notified %d", n)
	}
	w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+req.Id, clerk, fmt.Sprintf(`{"assignee":%q}`, clerk2.Id))
	if n := count(clerk2.Id, console.KindAssigned); n != 1 {
		t.Fatalf("assigned: %d", n)
	}
	// a refused change notifies nobody (the row rolls back with it)
	w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+req.Id, clerk, fmt.Sprintf(`{"assignee":%q,"status":"cancelled"}`, w.ClerkRoads.Id))
	if n := count(w.ClerkRoads.Id, console.KindAssigned); n != 0 {
		t.Fatalf("a refused change notified %d", n)
	}

	// the citizen replies: the assignee hears of it
	res := w.Do(t, http.MethodPost, "/api/collections/request_events/records", testkit.Token(t, w.CitizenA), fmt.Sprintf(`{"request":%q,"type":"comment","message":"It is getting bigger."}`, req.Id))
	if res.Status != 200 {
		t.Fatalf("citizen comment: %d %s", res.Status, res.Body)
	}
	if n := count(clerk2.Id, console.KindCitizenReplied); n != 1 {
		t.Fatalf("citizen_replied: %d", n)
	}

	// due soon: once per request (a millisecond later, so `after` below can tell it from the reply)
	time.Sleep(2 * time.Millisecond)
	sqlExec(t, w, "UPDATE requests SET due_at = {:d} WHERE id = {:id}", dbx.Params{"d": time.Now().Add(2 * time.Hour).UTC().Format("2006-01-02 15:04:05.000Z"), "id": req.Id})
	for i := 0; i < 2; i++ {
		if _, err := console.DueSoon(w.App, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(clerk2.Id, console.KindDueSoon); n != 1 {
		t.Fatalf("due_soon: %d", n)
	}

	// the routes: mine only, newest first, mark read
	res = w.Do(t, http.MethodGet, "/api/staff/notifications", other, "")
	var list []console.NotificationOut
	res.JSON(t, &list)
	if len(list) != 3 || list[0].Kind != console.KindDueSoon || list[0].Request.Number != req.GetString("number") || list[0].Read {
		t.Fatalf("list: %s", res.Body)
	}
	res = w.Do(t, http.MethodGet, "/api/staff/notifications?after="+list[1].Created, other, "")
	var newer []console.NotificationOut
	res.JSON(t, &newer)
	if len(newer) != 1 {
		t.Fatalf("after: %s", res.Body)
	}
	if res := w.Do(t, http.MethodGet, "/api/staff/notifications", clerk, ""); res.Body != "[]" {
		t.Fatalf("another clerk's list: %s", res.Body)
	}
	if res := w.Do(t, http.MethodPost, "/api/staff/notifications/read", clerk, fmt.Sprintf(`{"ids":[%q]}`, list[0].ID)); res.Status != 204 {
		t.Fatal(res.Body)
	}
	if n, _ := w.App.CountRecords("staff_notifications", dbx.HashExp{"read": true}); n != 0 {
		t.Fatal("a clerk marked someone else's notification read")
	}
	if res := w.Do(t, http.MethodPost, "/api/staff/notifications/read", other, `{"all":true}`); res.Status != 204 {
		t.Fatal(res.Body)
	}
	if n, _ := w.App.CountRecords("staff_notifications", dbx.HashExp{"read": false}); n != 0 {
		t.Fatalf("%d unread after all read", n)
	}
	// the records API (and realtime, which applies its rule) shows only one's own
	if res := w.Do(t, http.MethodGet, "/api/collections/staff_notifications/records", clerk, ""); !strings.Contains(res.Body, `"items":[]`) {
		t.Fatalf("records API: %s", res.Body)
	}
	if res := w.Do(t, http.MethodGet, "/api/collections/staff_notifications/records", other, ""); !strings.Contains(res.Body, `"totalItems":3`) {
		t.Fatalf("records API own: %s", res.Body)
	}

	// the digest: logged without SMTP, one mail per department with it
	if n, err := console.Digest(w.App, time.Now()); err != nil || n != 0 {
		t.Fatalf("digest without SMTP: %d %v", n, err)
	}
	w.App.Settings().SMTP.Enabled = true
	if n, err := console.Digest(w.App, time.Now()); err != nil || n != len(w.Departments) {
		t.Fatalf("digest: %d %v", n, err)
	}
	msgs := w.App.TestMailer.Messages()
	if len(msgs) != len(w.Departments) || !strings.Contains(msgs[0].Text, "Overdue:") {
		t.Fatalf("digest mails: %d", len(msgs))
	}
}
