package receipts_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civicdesk/receipts"
	"civicdesk/testkit"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

type verifyAnswer struct {
	Valid   bool                 `json:"valid"`
	Reason  string               `json:"reason"`
	Message string               `json:"message"`
	Claims  *receipts.ClaimsJSON `json:"claims"`
}

func postVerify(t *testing.T, w *testkit.World, code string) verifyAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code})
	r := w.Do(t, http.MethodPost, receipts.PathVerify, "", string(body))
	if r.Status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	var a verifyAnswer
	r.JSON(t, &a)
	return a
}

func TestJWKSRoute(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	code := receiptsOf(t, w.App, req.Id)[0].GetString("code")

	r := w.Do(t, http.MethodGet, receipts.PathJWKS, "", "")
	if r.Status != 200 || r.Header.Get("ETag") == "" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("jwks: %d %v", r.Status, r.Header)
	}
	var doc struct {
		Keys []receipts.JWK `json:"keys"`
	}
	r.JSON(t, &doc)
	if len(doc.Keys) != 1 || doc.Keys[0].Status != receipts.KeyActive || doc.Keys[0].Iss != "IT-GE" || doc.Keys[0].Alg != "ES256" {
		t.Fatalf("keys %+v", doc.Keys)
	}
	// the published x, y are the key the code's kid names: kid = SHA-256(SPKI)[:8]
	k := doc.Keys[0]
	x, _ := base64.RawURLEncoding.DecodeString(k.X)
	y, _ := base64.RawURLEncoding.DecodeString(k.Y)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("x, y are not a P-256 point: %v", err)
	}
	kid, err := receipts.KidOf(pub)
	if err != nil || base64.RawURLEncoding.EncodeToString(kid) != k.Kid || len(x) != 32 || len(y) != 32 {
		t.Fatalf("kid %x vs %s (%v)", kid, k.Kid, err)
	}
	if _, err := x509.MarshalPKIXPublicKey(pub); err != nil {
		t.Fatal(err)
	}
	p := splitCode(t, code)
	if !bytes.Equal(p.Protected[5:], kid) {
		t.Fatal("code's kid is not the published key")
	}

	// revalidation
	etag := r.Header.Get("ETag")
	h := w.Handler(t)
	hr := httptest.NewRequest(http.MethodGet, receipts.PathJWKS, nil)
	hr.Header.Set("If-None-Match", etag)
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, hr)
	if rw.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", rw.Code)
	}

	// rotating changes the document (and so the ETag); the old key stays, retired
	ks, _ := receipts.Of(w.App).KeyStore()
	if _, err := ks.Rotate("IT-GE"); err != nil {
		t.Fatal(err)
	}
	r2 := w.Do(t, http.MethodGet, receipts.PathJWKS, "", "")
	var doc2 struct {
		Keys []receipts.JWK `json:"keys"`
	}
	r2.JSON(t, &doc2)
	if r2.Header.Get("ETag") == etag || len(doc2.Keys) != 2 || doc2.Keys[0].Status != receipts.KeyRetired || doc2.Keys[1].Status != receipts.KeyActive {
		t.Fatalf("after rotation: etag %s, keys %+v", r2.Header.Get("ETag"), doc2.Keys)
	}
	if a := postVerify(t, w, code); !a.Valid || a.Claims.KeyStatus != receipts.KeyRetired {
		t.Fatalf("old receipt after rotation: %+v", a)
	}
}

