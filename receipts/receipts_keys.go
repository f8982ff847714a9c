package receipts

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// KeyFileName is the file in the data dir that holds the signing keys and the
// holder-tag secret. It is created owner-only (0600) and, being in the data
// dir, is part of every PocketBase backup.
const KeyFileName = "receipt_keys.json"

// KidSize is the length of a key id: the first 8 bytes of SHA-256(SPKI DER).
const KidSize = 8

// holderSecretSize is the length of the HMAC key behind holder tags.
const holderSecretSize = 32

// Key statuses, as published in the JWKS.
const (
	KeyActive  = "active"  // signs new receipts
	KeyRetired = "retired" // rotated out: verifies, never signs
	KeyRevoked = "revoked" // compromised or withdrawn: receipts it signed are invalid
)

// Key is one receipt signing key. Retired and revoked keys keep only the public half.
type Key struct {
	Kid     []byte
	Issuer  string
	Status  string
	Created time.Time
	Public  *ecdsa.PublicKey
	private *ecdsa.PrivateKey
}

// KidString returns the kid as published in the JWKS (base64url, no padding).
func (k *Key) KidString() string { return base64.RawURLEncoding.EncodeToString(k.Kid) }

// KeySet is an immutable snapshot of the key file.
type KeySet struct {
	keys         []*Key
	byKid        map[string]*Key
	active       *Key
	holderSecret []byte
}

// Keys returns the keys in creation order.
func (s *KeySet) Keys() []*Key { return s.keys }

// Active returns the signing key (nil when there is none).
func (s *KeySet) Active() *Key { return s.active }

// Lookup returns the key with the raw kid, or nil.
func (s *KeySet) Lookup(kid []byte) *Key { return s.byKid[string(kid)] }

// KidOf returns the kid of a P-256 public key.
func KidOf(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal spki: %w", err)
	}
	sum := sha256.Sum256(der)
	return sum[:KidSize], nil
}

// keyFile is the on-disk JSON form of the key file.
type keyFile struct {
	HolderSecret string        `json:"holderSecret"` // base64url
	Keys         []keyFileItem `json:"keys"`
}

type keyFileItem struct {
	Kid     string    `json:"kid"` // base64url, informational (recomputed on load)
	Issuer  string    `json:"iss"`
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
	Public  string    `json:"public"`            // base64 SPKI DER
	Private string    `json:"private,omitempty"` // base64 PKCS#8 DER, active key only
}

// KeyStore keeps the key file of one data dir. Every read re-checks the file's
// modification stamp, so a key rotated or revoked by the CLI (another process)
// takes effect in a running server without a restart.
type KeyStore struct {
	path string

	mu    sync.Mutex
	stamp fileStamp
	set   *KeySet
}

// fileStamp identifies one version of the key file. Every write renames a new
// file into place, so the file identity (inode) changes too, which catches two
// same-size writes within a coarse modification-time tick.
type fileStamp struct {
	info os.FileInfo
}

func (s fileStamp) same(fi os.FileInfo) bool {
	return s.info != nil && os.SameFile(s.info, fi) && fi.ModTime().Equal(s.info.ModTime()) && fi.Size() == s.info.Size()
}

