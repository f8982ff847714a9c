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

// TestSignOutEverywhereForgetsStaffPush: sign out everywhere removes the
// account's web push devices with its tokens; other staff keep theirs.
func TestSignOutEverywhereForgetsStaffPush(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	subscribe := func(tok, endpoint string) {
		t.Helper()
		k, _ := ecdh.P256().GenerateKey(rand.Reader)
		a := make([]byte, 16)
		_, _ = rand.Read(a)
		body := fmt.Sprintf(`{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q},"lang":"en"}`, endpoint,
			base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a))
		if res := w.Do(t, http.MethodPost, "/api/staff/push/subscriptions", tok, body); res.Status != 201 {
			t.Fatalf("subscribe %s: %d %s", endpoint, res.Status, res.Body)
		}
	}
	clerk := testkit.Token(t, w.ClerkRoads)
	sup := testkit.Token(t, w.Supervisor)
	subscribe(clerk, "https://fcm.googleapis.com/fcm/send/laptop")
	subscribe(clerk, "https://fcm.googleapis.com/fcm/send/counter-pc")
	subscribe(sup, "https://fcm.googleapis.com/fcm/send/supervisor")

	if res := w.Do(t, http.MethodPost, "/api/staff/signout-everywhere", clerk, ""); res.Status != http.StatusNoContent {
		t.Fatalf("signout-everywhere: %d %s", res.Status, res.Body)
	}
	if n, _ := w.App.CountRecords("push_subscriptions", dbx.HashExp{"staff": w.ClerkRoads.Id}); n != 0 {
		t.Fatalf("%d push devices of the clerk survive sign out everywhere", n)
	}
	if n, _ := w.App.CountRecords("push_subscriptions", dbx.HashExp{"staff": w.Supervisor.Id}); n != 1 {
		t.Fatalf("the supervisor's device: %d rows, want 1", n)
	}
	if res := w.Do(t, http.MethodGet, "/api/staff/counts", clerk, ""); res.Status != http.StatusUnauthorized {
		t.Fatalf("old token after signout-everywhere: %d", res.Status)
	}
}