func TestQRRoute(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA) // pothole: department roads
	rec := receiptsOf(t, w.App, req.Id)[0]
	url := "/api/mobile/receipts/" + rec.Id + "/qr.png"
	scenarios := []struct {
		name   string
		auth   *core.Record
		query  string
		status int
	}{
		{"owner", w.CitizenA, "", 200},
		{"owner, ppm 2", w.CitizenA, "?ppm=2", 200},
		{"other citizen", w.CitizenB, "", 404},
		{"guest", nil, "", 401},
		{"clerk of the department", w.ClerkRoads, "", 200},
		{"clerk of another department", w.ClerkRegistry, "", 404},
		{"supervisor", w.Supervisor, "", 200},
		{"superuser", w.Superuser, "", 200},
		{"ppm 0", w.CitizenA, "?ppm=0", 400},
		{"ppm too large", w.CitizenA, "?ppm=21", 400},
		{"ppm not a number", w.CitizenA, "?ppm=big", 400},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			r := w.Do(t, http.MethodGet, url+s.query, testkit.Token(t, s.auth), "")
			if r.Status != s.status {
				t.Fatalf("status %d, want %d: %s", r.Status, s.status, r.Body)
			}
			if s.status == 400 && !strings.Contains(r.Body, `"ppm"`) {
				t.Fatalf("400 does not name ppm: %s", r.Body)
			}
			if s.status != 200 {
				return
			}
			if r.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("content type %q", r.Header.Get("Content-Type"))
			}
			img, err := png.Decode(strings.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			ppm := receipts.DefaultModulePixels
			if s.query == "?ppm=2" {
				ppm = 2
			}
			v, _ := receipts.QRVersion(rec.GetString("code"))
			if want := (4*v + 17 + 8) * ppm; img.Bounds().Dx() != want {
				t.Fatalf("width %d, want %d", img.Bounds().Dx(), want)
			}
		})
	}
	if r := w.Do(t, http.MethodGet, "/api/mobile/receipts/nosuchreceipt00/qr.png", testkit.Token(t, w.CitizenA), ""); r.Status != 404 {
		t.Fatalf("unknown receipt: %d", r.Status)
	}
}

