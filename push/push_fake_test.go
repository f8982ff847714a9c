package push_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"civicdesk/push"
)

// device is a browser's push subscription: its ECDH key and auth secret.
type device struct {
	priv *ecdh.PrivateKey
	auth []byte
	path string
}

func (d *device) keys() push.SubscriptionKeys {
	return push.SubscriptionKeys{
		P256dh: base64.RawURLEncoding.EncodeToString(d.priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(d.auth),
	}
}

// delivery is one decrypted push as the fake push service saw it.
type delivery struct {
	Path    string
	Payload push.Payload
	TTL     int
	Urgency string
	Topic   string
	At      time.Time
	BodyLen int
}

// fakePush is a push service (RFC 8030) that checks what a real one checks and
// what a browser would do with the body: the VAPID JWT (RFC 8292), the
// headers, and the RFC 8291 aes128gcm encryption, which it decrypts with the
// device's private key. respond decides the answer of the n-th POST to a path.
type fakePush struct {
	t       testing.TB
	srv     *httptest.Server
	vapid   string // expected VAPID public key (base64url)
	subject string // expected JWT sub

	mu      sync.Mutex
	devices map[string]*device
	got     []delivery
	hits    map[string]int
	times   map[string][]time.Time
	respond func(path string, n int) (int, http.Header)
}

func newFakePush(t testing.TB) *fakePush {
	f := &fakePush{t: t, devices: map[string]*device{}, hits: map[string]int{}, times: map[string][]time.Time{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// host is the fake's host:port (for CIVICDESK_PUSH_ALLOW_HOSTS).
func (f *fakePush) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// newDevice makes a browser subscription whose endpoint is on the fake.
func (f *fakePush) newDevice() (*device, string) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	d := &device{priv: priv, auth: auth, path: "/push/" + base64.RawURLEncoding.EncodeToString(b)}
	f.mu.Lock()
	f.devices[d.path] = d
	f.mu.Unlock()
	return d, f.srv.URL + d.path
}

func (f *fakePush) deliveries() []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivery(nil), f.got...)
}

func (f *fakePush) hitCount(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakePush) hitTimes(path string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times[path]...)
}

var topicRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func (f *fakePush) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.times[r.URL.Path] = append(f.times[r.URL.Path], time.Now())
	n := f.hits[r.URL.Path]
	d := f.devices[r.URL.Path]
	respond := f.respond
	f.mu.Unlock()

	fail := func(format string, args ...any) {
		f.t.Errorf("push service: "+format, args...)
		http.Error(w, fmt.Sprintf(format, args...), http.StatusBadRequest)
	}
	if r.Method != http.MethodPost || d == nil {
		fail("unexpected %s %s", r.Method, r.URL.Path)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		fail("Content-Encoding %q", ce)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 1 {
		fail("TTL header %q", r.Header.Get("TTL"))
		return
	}
	topic := r.Header.Get("Topic")
	if !topicRE.MatchString(topic) {
		fail("Topic %q is not 1-32 URL-safe characters", topic)
		return
	}
	urgency := r.Header.Get("Urgency")
	switch urgency {
	case "very-low", "low", "normal", "high":
	default:
		fail("Urgency %q", urgency)
		return
	}
	if err := f.checkVAPID(r.Header.Get("Authorization"), "http://"+r.Host); err != nil {
		fail("VAPID: %v", err)
		return
	}
	body := make([]byte, 8192)
	nb, _ := readFull(r, body)
	body = body[:nb]
	plain, err := decryptAES128GCM(body, d.priv, d.auth)
	if err != nil {
		fail("decrypt: %v", err)
		return
	}
	var p push.Payload
	dec := json.NewDecoder(strings.NewReader(string(plain)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		fail("payload %q: %v", plain, err)
		return
	}

	status, hdr := http.StatusCreated, http.Header(nil)
	if respond != nil {
		status, hdr = respond(r.URL.Path, n)
	}
	if status == http.StatusCreated {
		f.mu.Lock()
		f.got = append(f.got, delivery{Path: r.URL.Path, Payload: p, TTL: ttl, Urgency: urgency, Topic: topic, At: time.Now(), BodyLen: len(body)})
		f.mu.Unlock()
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

func readFull(r *http.Request, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Body.Read(buf[n:])
		n += m
		if err != nil {
			return n, nil
		}
	}
	return n, errors.New("body too large")
}

// checkVAPID verifies "vapid t=<jwt>, k=<key>" (RFC 8292): ES256 signature with
// k, k is the server's key, aud is the endpoint origin, exp within 24 h, sub set once.
func (f *fakePush) checkVAPID(header, origin string) error {
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return fmt.Errorf("scheme in %q", header)
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		params[k] = v
	}
	if f.vapid != "" && params["k"] != f.vapid {
		return fmt.Errorf("k = %q, want the server's key %q", params["k"], f.vapid)
	}
	rawKey, err := base64.RawURLEncoding.DecodeString(params["k"])
	if err != nil {
		return fmt.Errorf("k: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), rawKey)
	if err != nil {
		return fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(params["t"], ".")
	if len(parts) != 3 {
		return fmt.Errorf("t is not a JWT")
	}
	var hdr struct{ Alg string }
	if err := decodeSegment(parts[0], &hdr); err != nil || hdr.Alg != "ES256" {
		return fmt.Errorf("JWT header alg %q (%v)", hdr.Alg, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return fmt.Errorf("JWT signature is not 64 raw bytes")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return fmt.Errorf("JWT signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("JWT claims: %w", err)
	}
	if claims.Aud != origin {
		return fmt.Errorf("aud = %q, want %q", claims.Aud, origin)
	}
	now := time.Now().Unix()
	if claims.Exp <= now || claims.Exp > now+24*3600 {
		return fmt.Errorf("exp %d is not within 24 h of now %d", claims.Exp, now)
	}
	if f.subject != "" && claims.Sub != f.subject {
		return fmt.Errorf("sub = %q, want %q", claims.Sub, f.subject)
	}
	if strings.Count(claims.Sub, "mailto:") > 1 || !(strings.HasPrefix(claims.Sub, "mailto:") || strings.HasPrefix(claims.Sub, "https:")) {
		return fmt.Errorf("sub %q", claims.Sub)
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// decryptAES128GCM opens an RFC 8291 message (one RFC 8188 aes128gcm record).
func decryptAES128GCM(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 86 || len(body) > 4096 {
		return nil, fmt.Errorf("body of %d bytes", len(body))
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 {
		return nil, fmt.Errorf("keyid of %d bytes", idlen)
	}
	asPub, ct := body[21:86], body[86:]
	if uint32(len(ct)) > rs {
		return nil, fmt.Errorf("more than one record (rs %d, ciphertext %d)", rs, len(ct))
	}
	pub, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		return nil, err
	}
	shared, err := ua.ECDH(pub)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), asPub...)
	ikm, err := hkdf.Key(sha256.New, shared, auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	blk, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	pt, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, err
	}
	pt = []byte(strings.TrimRight(string(pt), "\x00"))
	if len(pt) == 0 || pt[len(pt)-1] != 0x02 {
		return nil, errors.New("no last-record delimiter")
	}
	return pt[:len(pt)-1], nil
}
