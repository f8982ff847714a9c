package console

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// referenceFigure is the figures' first implementation, kept as the oracle:
// it reads every row of the period and buckets them in Go.
func referenceFigure(app core.App, figure string, p *StatsParams) ([][]any, error) {
	filter, fp := p.filterSQL("[[r]].")
	params := mergeParams(fp, dbx.Params{"from": dbTime(p.From), "to": dbTime(p.To)})
	var weeks []string
	for d := p.From; d.Before(p.To); d = d.AddDate(0, 0, 1) {
		if w := isoWeek(d); len(weeks) == 0 || weeks[len(weeks)-1] != w {
			weeks = append(weeks, w)
		}
	}
	weekOf := func(stored string) string {
		t, ok := parseStored(stored)
		if !ok {
			return ""
		}
		return isoWeek(t.In(p.Loc))
	}
	hours := func(a, b string) (float64, bool) {
		x, ok1 := parseStored(a)
		y, ok2 := parseStored(b)
		return y.Sub(x).Hours(), ok1 && ok2
	}
	var out [][]any
	switch figure {
	case FigureSLAWeekly, FigureResolveTime:
		var rows []struct {
			Created  string `db:"created"`
			Due      string `db:"due_at"`
			Resolved string `db:"resolved_at"`
		}
		if err := app.DB().NewQuery("SELECT [[r]].[[created]], [[r]].[[due_at]], [[r]].[[resolved_at]] FROM [[requests]] [[r]] WHERE [[r]].[[resolved_at]] != '' AND [[r]].[[resolved_at]] >= {:from} AND [[r]].[[resolved_at]] < {:to}" + filter).Bind(params).All(&rows); err != nil {
			return nil, err
		}
		n, within, hs := map[string]int{}, map[string]int{}, map[string][]float64{}
		for _, r := range rows {
			w := weekOf(r.Resolved)
			n[w]++
			if r.Due == "" || r.Resolved <= r.Due {
				within[w]++
			}
			if h, ok := hours(r.Created, r.Resolved); ok {
				hs[w] = append(hs[w], h)
			}
		}
		for _, w := range weeks {
			if figure == FigureSLAWeekly {
				var share any
				if n[w] > 0 {
					share = round1(100 * float64(within[w]) / float64(n[w]))
				}
				out = append(out, []any{w, n[w], within[w], share})
			} else {
				out = append(out, []any{w, n[w], percentile(hs[w], 50), percentile(hs[w], 90)})
			}
		}
	case FigureFlow:
		var created, closed []string
		if err := app.DB().NewQuery("SELECT [[r]].[[created]] FROM [[requests]] [[r]] WHERE [[r]].[[created]] >= {:from} AND [[r]].[[created]] < {:to}" + filter).Bind(params).Column(&created); err != nil {
			return nil, err
		}
		if err := app.DB().NewQuery("SELECT [[e]].[[created]] FROM [[request_events]] [[e]] JOIN [[requests]] [[r]] ON [[r]].[[id]] = [[e]].[[request]] " +
			"WHERE [[e]].[[type]] = 'status' AND [[e]].[[to_status]] IN ('resolved', 'rejected', 'cancelled') AND [[e]].[[to_status]] != [[e]].[[from_status]] " +
			"AND [[e]].[[created]] >= {:from} AND [[e]].[[created]] < {:to}" + filter).Bind(params).Column(&closed); err != nil {
			return nil, err
		}
		in, gone := map[string]int{}, map[string]int{}
		for _, c := range created {
			in[weekOf(c)]++
		}
		for _, c := range closed {
			gone[weekOf(c)]++
		}
		for _, w := range weeks {
			out = append(out, []any{w, in[w], gone[w], in[w] - gone[w]})
		}
	case FigureFirstReply:
		var rows []struct {
			Created string `db:"created"`
			First   string `db:"first"`
		}
		if err := app.DB().NewQuery("SELECT [[r]].[[created]], COALESCE((SELECT MIN([[e]].[[created]]) FROM [[request_events]] [[e]] WHERE [[e]].[[request]] = [[r]].[[id]] " +
			"AND [[e]].[[author_type]] = 'staff' AND [[e]].[[public]] = TRUE AND [[e]].[[type]] != 'created'), '') AS [[first]] FROM [[requests]] [[r]] " +
			"WHERE [[r]].[[created]] >= {:from} AND [[r]].[[created]] < {:to}" + filter).Bind(params).All(&rows); err != nil {
			return nil, err
		}
		total, hs := map[string]int{}, map[string][]float64{}
		for _, r := range rows {
			w := weekOf(r.Created)
			total[w]++
			if r.First == "" {
				continue
			}
			if h, ok := hours(r.Created, r.First); ok {
				hs[w] = append(hs[w], h)
			}
		}
		for _, w := range weeks {
			out = append(out, []any{w, total[w], len(hs[w]), percentile(hs[w], 50)})
		}
	default:
		return nil, fmt.Errorf("no reference for %s", figure)
	}
	return out, nil
}
