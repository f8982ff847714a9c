package consultations

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// MethodBorda states how rankings are scored: with m options ranked (all, or
// the top k of m), the option in position p (1 = best) gets m - p points;
// options a ballot does not rank get 0. First preferences count position 1.
const MethodBorda = "borda: m - position points (m = number of options), unranked 0; first preferences = position 1"

// Results are the aggregates of a consultation, computed once after close
// (and the grace period) and published by a supervisor. They hold counts
// only: no ballot, no voter, no free text.
type Results struct {
	Code         string           `json:"code"`
	TotalBallots int              `json:"totalBallots"`
	LateBallots  int              `json:"lateBallots"`
	ComputedAt   string           `json:"computedAt"`
	Method       string           `json:"rankingMethod"`
	Questions    []QuestionResult `json:"questions"`
}

// QuestionResult is one question's aggregates. Shares are fractions of all
// ballots (TotalBallots), rounded to 4 places.
type QuestionResult struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Answered int            `json:"answered"`
	Blank    int            `json:"blank"`
	Options  []OptionResult `json:"options,omitempty"`
	// Other counts the "other" answers of a choice question.
	Other      *int    `json:"other,omitempty"`
	OtherShare float64 `json:"otherShare,omitempty"`
}

// OptionResult is one option's aggregates. Count is how many ballots chose it
// (single, multiple) or ranked it at all (ranking); a ranking also has First
// (first preferences) and Borda points, and Rank (1 = most Borda points).
type OptionResult struct {
	ID         string  `json:"id"`
	Count      int     `json:"count"`
	Share      float64 `json:"share"`
	First      *int    `json:"firstPreferences,omitempty"`
	FirstShare float64 `json:"firstShare,omitempty"`
	Borda      *int    `json:"borda,omitempty"`
	Rank       int     `json:"rank,omitempty"`
}

func share(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(total)*10000) / 10000
}

// Tally computes the results of c from its ballots (the last accepted version
// of each citizen's ballot: the table holds one row per citizen).
func Tally(app core.App, c *Consultation, now time.Time) (*Results, []freeText, error) {
	rows, err := ballotsOf(app, c.ID)
	if err != nil {
		return nil, nil, err
	}
	res := &Results{Code: c.Code, TotalBallots: len(rows), ComputedAt: now.UTC().Format(time.RFC3339), Method: MethodBorda}
	type acc struct {
		answered, other int
		count, first    map[string]int
		borda           map[string]int
	}
	accs := make([]acc, len(c.Questions))
	for i := range accs {
		accs[i] = acc{count: map[string]int{}, first: map[string]int{}, borda: map[string]int{}}
	}
	var texts []freeText
	for _, r := range rows {
		if r.Late {
			res.LateBallots++
		}
		var ans Answers
		if err := json.Unmarshal([]byte(r.Answers), &ans); err != nil {
			return nil, nil, fmt.Errorf("ballot %d: %w", r.ID, err)
		}
		for i := range c.Questions {
			q := &c.Questions[i]
			a, ok := ans[q.ID]
			if !ok || a.blank() {
				continue
			}
			x := &accs[i]
			x.answered++
			switch q.Kind {
			case KindText:
				texts = append(texts, freeText{question: q.ID, text: a.Text})
			case KindRanking:
				m := len(q.Options)
				for p, o := range a.Options {
					x.count[o]++
					x.borda[o] += m - (p + 1)
					if p == 0 {
						x.first[o]++
					}
				}
			default:
				for _, o := range a.Options {
					x.count[o]++
				}
				if a.Other != "" {
					x.other++
					texts = append(texts, freeText{question: q.ID + ".other", text: a.Other})
				}
			}
		}
	}
	for i := range c.Questions {
		q := &c.Questions[i]
		x := accs[i]
		qr := QuestionResult{ID: q.ID, Kind: q.Kind, Answered: x.answered, Blank: res.TotalBallots - x.answered}
		if q.Kind != KindText {
			for _, o := range q.Options {
				or := OptionResult{ID: o.ID, Count: x.count[o.ID], Share: share(x.count[o.ID], res.TotalBallots)}
				if q.Kind == KindRanking {
					f, b := x.first[o.ID], x.borda[o.ID]
					or.First, or.Borda, or.FirstShare = &f, &b, share(f, res.TotalBallots)
				}
				qr.Options = append(qr.Options, or)
			}
			if q.Kind == KindRanking {
				order := make([]int, len(qr.Options))
				for j := range order {
					order[j] = j
				}
				sort.SliceStable(order, func(a, b int) bool { return *qr.Options[order[a]].Borda > *qr.Options[order[b]].Borda })
				for pos, j := range order {
					// ties share the better rank
					if pos > 0 && *qr.Options[j].Borda == *qr.Options[order[pos-1]].Borda {
						qr.Options[j].Rank = qr.Options[order[pos-1]].Rank
					} else {
						qr.Options[j].Rank = pos + 1
					}
				}
			}
			if q.Other {
				o := x.other
				qr.Other, qr.OtherShare = &o, share(o, res.TotalBallots)
			}
		}
		res.Questions = append(res.Questions, qr)
	}
	return res, texts, nil
}

// freeText is one free-text answer (or "other" text), without its voter.
type freeText struct {
	question string
	text     string
}

// CSV renders results as one row per question and option:
// question,kind,option,count,share,first_preferences,borda,rank,answered,blank,total_ballots.
func (r *Results) CSV() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	itoa := strconv.Itoa
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	_ = w.Write([]string{"question", "kind", "option", "count", "share", "first_preferences", "borda", "rank", "answered", "blank", "total_ballots"})
	for _, q := range r.Questions {
		base := func(option, count, sh, first, borda, rank string) []string {
			return []string{q.ID, q.Kind, option, count, sh, first, borda, rank, itoa(q.Answered), itoa(q.Blank), itoa(r.TotalBallots)}
		}
		if len(q.Options) == 0 {
			_ = w.Write(base("", itoa(q.Answered), f(share(q.Answered, r.TotalBallots)), "", "", ""))
		}
		for _, o := range q.Options {
			first, borda, rank := "", "", ""
			if o.First != nil {
				first, borda, rank = itoa(*o.First), itoa(*o.Borda), itoa(o.Rank)
			}
			_ = w.Write(base(o.ID, itoa(o.Count), f(o.Share), first, borda, rank))
		}
		if q.Other != nil {
			_ = w.Write(base("other", itoa(*q.Other), f(q.OtherShare), "", "", ""))
		}
		_ = w.Write(base("(blank)", itoa(q.Blank), f(share(q.Blank, r.TotalBallots)), "", "", ""))
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
