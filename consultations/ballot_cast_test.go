package consultations_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"civicdesk/consultations"
	mobileapi "civicdesk/mobile-api"
	"civicdesk/receipts"

	"github.com/pocketbase/dbx"
)

// TestBallotParallelTwoDevices: research §5.2 check 1. Two devices of one
// citizen each push their first ballot (baseVersion 0) 50 times at once:
// exactly one ballot row, version 1, one receipt; the other device's ballot is
// a ballot_conflict, never a silent overwrite.
func TestBallotParallelTwoDevices(t *testing.T) {
	w := newWorld(t)
	c := w.newConsultation(t, nil)
	w.clock.set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	devs := []*device{newDevice(w.CitizenA, "phone"), newDevice(w.CitizenA, "laptop")}
	ms := []mobileapi.Mutation{devs[0].cast(c.Id, 0, goodAnswers, time.Time{}), devs[1].cast(c.Id, 0, map[string]any{"park": map[string]any{"options": []string{"south"}}}, time.Time{})}
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(d int) {
			defer wg.Done()
			for {
				_, err := mobileapi.Push(w.App, w.CitizenA.Id, &mobileapi.PushRequest{ClientID: devs[d].id, Mutations: []mobileapi.Mutation{ms[d]}})
				if err == nil {
					return
				}
				if !strings.Contains(err.Error(), "transient") {
					t.Errorf("push: %v", err)
					return
				}
			}
		}(i % 2)
	}
	wg.Wait()
	n, version := ballotRows(t, w.App, c.Id)
	if n != 1 || version != 1 {
		t.Fatalf("ballot rows %d version %d, want 1 row of version 1", n, version)
	}
	recs, _ := w.App.FindAllRecords("receipts", dbx.HashExp{"kind": "ballot", "consultation": c.Id})
	if len(recs) != 1 {
		t.Fatalf("%d ballot receipts, want 1", len(recs))
	}
	codes := map[string]int{}
	for _, d := range devs {
		var status, errCode string
		if err := w.App.DB().NewQuery("SELECT status, error_code FROM sync_results WHERE client_id = {:c} AND mutation_id = 1").Bind(dbx.Params{"c": d.id}).Row(&status, &errCode); err != nil {
			t.Fatal(err)
		}
		codes[status+":"+errCode]++
	}
	if codes["applied:"] != 1 || codes["rejected:"+consultations.CodeConflict] != 1 {
		t.Fatalf("device outcomes %v, want one applied and one ballot_conflict", codes)
	}
}

