package push

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// KeyFileName is the VAPID key file in the data dir. It lives next to data.db so
// PocketBase's backups include it: every subscription is bound to this key.
const KeyFileName = "vapid_keys.json"

// Keys is the server's VAPID (RFC 8292) key pair, base64url without padding.
type Keys struct {
	PublicKey  string    `json:"publicKey"`
	PrivateKey string    `json:"privateKey"`
	Created    time.Time `json:"created"`
}

// LoadOrCreateKeys reads the VAPID key pair from dir, creating it (owner-only,
// 0600) on first start. A file readable by others is tightened to 0600.
func LoadOrCreateKeys(dir string) (Keys, error) {
	path := filepath.Join(dir, KeyFileName)
	k, err := readKeys(path)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Keys{}, err
	}

	priv, pub, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		return Keys{}, fmt.Errorf("generate VAPID keys: %w", err)
	}
	k = Keys{PublicKey: pub, PrivateKey: priv, Created: time.Now().UTC().Truncate(time.Second)}
	if err := k.validate(); err != nil {
		return Keys{}, err
	}
	data, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return Keys{}, fmt.Errorf("encode VAPID keys: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Keys{}, fmt.Errorf("create data dir: %w", err)
	}
	// write a private temp file, then link it into place: a crash never leaves a
	// half-written key, and two starting processes never both win
	tmp, err := os.CreateTemp(dir, ".vapid-*")
	if err != nil {
		return Keys{}, fmt.Errorf("create VAPID key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return Keys{}, fmt.Errorf("chmod VAPID key file: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return Keys{}, fmt.Errorf("write VAPID key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Keys{}, fmt.Errorf("sync VAPID key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Keys{}, fmt.Errorf("close VAPID key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeys(path) // another process created it first: use theirs
		}
		return Keys{}, fmt.Errorf("install VAPID key file: %w", err)
	}
	return k, nil
}

func readKeys(path string) (Keys, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Keys{}, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return Keys{}, fmt.Errorf("restrict VAPID key file: %w", err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, fmt.Errorf("read VAPID key file: %w", err)
	}
	var k Keys
	if err := json.Unmarshal(data, &k); err != nil {
		return Keys{}, fmt.Errorf("decode VAPID key file %s: %w", path, err)
	}
	if err := k.validate(); err != nil {
		return Keys{}, fmt.Errorf("VAPID key file %s: %w", path, err)
	}
	return k, nil
}

// validate checks that the private key is a P-256 scalar whose public point is PublicKey.
func (k Keys) validate() error {
	d, err := base64.RawURLEncoding.DecodeString(k.PrivateKey)
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	priv, err := ecdh.P256().NewPrivateKey(leftPad(d, 32))
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	if base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()) != k.PublicKey {
		return errors.New("public key does not match the private key")
	}
	return nil
}

// leftPad restores leading zero bytes that big.Int-based encoders drop.
func leftPad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}
