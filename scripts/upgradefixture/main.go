// Command upgradefixture makes the upgrade test's data dir with a released
// civicdesk binary (scripts/make-upgrade-fixture.sh builds it): the demo city,
// a citizen whose phone filed requests over sync (with a photo-less receipt
// each), a comment, a staff status change, and a push subscription. It writes
// the data dir as a .tar.gz plus a manifest of what a newer binary must still
// serve (migrations/upgrade_test.go).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Manifest is what the fixture holds, for the upgrade test.
type Manifest struct {
	Release        string            `json:"release"`
	CitizenEmail   string            `json:"citizenEmail"`
	CitizenPass    string            `json:"citizenPassword"`
	ClientID       string            `json:"clientID"`
	LastMutationID int64             `json:"lastMutationID"`
	Cursor         string            `json:"cursor"`
	Requests       map[string]string `json:"requests"` // id -> number
	Receipts       map[string]string `json:"receipts"` // request id -> received receipt code
	Statuses       map[string]string `json:"statuses"` // request id -> status
	Subscription   string            `json:"subscription"`
	Endpoint       string            `json:"endpoint"`
}

func main() {
	bin := flag.String("bin", "", "the released civicdesk binary")
	out := flag.String("out", "", "the .tar.gz to write (the manifest goes next to it)")
	release := flag.String("release", "", "the release's commit")
	flag.Parse()
	if *bin == "" || *out == "" {
		log.Fatal("usage: upgradefixture -bin OLD_BINARY -out FILE.tar.gz -release COMMIT")
	}
	dir, err := os.MkdirTemp("", "civicdesk-fixture-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dataDir := filepath.Join(dir, "pb_data")

	run(*bin, "demo", "--dir", dataDir)
	run(*bin, "superuser", "upsert", "fixture-root@demo.civicdesk.example", "fixture-root-pass-2026", "--dir", dataDir)
	addr := freeAddr()
	base := "http://" + addr
	srv := exec.Command(*bin, "serve", "--http", addr, "--dir", dataDir)
	srv.Env = append(os.Environ(), "CIVICDESK_PUBLIC_URL="+base)
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	waitHealthy(base)

	m := Manifest{Release: *release, CitizenEmail: "fixture-citizen@demo.civicdesk.example", CitizenPass: "fixture-citizen-pass-2026",
		ClientID: "fixture-phone-1", Requests: map[string]string{}, Receipts: map[string]string{}, Statuses: map[string]string{}}
	su := postToken(base+"/api/collections/_superusers/auth-with-password", "", map[string]any{"identity": "fixture-root@demo.civicdesk.example", "password": "fixture-root-pass-2026"})
	var citizen struct {
		ID string `json:"id"`
	}
	post(base+"/api/collections/citizens/records", su, map[string]any{"email": m.CitizenEmail, "password": m.CitizenPass, "passwordConfirm": m.CitizenPass, "verified": true}, &citizen)
	tok := postToken(base+"/api/collections/citizens/auth-with-password", "", map[string]any{"identity": m.CitizenEmail, "password": m.CitizenPass})

	ids := []string{"fixturerequest1", "fixturerequest2", "fixturerequest3"}
	var muts []map[string]any
	for i, id := range ids {
		muts = append(muts, map[string]any{"id": i + 1, "name": "request.create", "args": map[string]any{
			"requestId": id, "service": "pothole", "answers": map[string]any{"size": "large"},
			"description": "fixture " + id, "location": map[string]float64{"lat": 44.4056, "lon": 8.9463},
		}})
	}
	muts = append(muts, map[string]any{"id": 4, "name": "request.comment", "args": map[string]any{"eventId": "fixturecomment1", "requestId": ids[0], "message": "still there"}})
	post(base+"/api/mobile/sync/push", tok, map[string]any{"clientID": m.ClientID, "mutations": muts}, nil)

	// a staff change: the superuser starts work on the second request
	patch(base+"/api/collections/requests/records/"+ids[1], su, map[string]any{"status": "in_progress"})

	// a push subscription (a real P-256 key; the push service host is allow-listed)
	key, _ := ecdh.P256().GenerateKey(rand.Reader)
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	m.Endpoint = "https://fcm.googleapis.com/fcm/send/fixture-" + fmt.Sprint(time.Now().Unix())
	var sub struct {
		ID string `json:"id"`
	}
	post(base+"/api/mobile/push/subscriptions", tok, map[string]any{"endpoint": m.Endpoint, "lang": "it", "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(secret)}}, &sub)
	m.Subscription = sub.ID

	var cursor any
	for {
		var pg struct {
			Cursor         string `json:"cursor"`
			HasMore        bool   `json:"hasMore"`
			LastMutationID int64  `json:"lastMutationID"`
			Changes        []struct {
				Collection string         `json:"collection"`
				ID         string         `json:"id"`
				Data       map[string]any `json:"data"`
			} `json:"changes"`
		}
		post(base+"/api/mobile/sync/pull", tok, map[string]any{"clientID": m.ClientID, "cursor": cursor, "limit": 100}, &pg)
		for _, ch := range pg.Changes {
			if ch.Collection != "requests" {
				continue
			}
			m.Requests[ch.ID] = fmt.Sprint(ch.Data["number"])
			m.Statuses[ch.ID] = fmt.Sprint(ch.Data["status"])
			for _, r := range ch.Data["receipts"].([]any) {
				if rc := r.(map[string]any); rc["kind"] == "received" {
					m.Receipts[ch.ID] = rc["code"].(string)
				}
			}
		}
		cursor, m.Cursor, m.LastMutationID = pg.Cursor, pg.Cursor, pg.LastMutationID
		if !pg.HasMore {
			break
		}
	}
	_ = srv.Process.Signal(os.Interrupt)
	_ = srv.Wait()

	if err := writeTarGz(*out, dataDir); err != nil {
		log.Fatal(err)
	}
	raw, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(strings.TrimSuffix(*out, ".tar.gz")+".json", append(raw, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "fixture: %s (%d requests)\n", *out, len(m.Requests))
}

func run(bin string, args ...string) {
	cmd := exec.Command(bin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(base string) {
	for i := 0; i < 300; i++ {
		if r, err := http.Get(base + "/api/health"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.Fatal("the old binary did not start")
}

func do(method, url, token string, body, out any) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		log.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			log.Fatal(err)
		}
	}
}

func post(url, token string, body, out any) { do(http.MethodPost, url, token, body, out) }
func patch(url, token string, body any)     { do(http.MethodPatch, url, token, body, nil) }

func postToken(url, token string, body any) string {
	var auth struct {
		Token string `json:"token"`
	}
	post(url, token, body, &auth)
	return auth.Token
}

// writeTarGz packs dataDir (without logs and the backups dir) into file.
func writeTarGz(file, dataDir string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dataDir, p)
		if rel == "." || strings.HasPrefix(rel, "auxiliary.db") || rel == "backups" || strings.HasPrefix(rel, ".pb_temp") {
			if d.IsDir() && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.ModTime = time.Unix(0, 0)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
