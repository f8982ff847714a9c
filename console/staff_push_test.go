package console_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"civicdesk/testkit"

	"github.com/pocketbase/dbx"
)

// TestStaffWebPush: a clerk opts in with the citizens' subscription body; an
// assignment then queues a push in the same transaction; citizens' pushes
// never reach staff devices; opting out removes the device.
func TestStaffWebPush(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	a := make([]byte, 16)
	_, _ = rand.Read(a)
	body := fmt.Sprintf(`{"endpoint":"https://fcm.googleapis.com/fcm/send/staff-device-1","keys":{"p256dh":%q,"auth":%q},"lang":"sv"}`,
		base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a))
	clerk := testkit.Token(t, w.ClerkRoads)
	if res := w.Do(t, http.MethodPost, "/api/staff/push/subscriptions", testkit.Token(t, w.CitizenA), body); res.Status != 403 {
		t.Fatalf("citizen on the staff route: %d", res.Status)
	}
	res := w.Do(t, http.MethodPost, "/api/staff/push/subscriptions", clerk, body)
	if res.Status != 201 {
		t.Fatalf("subscribe: %d %s", res.Status, res.Body)
	}
	sub, err := w.App.FindFirstRecordByData("push_subscriptions", "endpoint", "https://fcm.googleapis.com/fcm/send/staff-device-1")
	if err != nil || sub.GetString("staff") != w.ClerkRoads.Id || sub.GetString("citizen") != "" {
		t.Fatalf("subscription: %v %v", sub, err)
	}

	req := file(t, w, "pothole", w.CitizenA, nil)
	sup := testkit.Token(t, w.Supervisor)
	if res := w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+req.Id, sup, fmt.Sprintf(`{"assignee":%q,"status":"in_progress"}`, w.ClerkRoads.Id)); res.Status != 200 {
		t.Fatalf("assign: %s", res.Body)
	}
	rows, _ := w.App.FindAllRecords("push_outbox", dbx.HashExp{"subscription": sub.Id})
	if len(rows) != 1 || rows[0].GetString("kind") != "staff" || !strings.Contains(rows[0].GetString("payload"), "Tilldelat dig: "+req.GetString("number")) {
		t.Fatalf("staff outbox: %d rows %v", len(rows), rows)
	}

	if res := w.Do(t, http.MethodDelete, "/api/staff/push/subscriptions", clerk, `{"endpoint":"https://fcm.googleapis.com/fcm/send/staff-device-1"}`); res.Status != 204 {
		t.Fatalf("unsubscribe: %d", res.Status)
	}
	if n, _ := w.App.CountRecords("push_subscriptions", dbx.HashExp{"staff": w.ClerkRoads.Id}); n != 0 {
		t.Fatal("the staff device is still subscribed")
	}
}
