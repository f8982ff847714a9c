package consultations

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// VoterKeyFile is the secret (in the data dir, like the receipt keys) that
// turns a citizen id into a ballot's voter key. Without it the ballots table
// alone does not say whose ballot a row is; after publication the voter keys
// are replaced by random ones.
const VoterKeyFile = "consultations_voter.key"

const serviceStoreKey = "civicdesk.consultations.service"

// IdentityCheck reports whether citizen has the verified-identity level a
// consultation asks for (Eligibility.IdentityLevel). The default refuses every
// non-empty level: no identity provider is integrated yet.
type IdentityCheck func(app core.App, citizen *core.Record, level string) bool

// Service is the consultations state of one app: its clock, voter secret and
// identity check.
type Service struct {
	app core.App

	mu       sync.Mutex
	now      func() time.Time
	secret   []byte
	identity IdentityCheck
}

// Of returns app's consultations service.
func Of(app core.App) *Service {
	return app.Store().GetOrSet(serviceStoreKey, func() any {
		return &Service{app: app, now: time.Now}
	}).(*Service)
}

// SetClock replaces the clock that decides open/closed/late (tests).
func (s *Service) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Now is the server time that decides whether a ballot is on time.
func (s *Service) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now().UTC()
}

// SetIdentityCheck installs the verified-identity check (the extension point
// for SPID/CIE, BankID, Smart-ID, GOV.UK One Login, Ügyfélkapu...).
func (s *Service) SetIdentityCheck(f IdentityCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identity = f
}

func (s *Service) identityOK(citizen *core.Record, level string) bool {
	s.mu.Lock()
	f := s.identity
	s.mu.Unlock()
	if level == "" {
		return true
	}
	return f != nil && f(s.app, citizen, level)
}

// VoterKey is the ballots table's key of citizenID in consultationID.
func (s *Service) VoterKey(consultationID, citizenID string) (string, error) {
	secret, err := s.voterSecret()
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(consultationID + "|" + citizenID))
	return hex.EncodeToString(m.Sum(nil)), nil
}

func (s *Service) voterSecret() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret != nil {
		return s.secret, nil
	}
	path := filepath.Join(s.app.DataDir(), VoterKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(b) == 32:
		s.secret = b
		return b, nil
	case err == nil:
		return nil, fmt.Errorf("voter key %s: want 32 bytes, got %d", path, len(b))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("voter key: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("voter key: %w", err)
	}
	if err := os.MkdirAll(s.app.DataDir(), 0o700); err != nil {
		return nil, fmt.Errorf("voter key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		s.mu.Unlock()
		defer s.mu.Lock()
		return s.voterSecret() // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("voter key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("voter key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("voter key: %w", err)
	}
	s.secret = b
	return b, nil
}
