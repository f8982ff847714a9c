package push_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"civicdesk/push"
)

func TestAllowListCheck(t *testing.T) {
	extra := push.AllowList{Extra: []string{"127.0.0.1:9999", "push.test.example"}}
	cases := []struct {
		endpoint string
		ok       bool
	}{
		{"https://fcm.googleapis.com/fcm/send/abc:APA91b", true},
		{"https://updates.push.services.mozilla.com/wpush/v2/gAAAA", true},
		{"https://web.push.apple.com/QGz0x", true},
		{"https://api.push.apple.com/3/device/x", true},
		{"https://wns2-par02p.notify.windows.com/w/?token=AwY", true},
		{"https://android.googleapis.com/gcm/send/x", true},
		{"http://fcm.googleapis.com/fcm/send/x", false},                    // plain http to a real push service
		{"https://fcm.googleapis.com:8443/fcm/send/x", false},              // odd port
		{"https://fcm.googleapis.com:443/fcm/send/x", true},                // explicit default port
		{"https://user:pw@fcm.googleapis.com/fcm/send/x", false},           // userinfo
		{"https://fcm.googleapis.com@evil.example/x", false},               // userinfo trick
		{"https://evil.example/fcm.googleapis.com", false},                 // host off the list
		{"https://fcm.googleapis.com.evil.example/x", false},               // suffix trick
		{"https://evilpush.apple.com/x", false},                            // not a subdomain of push.apple.com
		{"https://push.apple.com/x", false},                                // the bare suffix
		{"https://FCM.googleapis.com/x", false},                            // not canonical
		{"https://fcm.googleapis.com./x", false},                           // trailing dot
		{"https://142.250.180.10/fcm/send/x", false},                       // IPv4 literal
		{"https://[2a00:1450:4002::5f]/fcm/send/x", false},                 // IPv6 literal
		{"https://127.0.0.1/x", false},                                     // loopback literal without an extra entry
		{"https://fcm.googleapis.com/x#frag", false},                       // fragment
		{"https://fcm.googleapis.com/x y", false},                          // space
		{"https://fcm.googleapis.com\\@evil.example/x", false},             // backslash
		{"ftp://fcm.googleapis.com/x", false},                              // scheme
		{"//fcm.googleapis.com/x", false},                                  // relative
		{"fcm.googleapis.com/x", false},                                    // no scheme
		{"", false},                                                        //
		{"https://fcm.googleapis.com/" + strings.Repeat("a", 1100), false}, // too long
		{"http://127.0.0.1:9999/push/a", true},                             // extra host: http and IP allowed
		{"https://127.0.0.1:9999/push/a", true},                            //
		{"http://127.0.0.1:9998/push/a", false},                            // another port of the extra host
		{"http://127.0.0.1/push/a", false},                                 // extra host's port is required
		{"http://push.test.example/a", true},                               // extra host without port: default port
		{"http://push.test.example:8080/a", false},                         //
		{"http://user@127.0.0.1:9999/push/a", false},                       // userinfo even on an extra host
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			err := extra.Check(tc.endpoint)
			if (err == nil) != tc.ok {
				t.Fatalf("Check(%q) = %v, want ok=%v", tc.endpoint, err, tc.ok)
			}
			if err != nil && !errors.Is(err, push.ErrEndpointRefused) {
				t.Errorf("error %v does not wrap ErrEndpointRefused", err)
			}
		})
	}
}

// FuzzAllowListCheck: whatever the input, an accepted endpoint is an absolute
// URL without userinfo whose host is a push service over https, or an extra host.
func FuzzAllowListCheck(f *testing.F) {
	for _, s := range []string{"https://fcm.googleapis.com/x", "https://a.push.apple.com/x", "http://127.0.0.1:9999/p", "https://u@h/", "https://[::1]:443/"} {
		f.Add(s)
	}
	l := push.AllowList{Extra: []string{"127.0.0.1:9999"}}
	f.Fuzz(func(t *testing.T, s string) {
		if l.Check(s) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted an unparsable URL %q", s)
		}
		if u.User != nil {
			t.Fatalf("accepted userinfo in %q", s)
		}
		if u.Host == "127.0.0.1:9999" {
			return
		}
		host := u.Hostname()
		known := host == "fcm.googleapis.com" || host == "android.googleapis.com" || host == "updates.push.services.mozilla.com" ||
			strings.HasSuffix(host, ".push.apple.com") || strings.HasSuffix(host, ".notify.windows.com")
		if u.Scheme != "https" || !known || (u.Port() != "" && u.Port() != "443") {
			t.Fatalf("accepted %q", s)
		}
	})
}
