package payments

import "testing"

// TestFeeStateMachine walks the fee state machine through ledger sequences
// (docs/payments.md "States"): every step's state is derived, and every move
// is one the transition table allows.
func TestFeeStateMachine(t *testing.T) {
	type step struct {
		kind   string // credit, refund, adjustment, waive, expire, pending, reopen
		amount int64
		want   string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"exact payment", []step{{"credit", 2500, StatePaid}}},
		{"two parts", []step{{"credit", 1000, StateDue}, {"credit", 1500, StatePaid}}},
		{"overpaid", []step{{"credit", 3000, StatePaid}}},
		{"pending then booked", []step{{"pending", 0, StatePending}, {"credit", 2500, StatePaid}}},
		{"partial refund keeps paid", []step{{"credit", 2500, StatePaid}, {"refund", 500, StatePaid}}},
		{"full refund", []step{{"credit", 2500, StatePaid}, {"refund", 2500, StateRefunded}}},
		{"reversal reopens", []step{{"credit", 2500, StatePaid}, {"adjustment", -2500, StateDue}}},
		{"waived", []step{{"waive", 0, StateWaived}}},
		{"late credit after waiver", []step{{"waive", 0, StateWaived}, {"credit", 2500, StatePaid}}},
		{"expired", []step{{"expire", 0, StateExpired}}},
		{"expired then reopened", []step{{"expire", 0, StateExpired}, {"reopen", 0, StateDue}, {"credit", 2500, StatePaid}}},
		{"short payment accepted", []step{{"credit", 2400, StateDue}, {"adjustment", 100, StatePaid}}},
		{"partial then expired", []step{{"credit", 100, StateDue}, {"expire", 0, StateExpired}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const amount = 2500
			var s Sums
			var f Flags
			prev := StateDue
			for i, st := range c.steps {
				switch st.kind {
				case "credit":
					s.Credits += st.amount
				case "refund":
					s.Refunds += st.amount
				case "adjustment":
					s.Adjustments += st.amount
				case "waive":
					f.Waived = true
				case "expire":
					f.Expired = true
				case "pending":
					f.Pending = true
				case "reopen":
					f = Flags{}
				}
				if st.kind == "credit" {
					f.Pending = false
				}
				got := DeriveState(amount, s, f)
				if got != st.want {
					t.Fatalf("step %d (%s %d): %s, want %s", i, st.kind, st.amount, got, st.want)
				}
				if !CanMove(prev, got) {
					t.Fatalf("step %d: %s -> %s is not in the transition table", i, prev, got)
				}
				prev = got
			}
		})
	}
	for _, bad := range [][2]string{{StatePaid, StateWaived}, {StateRefunded, StateDue}, {StatePaid, StateExpired}} {
		if CanMove(bad[0], bad[1]) {
			t.Errorf("%s -> %s allowed", bad[0], bad[1])
		}
	}
}
