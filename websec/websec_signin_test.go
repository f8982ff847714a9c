package websec_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"civicdesk/demo"
	"civicdesk/testkit"
	"civicdesk/websec"

	"github.com/pocketbase/pocketbase/core"
)

// signInFrom posts body to path as if from the address ip.
func signInFrom(t *testing.T, w *testkit.World, ip, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	w.Handler(t).ServeHTTP(rec, req)
	return rec
}

// TestSignInManyAccountsOneAddress: 40 clerks behind the city hall's one
// address sign in at 09:00 (each a password and a code request) and none is
// turned away.
func TestSignInManyAccountsOneAddress(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	const clerks = 40
	// bcrypt at its lowest cost: the test is about the limits, not the hashing
	staff, err := w.App.FindCollectionByNameOrId("staff")
	if err != nil {
		t.Fatal(err)
	}
	staff.Fields.GetByName("password").(*core.PasswordField).Cost = 4
	if err := w.App.Save(staff); err != nil {
		t.Fatal(err)
	}
	for i := range clerks {
		email := fmt.Sprintf("clerk%02d@demo.civicdesk.example", i)
		if _, err := testkit.NewAccount(w.App, "staff", email, map[string]any{"name": "Clerk", "role": "clerk", "departments": []string{w.Departments["roads"]}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range clerks {
		email := fmt.Sprintf("clerk%02d@demo.civicdesk.example", i)
		pw := signInFrom(t, w, "192.0.2.10", "/api/collections/staff/auth-with-password", fmt.Sprintf(`{"identity":%q,"password":%q}`, email, demo.DefaultPassword))
		if pw.Code == http.StatusTooManyRequests || pw.Code >= 500 {
			t.Fatalf("clerk %d password: %d %s", i, pw.Code, pw.Body.String())
		}
		otp := signInFrom(t, w, "192.0.2.10", "/api/collections/citizens/request-otp", fmt.Sprintf(`{"email":"c%02d@demo.civicdesk.example"}`, i))
		if otp.Code == http.StatusTooManyRequests {
			t.Fatalf("clerk %d code request: %d %s", i, otp.Code, otp.Body.String())
		}
	}
}

// TestSignInOneAccountManyAddresses: wrong passwords for one account from a
// new address each time are slowed after AccountBurst failures, with a 429
// that says how long to wait; other accounts are unaffected, and a correct
// password does not use up the allowance.
func TestSignInOneAccountManyAddresses(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	target := w.CitizenA.Email()
	path := "/api/collections/citizens/auth-with-password"
	for i := range 3 { // correct sign-ins never count
		if r := signInFrom(t, w, fmt.Sprintf("198.51.100.%d", i), path, fmt.Sprintf(`{"identity":%q,"password":%q}`, target, demo.DefaultPassword)); r.Code != http.StatusOK {
			t.Fatalf("correct sign-in %d: %d %s", i, r.Code, r.Body.String())
		}
	}
	burst := 5 // websec.DefaultSignInLimits.AccountBurst
	var limited *httptest.ResponseRecorder
	for i := range burst + 1 {
		r := signInFrom(t, w, fmt.Sprintf("203.0.113.%d", i), path, fmt.Sprintf(`{"identity":%q,"password":"wrong-guess-%d"}`, strings.ToUpper(target), i))
		if i < burst && r.Code != http.StatusBadRequest {
			t.Fatalf("guess %d: %d, want 400", i, r.Code)
		}
		if i == burst {
			limited = r
		}
	}
	if limited.Code != http.StatusTooManyRequests {
		t.Fatalf("guess %d: %d, want 429 (%s)", burst, limited.Code, limited.Body.String())
	}
	secs, err := strconv.Atoi(limited.Header().Get("Retry-After"))
	if err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After %q", limited.Header().Get("Retry-After"))
	}
	var body struct {
		Status  int            `json:"status"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal(limited.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.Message, strconv.Itoa(secs)+" seconds") || body.Data["scope"] != "account" || body.Data["retryAfter"] != float64(secs) {
		t.Fatalf("429 body %s", limited.Body.String())
	}
	// the same account through a multipart or urlencoded form is the same account
	for _, ct := range []string{"multipart", "urlencoded"} {
		var req *http.Request
		if ct == "multipart" {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			_ = mw.WriteField("identity", target)
			_ = mw.WriteField("password", demo.DefaultPassword)
			_ = mw.Close()
			req = httptest.NewRequest(http.MethodPost, path, &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
		} else {
			req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{"identity": {target}, "password": {demo.DefaultPassword}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.RemoteAddr = "203.0.113.77:40000"
		rec := httptest.NewRecorder()
		w.Handler(t).ServeHTTP(rec, req)
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("%s form during the wait: %d %s", ct, rec.Code, rec.Body.String())
		}
	}
	// even the right password waits now (the attacker cannot tell), other accounts do not
	if r := signInFrom(t, w, "198.51.100.200", path, fmt.Sprintf(`{"identity":%q,"password":%q}`, target, demo.DefaultPassword)); r.Code != http.StatusTooManyRequests {
		t.Fatalf("right password during the wait: %d", r.Code)
	}
	if r := signInFrom(t, w, "203.0.113.99", path, fmt.Sprintf(`{"identity":%q,"password":%q}`, w.CitizenB.Email(), demo.DefaultPassword)); r.Code != http.StatusOK {
		t.Fatalf("another account: %d %s", r.Code, r.Body.String())
	}
}

// TestSignInOTPLimits: codes mailed to one address are limited, and wrong
// codes for one account from many addresses are slowed like passwords.
func TestSignInOTPLimits(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	email := w.CitizenA.Email()
	var otpID string
	codes := 0
	for i := range 8 {
		r := signInFrom(t, w, fmt.Sprintf("203.0.113.%d", i), "/api/collections/citizens/request-otp", fmt.Sprintf(`{"email":%q}`, email))
		if r.Code == http.StatusTooManyRequests {
			break
		}
		codes++
		var out struct {
			OTPId string `json:"otpId"`
		}
		_ = json.Unmarshal(r.Body.Bytes(), &out)
		otpID = out.OTPId
	}
	if codes != 5 {
		t.Fatalf("%d codes mailed before the limit, want 5", codes)
	}
	limited := false
	for i := range 8 {
		r := signInFrom(t, w, fmt.Sprintf("198.51.100.%d", i), "/api/collections/citizens/auth-with-otp", fmt.Sprintf(`{"otpId":%q,"password":"0000000%d"}`, otpID, i))
		if r.Code == http.StatusTooManyRequests {
			if i != 5 || r.Header().Get("Retry-After") == "" {
				t.Fatalf("code guess %d limited (Retry-After %q), want the 6th", i, r.Header().Get("Retry-After"))
			}
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("wrong codes from many addresses were never slowed")
	}
}

// TestSignInOneAddressManyAccounts: one address spraying many accounts is
// slowed after IPBurst attempts, whatever the accounts.
func TestSignInOneAddressManyAccounts(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	for i := range 200 {
		r := signInFrom(t, w, "192.0.2.99", "/api/collections/citizens/request-otp", fmt.Sprintf(`{"email":"spray%03d@example.org"}`, i))
		if r.Code == http.StatusTooManyRequests {
			if i < 150 {
				t.Fatalf("limited after %d requests, want at least 150 (the city hall's burst)", i)
			}
			if !strings.Contains(r.Body.String(), `"scope":"address"`) {
				t.Fatalf("429 body %s", r.Body.String())
			}
			return
		}
	}
	t.Fatal("200 sign-in requests from one address were never slowed")
}

// TestSignOutEverywhere: the route rotates the citizen's tokenKey, so every
// token issued before (this one included) stops working; staff tokens are
// not accepted on the citizens' route.
func TestSignOutEverywhere(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	phone, laptop := testkit.Token(t, w.CitizenA), testkit.Token(t, w.CitizenA)
	if r := w.Do(t, "POST", "/api/mobile/signout-everywhere", testkit.Token(t, w.ClerkRoads), ""); r.Status != http.StatusForbidden && r.Status != http.StatusUnauthorized {
		t.Fatalf("staff token: %d", r.Status)
	}
	if r := w.Do(t, "POST", "/api/mobile/signout-everywhere", "", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.Status)
	}
	if r := w.Do(t, "POST", "/api/mobile/signout-everywhere", phone, ""); r.Status != http.StatusNoContent {
		t.Fatalf("sign out everywhere: %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"phone": phone, "laptop": laptop} {
		if r := w.Do(t, "POST", "/api/collections/citizens/auth-refresh", tok, ""); r.Status != http.StatusUnauthorized {
			t.Errorf("%s token after sign-out everywhere: %d", name, r.Status)
		}
	}
	fresh, err := w.App.FindRecordById("citizens", w.CitizenA.Id)
	if err != nil {
		t.Fatal(err)
	}
	if r := w.Do(t, "POST", "/api/collections/citizens/auth-refresh", testkit.Token(t, fresh), ""); r.Status != http.StatusOK {
		t.Errorf("a new sign-in works: %d", r.Status)
	}
}

// TestPasswordPolicy: short, breached or e-mail-derived passwords are refused
// on the records API (and so the dashboard) with a 400 naming the field.
func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	w := testkit.NewApp(t)
	su := testkit.Token(t, w.Superuser)
	scenarios := []struct {
		collection, email, password string
		ok                          bool
	}{
		{"citizens", "p1@example.org", "short7!", false},
		{"citizens", "p2@example.org", "password1", false}, // breached
		{"citizens", "p3@example.org", "trustno1", false},  // breached
		{"citizens", "mariarossi@example.org", "mariarossi2026", false},
		{"citizens", "p5@example.org", "aaaaaaaaaaaa", false},
		{"citizens", "p6@example.org", "tram-lamp-viola-7", true},
		{"staff", "s1@example.org", "elevenchars", false}, // staff need 12
		{"staff", "s2@example.org", "tram-lamp-viola-7", true},
	}
	for _, s := range scenarios {
		body := fmt.Sprintf(`{"email":%q,"password":%q,"passwordConfirm":%q,"name":"P","role":"clerk"}`, s.email, s.password, s.password)
		r := w.Do(t, "POST", "/api/collections/"+s.collection+"/records", su, body)
		if s.ok != (r.Status == http.StatusOK) {
			t.Errorf("%s %q: %d %s", s.collection, s.password, r.Status, r.Body)
		}
		if !s.ok && (r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"password"`)) {
			t.Errorf("%s %q: want 400 naming password, got %d %s", s.collection, s.password, r.Status, r.Body)
		}
	}
	// the change-password path too
	r := w.Do(t, "PATCH", "/api/collections/citizens/records/"+w.CitizenA.Id, testkit.Token(t, w.CitizenA),
		fmt.Sprintf(`{"oldPassword":%q,"password":"qwerty123","passwordConfirm":"qwerty123"}`, demo.DefaultPassword))
	if r.Status != http.StatusBadRequest {
		t.Errorf("change to a breached password: %d %s", r.Status, r.Body)
	}
}

// TestAddressKey: IPv4 per address, IPv6 per /64 network.
func TestAddressKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.10":           "192.0.2.10",
		"::ffff:192.0.2.10":    "192.0.2.10",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"not-an-address":       "not-an-address",
	} {
		if got := websec.AddressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
