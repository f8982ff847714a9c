package payments

// Fee states (docs/payments.md "States").
const (
	StateDue      = "due"
	StatePending  = "pending"
	StatePaid     = "paid"
	StateRefunded = "refunded"
	StateExpired  = "expired"
	StateWaived   = "waived"
)

// Ledger entry kinds.
const (
	LedgerCredit     = "credit"
	LedgerRefund     = "refund"
	LedgerAdjustment = "adjustment"
)

// Sums are a fee's ledger totals in minor units: credits and refunds are
// positive; adjustments are signed (a reversal is a negative adjustment, a
// short payment accepted by a supervisor a positive one).
type Sums struct {
	Credits, Refunds, Adjustments int64
}

// Settled is what counts towards the fee: credits and adjustments less refunds.
func (s Sums) Settled() int64 { return s.Credits + s.Adjustments - s.Refunds }

// Flags are the fee's non-money facts.
type Flags struct {
	Waived  bool // a supervisor waived the fee (with a reason)
	Expired bool // the expiry job found it unpaid after its due date
	Pending bool // an attempt is in flight (a PDNG statement entry, a PSP redirect)
}

// DeriveState is the fee state machine: the state follows from the amount,
// the ledger and the flags, never from what a caller asks for. Money decides
// first (a credit after a waiver still counts), then waiver, expiry, a
// pending attempt, and otherwise the fee is due (also when partly paid).
func DeriveState(amount int64, s Sums, f Flags) string {
	switch {
	case s.Refunds > 0 && s.Credits+s.Adjustments-s.Refunds <= 0:
		return StateRefunded
	case amount > 0 && s.Credits+s.Adjustments >= amount:
		return StatePaid // a partial refund keeps the fee paid (refunded_amount shows it)
	case amount == 0 && s.Credits > 0:
		return StatePaid
	case f.Waived:
		return StateWaived
	case f.Expired:
		return StateExpired
	case f.Pending:
		return StatePending
	}
	return StateDue
}

// transitions are the moves DeriveState may make (docs/payments.md); the
// ledger refuses a change that would make any other.
var transitions = map[string][]string{
	StateDue:      {StatePending, StatePaid, StateExpired, StateWaived, StateRefunded},
	StatePending:  {StateDue, StatePaid, StateExpired, StateWaived},
	StatePaid:     {StateRefunded, StateDue}, // due again after a reversal
	StateRefunded: {StatePaid},               // a new credit after a full refund
	StateExpired:  {StateDue, StatePaid, StateWaived},
	StateWaived:   {StatePaid, StateDue}, // a late credit; a waiver taken back
}

// CanMove reports whether a fee may move from one state to another.
func CanMove(from, to string) bool {
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// IsOpen reports whether a fee in state still waits for money.
func IsOpen(state string) bool {
	return state == StateDue || state == StatePending
}

// IsSettled reports whether processing that waits for payment may go on.
func IsSettled(state string) bool {
	return state == StatePaid || state == StateWaived
}
