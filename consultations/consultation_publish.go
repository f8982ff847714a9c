package consultations

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// internalKey marks a save made by this package (lifecycle job, publication):
// only such a save may change status past scheduled or write results. It is
// not a field name, so no request body can set it.
const internalKey = "@civicdesk.consultations.internal"

func isInternal(rec *core.Record) bool { b, _ := rec.GetRaw(internalKey).(bool); return b }

// ErrNotPublishable is returned by Publish before the results may be computed.
var ErrNotPublishable = errors.New("results cannot be published yet")

// PublishError says why a consultation cannot be published now.
type PublishError struct{ Message string }

func (e *PublishError) Error() string { return e.Message }

// Unwrap makes errors.Is(err, ErrNotPublishable) true.
func (e *PublishError) Unwrap() error { return ErrNotPublishable }

// Publish computes the results of a closed consultation (after its grace
// period) and publishes them, in one transaction: the aggregates are written
// to the record, the free texts copied (unlinked, shuffled) for moderation,
// the voter keys of its ballots replaced by random ones (so stored ballots no
// longer say whose they were) and the participants' devices notified.
// Publishing twice returns the first results.
func (s *Service) Publish(id string, actor workflow.Actor) (*Results, error) {
	var out *Results
	now := s.Now()
	err := s.app.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindRecordById(CollConsultations, id)
		if err != nil {
			return &PublishError{"No such consultation."}
		}
		c, err := Load(rec)
		if err != nil {
			return err
		}
		if c.Status == StatusPublished {
			return decodeJSON(rec.Get("results"), &out)
		}
		if c.Phase(now) != StatusClosed {
			return &PublishError{"The consultation has not closed yet."}
		}
		if now.Before(c.LateUntil()) {
			return &PublishError{fmt.Sprintf("Results are held until the grace period ends at %s.", c.LateUntil().In(c.Location).Format("2006-01-02 15:04 MST"))}
		}
		res, texts, err := Tally(tx, c, now)
		if err != nil {
			return err
		}
		out = res
		rec.Set("results", res)
		rec.Set("status", StatusPublished)
		rec.Set("published_at", now)
		markNotice(rec, noticePublished, now)
		rec.Set(internalKey, true)
		workflow.AttachActor(rec, actor)
		if err := tx.Save(rec); err != nil {
			return fmt.Errorf("publish %s: %w", c.Code, err)
		}
		col, err := tx.FindCachedCollectionByNameOrId(CollTexts)
		if err != nil {
			return fmt.Errorf("consultation texts: %w", err)
		}
		rand.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
		for i, t := range texts {
			r := core.NewRecord(col)
			r.Set("consultation", c.ID)
			r.Set("question", t.question)
			r.Set("text", t.text)
			r.Set("position", i+1)
			if err := tx.Save(r); err != nil {
				return fmt.Errorf("store free text: %w", err)
			}
		}
		if _, err := tx.DB().NewQuery("UPDATE [[ballots]] SET [[voter]] = lower(hex(randomblob(32))) WHERE [[consultation]] = {:c}").
			Bind(dbx.Params{"c": c.ID}).Execute(); err != nil {
			return fmt.Errorf("unlink ballots: %w", err)
		}
		participants, err := participantsOf(tx, c.ID)
		if err != nil {
			return err
		}
		_, err = queueNotice(tx, rec, noticePublished, participants, now, 7*24*time.Hour)
		return err
	})
	if err != nil {
		return nil, err
	}
	pokePush(s.app)
	return out, nil
}

// participantsOf lists the citizens who have a ballot receipt in a consultation.
func participantsOf(tx core.App, consultationID string) (map[string]bool, error) {
	var ids []string
	err := tx.DB().NewQuery("SELECT DISTINCT [[citizen]] FROM {{receipts}} WHERE [[kind]] = 'ballot' AND [[consultation]] = {:c}").
		Bind(dbx.Params{"c": consultationID}).Column(&ids)
	if err != nil {
		return nil, fmt.Errorf("participants: %w", err)
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m, nil
}

// Notices a consultation sends (consultations.notices keeps when each was queued).
const (
	noticeOpened    = "opened"
	noticeReminder  = "reminder"
	noticePublished = "published"
)

func notices(rec *core.Record) map[string]string {
	m := map[string]string{}
	_ = decodeJSON(rec.Get("notices"), &m)
	return m
}

func markNotice(rec *core.Record, kind string, now time.Time) {
	m := notices(rec)
	m[kind] = now.UTC().Format(time.RFC3339)
	b, _ := json.Marshal(m)
	rec.Set("notices", types.JSONRaw(b))
}
