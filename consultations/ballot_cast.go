package consultations

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	mobileapi "civicdesk/mobile-api"
	"civicdesk/receipts"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// MutationCast is the sync mutation that casts or changes a ballot.
const MutationCast = "ballot.cast"

// Receipt statuses of a ballot (claim 4 of a ballot receipt).
const (
	ReceiptCounted     = "counted"
	ReceiptLateCounted = "late_counted"
)

var recordIDPattern = regexp.MustCompile(`^[a-z0-9]{15}$`)

// castArgs are the args of ballot.cast.
type castArgs struct {
	ConsultationID string  `json:"consultationId"`
	BaseVersion    *int64  `json:"baseVersion"`
	Answers        Answers `json:"answers"`
}

func parseCast(raw json.RawMessage) (any, error) {
	a := &castArgs{}
	if err := mobileapi.DecodeArgs(raw, a); err != nil {
		return nil, err
	}
	if !recordIDPattern.MatchString(a.ConsultationID) {
		return nil, mobileapi.Reject("invalid_args", "consultationId", "consultationId must be 15 characters of a-z and 0-9.")
	}
	if a.BaseVersion == nil || *a.BaseVersion < 0 {
		return nil, mobileapi.Reject("invalid_args", "baseVersion", "baseVersion is the ballot version this device last saw (0 for none).")
	}
	if a.Answers == nil {
		a.Answers = Answers{}
	}
	return a, nil
}

// ballotRow is a row of the ballots table.
type ballotRow struct {
	ID      int64  `db:"id"`
	Version int64  `db:"version"`
	Answers string `db:"answers"`
	Late    bool   `db:"late"`
}

// applyCast accepts a ballot inside the push transaction: the consultation
// must be open by the server's clock (or within its grace period), the
// citizen eligible, the answers valid and baseVersion the stored version.
func (s *Service) applyCast(tx core.App, citizenID string, m mobileapi.Mutation, parsed any) error {
	a := parsed.(*castArgs)
	rec, err := tx.FindRecordById(CollConsultations, a.ConsultationID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && rec.GetString("status") == StatusDraft) {
		return mobileapi.Reject(CodeUnknownConsultation, "consultationId", "No such consultation.")
	}
	if err != nil {
		return fmt.Errorf("load consultation %s: %w", a.ConsultationID, err)
	}
	c, err := Load(rec)
	if err != nil {
		return err
	}
	now := s.Now()
	late := false
	switch c.Phase(now) {
	case StatusScheduled:
		return mobileapi.Reject(CodeNotOpen, "consultationId", "This consultation is not open yet.")
	case StatusOpen:
	default:
		// the phone's clock proves nothing: a late ballot counts only under the
		// grace policy, received within the grace period and claimed before close
		ct, ok := clientTime(m)
		if c.Status == StatusPublished || c.LatePolicy != LateGrace || !now.Before(c.LateUntil()) || !ok || !ct.Before(c.ClosesAt) {
			return mobileapi.Reject(CodeClosed, "consultationId", "This consultation is closed; the ballot arrived too late to count.")
		}
		late = true
	}
	citizen, err := tx.FindRecordById("citizens", citizenID)
	if err != nil {
		return fmt.Errorf("load citizen: %w", err)
	}
	if why := s.eligible(c, citizen); why != "" {
		return mobileapi.Reject(CodeNotEligible, "", why)
	}
	if err := c.Validate(a.Answers); err != nil {
		return err
	}
	body, err := json.Marshal(a.Answers)
	if err != nil {
		return fmt.Errorf("encode answers: %w", err)
	}
	voter, err := s.VoterKey(c.ID, citizenID)
	if err != nil {
		return err
	}

	var row ballotRow
	err = tx.DB().NewQuery("SELECT [[id]], [[version]], [[answers]], [[late]] FROM [[ballots]] WHERE [[consultation]] = {:c} AND [[voter]] = {:v}").
		Bind(dbx.Params{"c": c.ID, "v": voter}).One(&row)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load ballot: %w", err)
	}
	if found && *a.BaseVersion == row.Version-1 && row.Answers == string(body) {
		// the same ballot again (a re-push after a restore, under a new mutation id): already counted
		return nil
	}
	if *a.BaseVersion != row.Version { // row.Version is 0 when there is none
		return mobileapi.Reject(CodeConflict, "baseVersion", fmt.Sprintf("This ballot was changed on another device (version %d); review it and send again.", row.Version))
	}
	acceptedAt := now.Format(types.DefaultDateLayout)
	ctText := ""
	if t, ok := clientTime(m); ok {
		ctText = t.Format(time.RFC3339Nano)
	}
	version := row.Version + 1
	if found {
		_, err = tx.DB().NewQuery("UPDATE [[ballots]] SET [[version]] = {:ver}, [[answers]] = {:a}, [[accepted_at]] = {:at}, [[client_time]] = {:ct}, [[late]] = {:late} WHERE [[id]] = {:id} AND [[version]] = {:base}").
			Bind(dbx.Params{"ver": version, "a": string(body), "at": acceptedAt, "ct": ctText, "late": late, "id": row.ID, "base": row.Version}).Execute()
	} else {
		// the UNIQUE (consultation, voter) index refuses a second row whatever the code above did
		_, err = tx.DB().NewQuery("INSERT INTO [[ballots]] ([[consultation]], [[voter]], [[version]], [[answers]], [[accepted_at]], [[client_time]], [[late]]) VALUES ({:c}, {:v}, 1, {:a}, {:at}, {:ct}, {:late})").
			Bind(dbx.Params{"c": c.ID, "v": voter, "a": string(body), "at": acceptedAt, "ct": ctText, "late": late}).Execute()
	}
	if err != nil {
		return fmt.Errorf("store ballot: %w", err)
	}
	if _, err := tx.DB().NewQuery("UPDATE {{receipts}} SET [[superseded]] = TRUE, [[updated]] = {:now} WHERE [[kind]] = 'ballot' AND [[consultation]] = {:c} AND [[citizen]] = {:cit} AND [[superseded]] = FALSE").
		Bind(dbx.Params{"now": acceptedAt, "c": c.ID, "cit": citizenID}).Execute(); err != nil {
		return fmt.Errorf("supersede ballot receipts: %w", err)
	}
	status := ReceiptCounted
	if late {
		status = ReceiptLateCounted
	}
	_, err = receipts.Of(s.app).IssueBallot(tx, receipts.Ballot{
		CitizenID: citizenID, ConsultationID: c.ID, Code: c.Code, Version: uint64(version), Status: status, At: now,
	})
	return err
}