// OpenKeyStore opens the key file in dataDir, creating it with a first active
// key for issuer when it does not exist. When the active key belongs to another
// issuer (the city's issuer code changed), a new key is rotated in for issuer.
func OpenKeyStore(dataDir, issuer string) (*KeyStore, error) {
	ks := &KeyStore{path: filepath.Join(dataDir, KeyFileName)}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	set, err := ks.loadLocked()
	switch {
	case errors.Is(err, os.ErrNotExist):
		secret := make([]byte, holderSecretSize)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("holder secret: %w", err)
		}
		if err := ks.rotateLocked(&KeySet{holderSecret: secret, byKid: map[string]*Key{}}, issuer); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case set.active == nil || set.active.Issuer != issuer:
		if err := ks.rotateLocked(set, issuer); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// Path returns the key file's path.
func (ks *KeyStore) Path() string { return ks.path }

// Current returns the key set, reloading it when the file changed on disk.
func (ks *KeyStore) Current() (*KeySet, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	fi, err := os.Stat(ks.path)
	if err != nil {
		if ks.set != nil {
			return ks.set, nil // keep serving the last good set; the next write recreates the file
		}
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if ks.set != nil && ks.stamp.same(fi) {
		return ks.set, nil
	}
	set, err := ks.loadLocked()
	if err != nil && ks.set != nil {
		// a broken edit of the file must not stop verification: keep the last good set
		return ks.set, nil
	}
	return set, err
}

// Rotate creates a new active key for issuer; the previous active key is retired
// (it keeps verifying the receipts it signed) and its private half is erased.
func (ks *KeyStore) Rotate(issuer string) (*Key, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	set, err := ks.loadLocked()
	if err != nil {
		return nil, err
	}
	if err := ks.rotateLocked(set, issuer); err != nil {
		return nil, err
	}
	return ks.set.active, nil
}

// RevokeKey marks the key kid (base64url, as in the JWKS) revoked: receipts it
// signed no longer verify. Revoking the active key rotates in a new one for issuer.
func (ks *KeyStore) RevokeKey(kid, issuer string) error {
	raw, err := base64.RawURLEncoding.DecodeString(kid)
	if err != nil || len(raw) != KidSize {
		return fmt.Errorf("kid %q: want %d bytes in base64url without padding", kid, KidSize)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	set, err := ks.loadLocked()
	if err != nil {
		return err
	}
	k := set.Lookup(raw)
	if k == nil {
		return fmt.Errorf("kid %q: no such key", kid)
	}
	if k.Status == KeyRevoked {
		return nil
	}
	next := set.clone()
	wasActive := next.active != nil && bytes.Equal(next.active.Kid, raw)
	for _, nk := range next.keys {
		if bytes.Equal(nk.Kid, raw) {
			nk.Status = KeyRevoked
			nk.private = nil
		}
	}
	if wasActive {
		next.active = nil
		return ks.rotateLocked(next, issuer)
	}
	return ks.writeLocked(next)
}

// clone copies the set so a write never mutates a snapshot readers may hold.
func (s *KeySet) clone() *KeySet {
	c := &KeySet{holderSecret: s.holderSecret, byKid: map[string]*Key{}}
	for _, k := range s.keys {
		kk := *k
		c.keys = append(c.keys, &kk)
		c.byKid[string(kk.Kid)] = &kk
		if kk.Status == KeyActive {
			c.active = &kk
		}
	}
	return c
}

func (ks *KeyStore) rotateLocked(set *KeySet, issuer string) error {
	if err := ValidateIssuer(issuer); err != nil {
		return err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	kid, err := KidOf(&priv.PublicKey)
	if err != nil {
		return err
	}
	next := set.clone()
	for _, k := range next.keys {
		if k.Status == KeyActive {
			k.Status = KeyRetired
			k.private = nil
		}
	}
	nk := &Key{Kid: kid, Issuer: issuer, Status: KeyActive, Created: time.Now().UTC().Truncate(time.Second), Public: &priv.PublicKey, private: priv}
	next.keys = append(next.keys, nk)
	next.byKid[string(kid)] = nk
	next.active = nk
	return ks.writeLocked(next)
}

// writeLocked writes the set atomically (temp file, fsync, rename) with 0600 perms.
func (ks *KeyStore) writeLocked(set *KeySet) error {
	kf := keyFile{HolderSecret: base64.RawURLEncoding.EncodeToString(set.holderSecret), Keys: []keyFileItem{}}
	for _, k := range set.keys {
		pub, err := x509.MarshalPKIXPublicKey(k.Public)
		if err != nil {
			return fmt.Errorf("marshal public key: %w", err)
		}
		item := keyFileItem{Kid: k.KidString(), Issuer: k.Issuer, Status: k.Status, Created: k.Created, Public: base64.StdEncoding.EncodeToString(pub)}
		if k.private != nil {
			der, err := x509.MarshalPKCS8PrivateKey(k.private)
			if err != nil {
				return fmt.Errorf("marshal private key: %w", err)
			}
			item.Private = base64.StdEncoding.EncodeToString(der)
		}
		kf.Keys = append(kf.Keys, item)
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(ks.path), 0o700); err != nil {
		return fmt.Errorf("key dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(ks.path), "."+KeyFileName+".*")
	if err != nil {
		return fmt.Errorf("key file temp: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("key file perms: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), ks.path); err != nil {
		return fmt.Errorf("install key file: %w", err)
	}
	_, err = ks.loadLocked()
	return err
}

// loadLocked reads and validates the key file and makes it the current set.
func (ks *KeyStore) loadLocked() (*KeySet, error) {
	f, err := os.Open(ks.path)
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// someone widened the permissions: narrow them again rather than serve a readable secret
		if err := os.Chmod(ks.path, 0o600); err != nil {
			return nil, fmt.Errorf("key file %s is readable by others and chmod failed: %w", ks.path, err)
		}
	}
	var kf keyFile
	if err := json.NewDecoder(f).Decode(&kf); err != nil {
		return nil, fmt.Errorf("decode key file %s: %w", ks.path, err)
	}
	set := &KeySet{byKid: map[string]*Key{}}
	if set.holderSecret, err = base64.RawURLEncoding.DecodeString(kf.HolderSecret); err != nil || len(set.holderSecret) < holderSecretSize {
		return nil, fmt.Errorf("key file %s: bad holderSecret", ks.path)
	}
	for i, item := range kf.Keys {
		k, err := item.decode()
		if err != nil {
			return nil, fmt.Errorf("key file %s: key %d: %w", ks.path, i, err)
		}
		if set.byKid[string(k.Kid)] != nil {
			return nil, fmt.Errorf("key file %s: duplicate kid %s", ks.path, k.KidString())
		}
		if k.Status == KeyActive {
			if set.active != nil {
				return nil, fmt.Errorf("key file %s: more than one active key", ks.path)
			}
			if k.private == nil {
				return nil, fmt.Errorf("key file %s: active key %s has no private key", ks.path, k.KidString())
			}
			set.active = k
		}
		set.keys = append(set.keys, k)
		set.byKid[string(k.Kid)] = k
	}
	ks.set = set
	ks.stamp = fileStamp{info: fi}
	return set, nil
}

func (item keyFileItem) decode() (*Key, error) {
	switch item.Status {
	case KeyActive, KeyRetired, KeyRevoked:
	default:
		return nil, fmt.Errorf("unknown status %q", item.Status)
	}
	der, err := base64.StdEncoding.DecodeString(item.Public)
	if err != nil {
		return nil, fmt.Errorf("public key base64: %w", err)
	}
	anyPub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, ok := anyPub.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("public key is not P-256")
	}
	kid, err := KidOf(pub)
	if err != nil {
		return nil, err
	}
	k := &Key{Kid: kid, Issuer: item.Issuer, Status: item.Status, Created: item.Created, Public: pub}
	if item.Private != "" {
		der, err := base64.StdEncoding.DecodeString(item.Private)
		if err != nil {
			return nil, fmt.Errorf("private key base64: %w", err)
		}
		anyPriv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		priv, ok := anyPriv.(*ecdsa.PrivateKey)
		if !ok || !priv.PublicKey.Equal(pub) {
			return nil, errors.New("private key does not match the public key")
		}
		k.private = priv
	}
	return k, nil
}

// HolderTag returns the first 8 bytes of HMAC-SHA-256(holder secret, citizenID).
func (s *KeySet) HolderTag(citizenID string) []byte {
	return holderTag(s.holderSecret, citizenID)
}