// TestBallotVersions: the last accepted version counts; a stale base is a
// conflict; the replaced version's receipt verifies as superseded.
func TestBallotVersions(t *testing.T) {
	w := newWorld(t)
	c := w.newConsultation(t, nil)
	w.clock.set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	phone, laptop := newDevice(w.CitizenA, "phone"), newDevice(w.CitizenA, "laptop")
	if r := w.push(t, phone, phone.cast(c.Id, 0, goodAnswers, time.Time{})); code(r[0]) != "applied" {
		t.Fatalf("first ballot: %+v %+v", r, r[0].Error)
	}
	if r := w.push(t, laptop, laptop.cast(c.Id, 1, map[string]any{"park": map[string]any{"options": []string{"south"}}}, time.Time{})); code(r[0]) != "applied" {
		t.Fatalf("change on laptop: %+v", r)
	}
	// the laptop re-sends the same ballot under a new mutation id (a re-push after a
	// restore): applied, nothing changes, no new receipt
	if r := w.push(t, laptop, laptop.cast(c.Id, 1, map[string]any{"park": map[string]any{"options": []string{"south"}}}, time.Time{})); code(r[0]) != "applied" {
		t.Fatalf("re-sent ballot: %+v", r)
	}
	// the phone, offline meanwhile, still thinks version 1 is current
	if r := w.push(t, phone, phone.cast(c.Id, 1, goodAnswers, time.Time{})); code(r[0]) != consultations.CodeConflict || r[0].Error.Field != "baseVersion" {
		t.Fatalf("stale phone ballot: %+v", r)
	}
	if n, v := ballotRows(t, w.App, c.Id); n != 1 || v != 2 {
		t.Fatalf("rows %d version %d, want 1 row of version 2", n, v)
	}
	var answers string
	_ = w.App.DB().NewQuery("SELECT answers FROM ballots WHERE consultation = {:c}").Bind(dbx.Params{"c": c.Id}).Row(&answers)
	if !strings.Contains(answers, "south") || strings.Contains(answers, "north") {
		t.Fatalf("stored answers %s, want the laptop's (version 2)", answers)
	}
	recs, _ := w.App.FindRecordsByFilter("receipts", "kind = 'ballot' && consultation = {:c}", "ballot_version", 0, 0, dbx.Params{"c": c.Id})
	if len(recs) != 2 {
		t.Fatalf("%d receipts, want 2", len(recs))
	}
	for i, want := range []bool{true, false} {
		res, err := receipts.Of(w.App).Verify(recs[i].GetString("code"))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid || res.Superseded != want || res.Claims.Kind != "ballot" || *res.Claims.BallotVersion != uint64(i+1) {
			t.Fatalf("receipt v%d: %+v, want valid, superseded=%v", i+1, res, want)
		}
	}
	// a ballot receipt is its citizen's alone: not another citizen's, not staff's
	for who, want := range map[string]int{"owner": 2, "other citizen": 0, "supervisor": 0, "clerk": 0} {
		acc := map[string]string{"owner": w.CitizenA.Id, "other citizen": w.CitizenB.Id, "supervisor": w.Supervisor.Id, "clerk": w.ClerkRoads.Id}[who]
		r := w.Do(t, "GET", "/api/collections/receipts/records?filter=(kind%3D'ballot')", testkit_token(t, acc, w), "")
		var list struct {
			Items []map[string]any `json:"items"`
		}
		r.JSON(t, &list)
		if r.Status != 200 || len(list.Items) != want {
			t.Fatalf("%s lists %d ballot receipts (%d), want %d", who, len(list.Items), r.Status, want)
		}
	}
	// the citizen's own view: version and receipt, no answers
	resp := w.Do(t, "GET", "/api/consultations/"+c.Id+"/ballot", tokenOf(t, w), "")
	if resp.Status != 200 || !strings.Contains(resp.Body, `"version":2`) || strings.Contains(resp.Body, "south") {
		t.Fatalf("my ballot: %d %s", resp.Status, resp.Body)
	}
}

