package consultations

import (
	"fmt"
	"time"

	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// ReminderAt is when before close citizens who have not answered are
// reminded: one calendar day in the consultation's time zone (so 23:59 the
// day before, across a daylight-saving change too).
func ReminderAt(c *Consultation) time.Time {
	return c.ClosesAt.In(c.Location).AddDate(0, 0, -1)
}

// LifecycleReport counts what one lifecycle run did.
type LifecycleReport struct {
	Opened, Closed, Reminded, Pushes int
}

// RunLifecycle moves consultations along by the clock (scheduled → open at
// opens_at, open → closed at closes_at) and queues their notices: on opening
// to every eligible citizen, a day before close to eligible citizens who have
// not answered, each once. Ballots never depend on it having run: they are
// judged by the clock itself. Scheduled every minute.
func (s *Service) RunLifecycle() (LifecycleReport, error) {
	var rep LifecycleReport
	now := s.Now()
	recs, err := s.app.FindAllRecords(CollConsultations, dbx.In("status", StatusScheduled, StatusOpen))
	if err != nil {
		return rep, fmt.Errorf("lifecycle: %w", err)
	}
	for _, r := range recs {
		err := s.app.RunInTransaction(func(tx core.App) error {
			rec, err := tx.FindRecordById(CollConsultations, r.Id)
			if err != nil {
				return err
			}
			c, err := Load(rec)
			if err != nil {
				return err
			}
			phase, sent := c.Phase(now), notices(rec)
			changed := false
			if phase != c.Status && (phase == StatusOpen || phase == StatusClosed) {
				if phase == StatusOpen {
					rep.Opened++
				} else {
					rep.Closed++
				}
				rec.Set("status", phase)
				changed = true
			}
			if phase == StatusOpen && sent[noticeOpened] == "" {
				n, err := queueNotice(tx, rec, noticeOpened, nil, now, c.ClosesAt.Sub(now))
				if err != nil {
					return err
				}
				rep.Pushes += n
				markNotice(rec, noticeOpened, now)
				changed = true
			}
			if phase == StatusOpen && sent[noticeReminder] == "" && !now.Before(ReminderAt(c)) {
				answered, err := participantsOf(tx, c.ID)
				if err != nil {
					return err
				}
				include := map[string]bool{}
				subs, err := tx.FindAllRecords("push_subscriptions")
				if err != nil {
					return err
				}
				for _, sub := range subs {
					cid := sub.GetString("citizen")
					if answered[cid] {
						continue
					}
					if cit, err := tx.FindRecordById("citizens", cid); err == nil && s.eligible(c, cit) == "" {
						include[cid] = true
					}
				}
				n, err := queueNotice(tx, rec, noticeReminder, include, now, c.ClosesAt.Sub(now))
				if err != nil {
					return err
				}
				rep.Reminded++
				rep.Pushes += n
				markNotice(rec, noticeReminder, now)
				changed = true
			}
			if !changed {
				return nil
			}
			rec.Set(internalKey, true)
			workflow.AttachActor(rec, workflow.System)
			return tx.Save(rec)
		})
		if err != nil {
			return rep, fmt.Errorf("lifecycle of %s: %w", r.GetString("code"), err)
		}
	}
	if rep.Pushes > 0 {
		pokePush(s.app)
	}
	return rep, nil
}