func clientTime(m mobileapi.Mutation) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(m.ClientTime))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// eligible returns why citizen may not answer c, or "".
func (s *Service) eligible(c *Consultation, citizen *core.Record) string {
	e := c.Eligibility
	if e.MinAge > 0 {
		birth := citizen.GetDateTime("birthdate")
		if birth.IsZero() {
			return fmt.Sprintf("This consultation is open to people aged %d or more: add your date of birth to your profile.", e.MinAge)
		}
		if ageOn(birth.Time(), c.ClosesAt.In(c.Location)) < e.MinAge {
			return fmt.Sprintf("This consultation is open to people aged %d or more.", e.MinAge)
		}
	}
	if len(e.Districts) > 0 {
		d := citizen.GetString("district")
		ok := false
		for _, x := range e.Districts {
			ok = ok || (d != "" && strings.EqualFold(x, d))
		}
		if !ok {
			return "This consultation is open to residents of particular districts: check the district in your profile."
		}
	}
	if !s.identityOK(citizen, e.IdentityLevel) {
		return "This consultation needs a verified identity that your account does not have."
	}
	return ""
}

// ageOn is the age in whole years on the calendar day of at, for a birth date
// (stored as a date at midnight UTC).
func ageOn(birth, at time.Time) int {
	by, bm, bd := birth.UTC().Date()
	y, m, d := at.Date()
	age := y - by
	if m < bm || (m == bm && d < bd) {
		age--
	}
	return age
}

// ballotsOf reads every ballot's answers of a consultation (for the tally).
func ballotsOf(app core.App, consultationID string) ([]ballotRow, error) {
	var rows []ballotRow
	err := app.DB().NewQuery("SELECT [[id]], [[version]], [[answers]], [[late]] FROM [[ballots]] WHERE [[consultation]] = {:c} ORDER BY [[id]]").
		Bind(dbx.Params{"c": consultationID}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("read ballots: %w", err)
	}
	return rows, nil
}