// TestBallotBadInput: every kind of bad ballot is a rejection with its code
// and nothing is stored.
func TestBallotBadInput(t *testing.T) {
	w := newWorld(t)
	open := w.newConsultation(t, nil)
	closed := w.newConsultation(t, map[string]any{"opens_local": "2026-02-01T00:00", "closes_local": "2026-02-10T00:00"})
	aged := w.newConsultation(t, map[string]any{"eligibility": map[string]any{"minAge": 16}})
	district := w.newConsultation(t, map[string]any{"eligibility": map[string]any{"districts": []string{"centro"}}})
	identity := w.newConsultation(t, map[string]any{"eligibility": map[string]any{"identityLevel": "spid2"}})
	draft := w.newConsultation(t, map[string]any{"status": "draft"})
	later := w.newConsultation(t, map[string]any{"opens_local": "2026-04-01T00:00", "closes_local": "2026-04-10T00:00"})
	w.clock.set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	with := func(q string, a map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range goodAnswers {
			out[k] = v
		}
		if a == nil {
			delete(out, q)
		} else {
			out[q] = a
		}
		return out
	}
	cases := []struct {
		name, consultation string
		answers            map[string]any
		code, field        string
	}{
		{"closed", closed.Id, goodAnswers, consultations.CodeClosed, "consultationId"},
		{"unknown consultation", "zzzzzzzzzzzzzzz", goodAnswers, consultations.CodeUnknownConsultation, "consultationId"},
		{"draft is unknown", draft.Id, goodAnswers, consultations.CodeUnknownConsultation, "consultationId"},
		{"not open yet", later.Id, goodAnswers, consultations.CodeNotOpen, "consultationId"},
		{"unknown option", open.Id, with("park", map[string]any{"options": []string{"east"}}), consultations.CodeUnknownOption, "answers.park"},
		{"unknown question", open.Id, with("nope", map[string]any{"text": "x"}), consultations.CodeUnknownQuestion, "answers.nope"},
		{"two in single", open.Id, with("park", map[string]any{"options": []string{"north", "south"}}), consultations.CodeTooMany, "answers.park"},
		{"option and other in single", open.Id, with("park", map[string]any{"options": []string{"north"}, "other": "lake"}), consultations.CodeTooMany, "answers.park"},
		{"too many", open.Id, with("uses", map[string]any{"options": []string{"play", "sport", "rest"}}), consultations.CodeTooMany, "answers.uses"},
		{"repeated choice", open.Id, with("uses", map[string]any{"options": []string{"play", "play"}}), consultations.CodeChoiceRepeats, "answers.uses"},
		{"ranking repeats", open.Id, with("rank", map[string]any{"options": []string{"a", "a"}}), consultations.CodeRankingRepeats, "answers.rank"},
		{"ranking too short", open.Id, with("rank", map[string]any{"options": []string{"a"}}), consultations.CodeTooFew, "answers.rank"},
		{"ranking too long", open.Id, with("rank", map[string]any{"options": []string{"a", "b", "c"}}), consultations.CodeTooMany, "answers.rank"},
		{"text over limit", open.Id, with("ideas", map[string]any{"text": strings.Repeat("é", 21)}), consultations.CodeTextTooLong, "answers.ideas"},
		{"other over limit", open.Id, with("park", map[string]any{"other": strings.Repeat("x", 201)}), consultations.CodeTextTooLong, "answers.park"},
		{"required missing", open.Id, with("park", nil), consultations.CodeRequired, "answers.park"},
		{"text on a choice", open.Id, with("park", map[string]any{"text": "north"}), consultations.CodeInvalidAnswer, "answers.park"},
		{"under age (no birthdate)", aged.Id, goodAnswers, consultations.CodeNotEligible, ""},
		{"wrong district", district.Id, goodAnswers, consultations.CodeNotEligible, ""},
		{"identity level", identity.Id, goodAnswers, consultations.CodeNotEligible, ""},
	}
	d := newDevice(w.CitizenA, "phone")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.push(t, d, d.cast(tc.consultation, 0, tc.answers, time.Time{}))
			if code(r[0]) != tc.code || r[0].Error.Field != tc.field {
				t.Fatalf("got %+v, want %s on %q", r[0], tc.code, tc.field)
			}
		})
	}
	for _, bad := range []string{`{"consultationId": "x", "baseVersion": 0}`, `{"consultationId": "` + open.Id + `"}`, `{"consultationId": "` + open.Id + `", "baseVersion": 0, "extra": 1}`, `[]`} {
		m := mobileapi.Mutation{ID: d.next, Name: consultations.MutationCast, Args: []byte(bad)}
		d.next++
		if r := w.push(t, d, m); code(r[0]) != "invalid_args" {
			t.Fatalf("args %s: %+v, want invalid_args", bad, r[0])
		}
	}
	var n int
	_ = w.App.DB().NewQuery("SELECT COUNT(*) FROM ballots").Row(&n)
	recs, _ := w.App.FindAllRecords("receipts", dbx.HashExp{"kind": "ballot"})
	if n != 0 || len(recs) != 0 {
		t.Fatalf("%d ballots and %d receipts after bad input, want none", n, len(recs))
	}
	// the eligible cases pass once the profile fits
	w.CitizenA.Set("birthdate", "2000-01-01 00:00:00.000Z")
	w.CitizenA.Set("district", "Centro")
	if err := w.App.Save(w.CitizenA); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{aged.Id, district.Id} {
		if r := w.push(t, d, d.cast(c, 0, goodAnswers, time.Time{})); code(r[0]) != "applied" {
			t.Fatalf("eligible citizen: %+v", r[0])
		}
	}
	w.CitizenA.Set("birthdate", "2012-03-21 00:00:00.000Z") // 16 on 2026-03-21, the day after close
	_ = w.App.Save(w.CitizenA)
	if r := w.push(t, newDevice(w.CitizenA, "x"), newDevice(w.CitizenA, "x").cast(aged.Id, 1, goodAnswers, time.Time{})); code(r[0]) != consultations.CodeNotEligible {
		t.Fatalf("15 on the closing day: %+v", r[0])
	}
}