func TestVerifyRoute(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	rec := receiptsOf(t, w.App, req.Id)[0]
	code := rec.GetString("code")

	if a := postVerify(t, w, code); !a.Valid || a.Reason != "" || a.Claims == nil || a.Claims.Number != req.GetString("number") {
		t.Fatalf("valid code: %+v", a)
	}
	p := splitCode(t, code)
	p.Signature = flip(p.Signature, 3)
	scenarios := []struct {
		name, code, reason string
	}{
		{"tampered signature", joinCode(t, p), "bad_signature"},
		{"garbage", "hello", "malformed"},
		{"lowercase", strings.ToLower(code), "malformed"},
		{"truncated", code[:len(code)-2], "malformed"},
		{"too long for the verifier", "CR1:" + strings.Repeat("A", receipts.MaxCodeLen), "malformed"},
		{"CBOR bomb", "CR1:" + receipts.Base45Encode(append([]byte{0xd2}, bytes.Repeat([]byte{0x9f}, 500)...)), "malformed"},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if a := postVerify(t, w, s.code); a.Valid || a.Reason != s.reason || a.Message == "" {
				t.Fatalf("%+v, want %s", a, s.reason)
			}
		})
	}

	bad := []struct {
		name, body string
		status     int
	}{
		{"no body", "", 400},
		{"not json", "code=CR1:", 400},
		{"no code", `{"other": 1}`, 400},
		{"code not a string", `{"code": 5}`, 400},
		{"oversized body", `{"code": "` + strings.Repeat("A", receipts.VerifyBodyLimit) + `"}`, 413},
	}
	for _, s := range bad {
		t.Run(s.name, func(t *testing.T) {
			if r := w.Do(t, http.MethodPost, receipts.PathVerify, "", s.body); r.Status != s.status {
				t.Fatalf("status %d, want %d: %s", r.Status, s.status, r.Body)
			}
		})
	}

	t.Run("revoked receipt", func(t *testing.T) {
		if _, err := receipts.Of(w.App).Revoke(rec.Id, "issued in error"); err != nil {
			t.Fatal(err)
		}
		a := postVerify(t, w, code)
		if a.Valid || a.Reason != "revoked_receipt" || !strings.Contains(a.Message, "issued in error") {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("revoked key", func(t *testing.T) {
		other := w.NewRequest(t, w.CitizenB)
		otherCode := receiptsOf(t, w.App, other.Id)[0].GetString("code")
		ks, _ := receipts.Of(w.App).KeyStore()
		set, _ := ks.Current()
		if err := ks.RevokeKey(set.Active().KidString(), "IT-GE"); err != nil {
			t.Fatal(err)
		}
		if a := postVerify(t, w, otherCode); a.Valid || a.Reason != "revoked_key" {
			t.Fatalf("%+v", a)
		}
		// issuing goes on with the fresh key
		third := w.NewRequest(t, w.CitizenB)
		if a := postVerify(t, w, receiptsOf(t, w.App, third.Id)[0].GetString("code")); !a.Valid {
			t.Fatalf("receipt after key revocation: %+v", a)
		}
	})
}

// TestReceiptsRecordsAPI: receipts reach their owner through the records API
// (and so sync), never another citizen, and cannot be forged through it.
func TestReceiptsRecordsAPI(t *testing.T) {
	w := testkit.NewApp(t)
	body := `{"service":"` + w.Services["pothole"] + `","citizen":"` + w.CitizenA.Id + `","answers":{"size":"small"},"location":{"lat":44.4,"lon":8.9}}`
	r := w.Do(t, http.MethodPost, "/api/collections/requests/records", testkit.Token(t, w.CitizenA), body)
	if r.Status != 200 {
		t.Fatalf("create request: %d %s", r.Status, r.Body)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	w.Do(t, http.MethodGet, "/api/collections/receipts/records", testkit.Token(t, w.CitizenA), "").JSON(t, &list)
	if len(list.Items) != 1 || !strings.HasPrefix(list.Items[0]["code"].(string), "CR1:") {
		t.Fatalf("owner's receipts: %+v", list.Items)
	}
	w.Do(t, http.MethodGet, "/api/collections/receipts/records", testkit.Token(t, w.CitizenB), "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("other citizen sees %d receipts", len(list.Items))
	}
	var created map[string]any
	r.JSON(t, &created)
	long := `{"paid_at":"2026-11-26 10:00:00Z","payment_ref":"` + strings.Repeat("9", receipts.MaxPaymentRefLen+1) + `"}`
	if r := w.Do(t, http.MethodPatch, "/api/collections/requests/records/"+created["id"].(string), testkit.Token(t, w.Supervisor), long); r.Status != 400 || !strings.Contains(r.Body, `"payment_ref":{"code":"validation_receipt_limit"`) {
		t.Fatalf("too long payment_ref: %d %s", r.Status, r.Body)
	}
	forged := `{"request":"` + created["id"].(string) + `","code":"CR1:X","kind":"received","issued_at":"2026-01-01 00:00:00Z"}`
	if r := w.Do(t, http.MethodPost, "/api/collections/receipts/records", testkit.Token(t, w.CitizenA), forged); r.Status < 400 {
		t.Fatalf("citizen created a receipt: %d", r.Status)
	}
}

// TestVerifyRouteScenarios runs the public verify route's input handling as
// PocketBase API scenarios (one fresh app each).
func TestVerifyRouteScenarios(t *testing.T) {
	factory := func(t testing.TB) *tests.TestApp { return testkit.NewApp(t).App }
	scenarios := []tests.ApiScenario{
		{
			Name: "garbage is valid:false malformed", Method: http.MethodPost, URL: receipts.PathVerify,
			Body: strings.NewReader(`{"code":"not a receipt"}`), ExpectedStatus: 200,
			ExpectedContent: []string{`"valid":false`, `"reason":"malformed"`, `"claims":null`},
		},
		{
			Name: "unknown key", Method: http.MethodPost, URL: receipts.PathVerify,
			Body:           strings.NewReader(`{"code":"` + foreignCode(t) + `"}`),
			ExpectedStatus: 200, ExpectedContent: []string{`"valid":false`, `"reason":"unknown_key"`},
		},
		{
			Name: "missing code", Method: http.MethodPost, URL: receipts.PathVerify,
			Body: strings.NewReader(`{}`), ExpectedStatus: 400, ExpectedContent: []string{`"code":{"code":"validation_required"`},
		},
		{
			Name: "oversized body", Method: http.MethodPost, URL: receipts.PathVerify,
			Body: strings.NewReader(`{"code":"` + strings.Repeat("A", 2*receipts.VerifyBodyLimit) + `"}`), ExpectedStatus: 413,
			ExpectedContent: []string{`"status":413`},
		},
		{
			Name: "JWKS is public", Method: http.MethodGet, URL: receipts.PathJWKS, ExpectedStatus: 200,
			ExpectedContent: []string{`"kty":"EC"`, `"status":"active"`, `"iss":"IT-GE"`},
		},
		{
			Name: "QR needs auth", Method: http.MethodGet, URL: "/api/mobile/receipts/abc/qr.png", ExpectedStatus: 401,
			ExpectedContent: []string{`"status":401`},
		},
	}
	for _, s := range scenarios {
		s.TestAppFactory = factory
		s.Test(t)
	}
}

// foreignCode is a valid receipt signed by a key that no test app knows.
func foreignCode(t testing.TB) string {
	return signFixed(t, current(t, openStore(t, t.TempDir())))
}
