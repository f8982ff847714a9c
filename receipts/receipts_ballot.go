package receipts

import (
	"fmt"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// BallotService is claim 3 of every ballot receipt: it marks a participation
// receipt (claim 2 is then a consultation code, not a request number).
const BallotService = "consultation"

// Ballot is what a ballot receipt proves: that version Version of a citizen's
// ballot in a consultation was received (Status "counted" or "late_counted").
// It never carries the choice, nor anything derived from it.
type Ballot struct {
	CitizenID      string
	ConsultationID string
	Code           string // the consultation's short code (claim 2)
	Version        uint64
	Status         string
	At             time.Time
}

// IssueBallot signs a ballot receipt and saves it (kind ballot, owned by the
// citizen) through txApp, the transaction that accepts the ballot.
func (s *Service) IssueBallot(txApp core.App, b Ballot) (*core.Record, error) {
	set, key, cti, err := s.start("ballot receipt")
	if err != nil {
		return nil, err
	}
	version := b.Version
	c := &Claims{
		Issuer: key.Issuer, IssuedAt: b.At.UTC().Truncate(time.Second), CTI: cti, Version: SchemaVersion,
		Number: b.Code, Service: BallotService, Status: b.Status,
		Holder: set.HolderTag(b.CitizenID), BallotVersion: &version,
	}
	row, err := signedRow(c, key, KindBallot)
	if err != nil {
		return nil, fmt.Errorf("issue ballot receipt for %s: %w", b.Code, err)
	}
	col, err := txApp.FindCachedCollectionByNameOrId(collReceipts)
	if err != nil {
		return nil, fmt.Errorf("issue ballot receipt: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Set("citizen", b.CitizenID)
	rec.Set("consultation", b.ConsultationID)
	rec.Set("ballot_version", b.Version)
	rec.Set("ballot_status", b.Status)
	rec.Load(row)
	// through Save, not rawinsert: a ballot receipt is the citizen's own row
	// (no request), announced by the records' hooks rather than OnReceiptIssued
	if err := txApp.Save(rec); err != nil {
		return nil, fmt.Errorf("save ballot receipt for %s: %w", b.Code, err)
	}
	return rec, nil
}