// TestLatePolicies: research §5.2 check 2. A ballot saved offline before close
// and pushed after it is refused under the strict policy; under a grace
// period it counts (late), results are held until the grace ends.
func TestLatePolicies(t *testing.T) {
	w := newWorld(t)
	strict := w.newConsultation(t, nil)
	grace := w.newConsultation(t, map[string]any{"late_policy": "grace", "grace_minutes": 60})
	closeAt := strict.GetDateTime("closes_at").Time()
	cast := closeAt.Add(-10 * time.Minute) // the phone's claim
	w.clock.set(closeAt.Add(time.Minute))
	d := newDevice(w.CitizenA, "phone")
	if r := w.push(t, d, d.cast(strict.Id, 0, goodAnswers, cast)); code(r[0]) != consultations.CodeClosed {
		t.Fatalf("strict, pushed after close: %+v", r[0])
	}
	if r := w.push(t, d, d.cast(grace.Id, 0, goodAnswers, cast)); code(r[0]) != "applied" {
		t.Fatalf("grace, pushed after close: %+v", r[0])
	}
	e := newDevice(w.CitizenB, "phone")
	if r := w.push(t, e, e.cast(grace.Id, 0, goodAnswers, closeAt.Add(time.Second))); code(r[0]) != consultations.CodeClosed {
		t.Fatalf("grace, claimed after close: %+v", r[0])
	}
	// results are held until the grace period ends
	if _, err := w.svc.Publish(grace.Id, supervisorActor(w)); err == nil {
		t.Fatal("published during the grace period")
	}
	if _, err := w.svc.Publish(strict.Id, supervisorActor(w)); err != nil {
		t.Fatalf("strict publish at close: %v", err)
	}
	w.clock.set(closeAt.Add(61 * time.Minute))
	if r := w.push(t, e, e.cast(grace.Id, 0, goodAnswers, cast)); code(r[0]) != consultations.CodeClosed {
		t.Fatalf("grace, pushed after the grace: %+v", r[0])
	}
	res, err := w.svc.Publish(grace.Id, supervisorActor(w))
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalBallots != 1 || res.LateBallots != 1 {
		t.Fatalf("grace results %+v, want 1 ballot, 1 late", res)
	}
	rec, _ := w.App.FindFirstRecordByFilter("receipts", "kind = 'ballot' && consultation = {:c}", dbx.Params{"c": grace.Id})
	if rec.GetString("ballot_status") != consultations.ReceiptLateCounted {
		t.Fatalf("receipt status %q", rec.GetString("ballot_status"))
	}
}

// TestCloseAtMidnightOnDST: research §5.2 check 4. 23:59 local on both EU
// daylight-saving days in each partner city: a ballot a second before the
// instant counts, one at the instant does not.
func TestCloseAtMidnightOnDST(t *testing.T) {
	w := newWorld(t)
	zones := []string{"Europe/Rome", "Europe/London", "Europe/Stockholm", "Europe/Tallinn", "Europe/Budapest"}
	for _, day := range []string{"2026-03-29", "2026-10-25"} {
		for _, zone := range zones {
			loc, _ := time.LoadLocation(zone)
			want := time.Date(2026, time.Month(map[string]int{"2026-03-29": 3, "2026-10-25": 10}[day]), map[string]int{"2026-03-29": 29, "2026-10-25": 25}[day], 23, 59, 0, 0, loc)
			w.clock.set(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
			c := w.newConsultation(t, map[string]any{"time_zone": zone, "opens_local": "2026-03-01T12:00", "closes_local": day + "T23:59"})
			if got := c.GetDateTime("closes_at").Time(); !got.Equal(want) {
				t.Fatalf("%s %s: closes_at %s, want %s", zone, day, got, want.UTC())
			}
			w.clock.set(want.Add(-time.Second))
			d := newDevice(w.CitizenA, fmt.Sprintf("%s-%s", zone, day))
			if r := w.push(t, d, d.cast(c.Id, 0, goodAnswers, time.Time{})); code(r[0]) != "applied" {
				t.Fatalf("%s %s a second before: %+v", zone, day, r[0])
			}
			w.clock.set(want)
			e := newDevice(w.CitizenB, fmt.Sprintf("%s-%s", zone, day))
			if r := w.push(t, e, e.cast(c.Id, 0, goodAnswers, want.Add(-time.Hour))); code(r[0]) != consultations.CodeClosed {
				t.Fatalf("%s %s at the instant: %+v", zone, day, r[0])
			}
		}
	}
	// a local time the clocks skip is refused
	if err := saveErr(w, map[string]any{"time_zone": "Europe/Rome", "opens_local": "2026-03-29T02:30"}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("02:30 on the spring-forward day: %v", err)
	}
}
