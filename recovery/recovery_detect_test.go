package recovery

import "testing"

func TestRestoreReason(t *testing.T) {
	w := &Witness{Epoch: "aaaaaaaa", MaxSeq: 10, Numbers: map[string]int64{"2026": 7}}
	cases := []struct {
		name     string
		w        *Witness
		epoch    string
		maxSeq   int64
		counters map[int]int64
		restored bool
	}{
		{"new data dir", nil, "", 0, nil, false},
		{"first start of this version", nil, "", 42, map[int]int64{2026: 3}, false},
		{"same state", w, "aaaaaaaa", 10, map[int]int64{2026: 7}, false},
		{"moved on", w, "aaaaaaaa", 12, map[int]int64{2026: 9}, false},
		{"witness missing (fresh dir, unzip by hand)", nil, "aaaaaaaa", 10, nil, true},
		{"backup from before restore detection", w, "", 5, nil, true},
		{"other epoch", w, "bbbbbbbb", 99, map[int]int64{2026: 99}, true},
		{"sequence behind", w, "aaaaaaaa", 9, map[int]int64{2026: 7}, true},
		{"numbers behind", w, "aaaaaaaa", 10, map[int]int64{2026: 6}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := restoreReason(c.w, c.epoch, c.maxSeq, c.counters)
			if (got != "") != c.restored {
				t.Fatalf("restoreReason = %q, want restored=%v", got, c.restored)
			}
		})
	}
}
