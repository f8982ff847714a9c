package payments

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"civicdesk/city"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Exception kinds of statement lines a supervisor resolves.
const (
	ExcPartial    = "partial"
	ExcOver       = "over"
	ExcDuplicate  = "duplicate"
	ExcUnknown    = "unknown_reference"
	ExcAfterExp   = "after_expiry"
	ExcNotOpen    = "not_open"
	ExcReversal   = "reversal_unmatched"
	ExcCurrency   = "currency"
	outcomeMatch  = "matched"
	outcomeExc    = "exception"
	outcomeIgnore = "ignored"
	outcomeRev    = "reversal"
)

// ImportResult is what an import did.
type ImportResult struct {
	Statement       string       `json:"statement"` // payment_statements id
	Duplicate       bool         `json:"duplicate"` // the same file was imported before: nothing changed
	Format          string       `json:"format"`
	Lines           int          `json:"lines"`
	Matched         int          `json:"matched"`
	Exceptions      int          `json:"exceptions"`
	Pending         int          `json:"pending"` // PDNG/INFO lines: never money
	Ignored         int          `json:"ignored"`
	Reversals       int          `json:"reversals"`
	AlreadyImported int          `json:"alreadyImported"` // lines a previous file (e.g. a camt.054) brought
	Items           []ImportItem `json:"items"`
}

// ImportItem is the outcome of one line.
type ImportItem struct {
	Key       string `json:"key"`
	Outcome   string `json:"outcome"` // matched, exception, pending, ignored, reversal, already_imported
	Exception string `json:"exception,omitempty"`
	Fee       string `json:"fee,omitempty"`
	Reference string `json:"reference,omitempty"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	// Detail says what is wrong with the line's reference, when that is why
	// no fee was found (e.g. its check digits fail).
	Detail string `json:"detail,omitempty"`
}

// ConflictError is an import refused because of what was imported before.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// Import reads a statement and books it in ONE transaction: all lines or none.
// The same file twice changes nothing (Duplicate); a line another file already
// brought (same account and bank reference) is skipped.
func Import(app core.App, r io.Reader, fileName string, actor workflow.Actor) (*ImportResult, error) {
	return importStatement(app, r, fileName, actor, true)
}

// importStatement is Import; applyNotices false stops after the commit, as a
// crash there would (tests).
func importStatement(app core.App, r io.Reader, fileName string, actor workflow.Actor, applyNotices bool) (*ImportResult, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStatementSize+1))
	if err != nil {
		return nil, fmt.Errorf("statement: read: %w", err)
	}
	// the same file again is answered from its hash, without parsing it (a
	// 50,000-line file takes seconds to parse); the transaction checks again
	if len(data) <= MaxStatementSize {
		sum := sha256.Sum256(data)
		var prior struct {
			ID     string `db:"id"`
			Format string `db:"format"`
		}
		err := app.DB().NewQuery("SELECT [[id]], [[format]] FROM [[payment_statements]] WHERE [[sha256]] = {:h}").Bind(dbx.Params{"h": hex.EncodeToString(sum[:])}).One(&prior)
		switch {
		case err == nil:
			return &ImportResult{Statement: prior.ID, Duplicate: true, Format: prior.Format, Items: []ImportItem{}}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	st, err := ParseStatement(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	cfg := city.Of(app).Payments
	for _, a := range st.Accounts {
		if _, _, err := railOfAccount(cfg, a); err != nil {
			return nil, err
		}
	}
	res := &ImportResult{Format: st.Format, Items: []ImportItem{}}
	var citizens map[string]struct{}
	err = app.RunInTransaction(func(tx core.App) error {
		*res = ImportResult{Format: st.Format, Items: make([]ImportItem, 0, st.lines())}
		var err error
		citizens, err = importTx(tx, st, fileName, actor, res)
		return err
	})
	if err != nil {
		return nil, err
	}
	// committed: the requests the lines paid get their payment (event, receipt,
	// push) in batches; what a crash leaves here the notices job applies
	if !applyNotices {
		return res, nil
	}
	if _, err := ApplyNotices(app); err != nil {
		app.Logger().Error("payments: import committed, a payment notice failed (the notices job retries)", "statement", res.Statement, "error", err.Error())
	}
	pokeCitizens(app, citizens)
	return res, nil
}

// lines is the number of lines of every account report of st.
func (st *Statement) lines() int {
	n := 0
	for _, a := range st.Accounts {
		n += len(a.Lines)
	}
	return n
}

// railOfAccount finds the configured rail of a statement's account.
func railOfAccount(cfg city.PaymentConfig, a AccountReport) (string, city.Rail, error) {
	if a.IBAN != "" {
		if _, err := IBANValidate(a.IBAN); err != nil {
			return "", city.Rail{}, parseErr("statement %q: its account is not a valid IBAN: %v", a.ID, err)
		}
	}
	var known []string
	for cur, r := range cfg.Rails {
		if a.IBAN != "" && r.IBAN != "" && strings.EqualFold(normalizeRef(r.IBAN), a.IBAN) {
			return cur, r, nil
		}
		uk := digits(r.SortCode + r.AccountNumber)
		if a.Other != "" && uk != "" && digits(a.Other) == uk {
			return cur, r, nil
		}
		if r.IBAN != "" {
			known = append(known, normalizeRef(r.IBAN))
		} else if uk != "" {
			known = append(known, uk)
		}
	}
	acct := a.IBAN
	if acct == "" {
		acct = a.Other
	}
	return "", city.Rail{}, parseErr("statement %q is for account %s, which is not one of the city's accounts (%s)", a.ID, acct, strings.Join(known, ", "))
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func importTx(tx core.App, st *Statement, fileName string, actor workflow.Actor, res *ImportResult) (map[string]struct{}, error) {
	var prior string
	err := tx.DB().NewQuery("SELECT [[id]] FROM [[payment_statements]] WHERE [[sha256]] = {:h}").Bind(dbx.Params{"h": st.SHA256}).Row(&prior)
	switch {
	case err == nil:
		res.Statement, res.Duplicate = prior, true
		return nil, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("import: %w", err)
	}
	first := st.Accounts[0]
	ids := make([]string, len(st.Accounts))
	for i, a := range st.Accounts {
		ids[i] = a.ID
	}
	stmtID := strings.Join(ids, ",")
	if stmtID != "" {
		var n int
		if err := tx.DB().NewQuery("SELECT COUNT(*) FROM [[payment_statements]] WHERE [[iban]] = {:i} AND [[statement_id]] = {:s}").
			Bind(dbx.Params{"i": first.IBAN + first.Other, "s": stmtID}).Row(&n); err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		if n > 0 {
			return nil, &ConflictError{Msg: fmt.Sprintf("statement %s of account %s was already imported from a different file", stmtID, first.IBAN+first.Other)}
		}
	}
	col, err := tx.FindCachedCollectionByNameOrId(collStatements)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	srec := core.NewRecord(col)
	srec.Set("format", st.Format)
	srec.Set("iban", first.IBAN+first.Other)
	srec.Set("statement_id", stmtID)
	srec.Set("msg_id", st.MsgID)
	srec.Set("sha256", st.SHA256)
	srec.Set("imported_by", actor.ID)
	srec.Set("file_name", fileName)
	if err := tx.Save(srec); err != nil {
		return nil, fmt.Errorf("import: save statement: %w", err)
	}
	res.Statement = srec.Id

	entries, err := tx.FindCachedCollectionByNameOrId(collEntries)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	b, err := newFastBooker(tx)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer b.close()
	m, err := newMatcher(tx, b, actor)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer m.close()
	for _, a := range st.Accounts {
		for i := range a.Lines {
			l := &a.Lines[i]
			res.Lines++
			item, err := m.line(entries, srec.Id, a, l)
			if err != nil {
				return nil, err
			}
			switch item.Outcome {
			case outcomeMatch:
				res.Matched++
			case outcomeExc:
				res.Exceptions++
			case "pending":
				res.Pending++
			case outcomeIgnore:
				res.Ignored++
			case outcomeRev:
				res.Reversals++
			case "already_imported":
				res.AlreadyImported++
			}
			res.Items = append(res.Items, item)
		}
	}
	srec.Set("entries", res.Lines)
	srec.Set("matched", res.Matched)
	srec.Set("exceptions", res.Exceptions)
	srec.Set("ignored", res.Ignored+res.Pending+res.AlreadyImported)
	if err := tx.Save(srec); err != nil {
		return nil, fmt.Errorf("import: save statement: %w", err)
	}
	return b.citizens, nil
}

// matcher applies the matching rules (docs/payments.md "Matching") to lines.
type matcher struct {
	tx      core.App
	cfg     city.PaymentConfig
	actor   workflow.Actor
	b       *booker
	fees    *core.Collection
	entries *rowWriter
	keyQ    *dbx.Query // is a line's key stored?
	feeQ    *dbx.Query // the fee of a reference
}

func newMatcher(tx core.App, b *booker, actor workflow.Actor) (*matcher, error) {
	m := &matcher{tx: tx, cfg: city.Of(tx).Payments, actor: actor, b: b}
	var err error
	if m.fees, err = tx.FindCachedCollectionByNameOrId(collFees); err != nil {
		return nil, err
	}
	if m.entries, err = newRowWriter(tx, collEntries); err != nil {
		return nil, err
	}
	m.keyQ = tx.DB().NewQuery("SELECT COUNT(*) FROM [[bank_entries]] WHERE [[entry_key]] = {:k}").Prepare()
	m.feeQ = tx.DB().NewQuery("SELECT * FROM [[fees]] WHERE [[reference]] = {:r} LIMIT 1").Prepare()
	if err := firstErr(m.keyQ.LastError, m.feeQ.LastError); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

func (m *matcher) close() {
	m.entries.close()
	m.keyQ.Close()
	m.feeQ.Close()
}

func (m *matcher) line(entries *core.Collection, stmt string, a AccountReport, l *Line) (ImportItem, error) {
	item := ImportItem{Key: l.Key, Amount: l.Amount, Currency: l.Currency}
	var n int
	if err := m.keyQ.Bind(dbx.Params{"k": l.Key}).Row(&n); err != nil {
		return item, fmt.Errorf("import: %w", err)
	}
	if n > 0 {
		item.Outcome = "already_imported"
		return item, nil
	}
	fee, ref, err := m.findFee(l)
	if err != nil {
		return item, err
	}
	item.Reference = ref
	if fee == nil && l.Reference != "" && !m.plausible(normalizeRef(l.Reference)) {
		item.Detail = m.whyImplausible(normalizeRef(l.Reference))
	}
	if fee != nil {
		item.Fee = fee.Id
	}

	if l.Status != "BOOK" {
		// pending or informational: never money, at most "pending" on the fee;
		// not stored, so the booked line of a later statement is new
		item.Outcome = "pending"
		if fee != nil && l.Credit && l.Status == "PDNG" && fee.GetString("state") == StateDue {
			since := l.BookedAt
			if since.IsZero() {
				since = time.Now()
			}
			fee.Set("pending_since", since.UTC())
			if err := m.b.recompute(fee, nil); err != nil {
				return item, err
			}
		}
		return item, nil
	}

	rec := core.NewRecord(entries)
	rec.Set("statement", stmt)
	rec.Set("entry_key", l.Key)
	rec.Set("iban", a.IBAN+a.Other)
	rec.Set("acct_svcr_ref", l.AcctSvcRef)
	rec.Set("amount", l.Amount)
	rec.Set("currency", l.Currency)
	rec.Set("direction", map[bool]string{true: "CRDT", false: "DBIT"}[l.Credit])
	rec.Set("reversal", l.Reversal)
	rec.Set("status", l.Status)
	rec.Set("booked_at", l.BookedAt.UTC())
	rec.Set("reference", truncate(ref, 140))
	rec.Set("remittance", truncate(l.Remittance, 500))
	rec.Set("debtor_name", truncate(l.DebtorName, 140))
	rec.Set("debtor_iban", truncate(l.DebtorIBAN, 34))
	if fee != nil {
		rec.Set("fee", fee.Id)
	}
	evidence := l.AcctSvcRef
	if evidence == "" {
		evidence = l.Key
	}
	entry := Entry{
		Kind: LedgerCredit, Amount: l.Amount, Currency: l.Currency, SourceKey: "bank:" + l.Key, Source: "statement",
		Method: bankMethod(l.Currency), Evidence: evidence, BookedAt: l.BookedAt, Actor: m.actor,
	}
	outcome, exc := "", ""
	switch {
	case !l.Credit && (l.Reversal || l.ReturnCode != ""):
		// a credit taken back: the fee is due again
		if fee == nil {
			outcome, exc = outcomeExc, ExcReversal
			break
		}
		s, err := m.b.sums(fee.Id)
		if err != nil {
			return item, err
		}
		if s.Credits == 0 || l.Currency != fee.GetString("currency") {
			outcome, exc = outcomeExc, ExcReversal
			break
		}
		entry.Kind, entry.Amount, entry.Note = LedgerAdjustment, -l.Amount, "reversal of a credit"
		if _, err := m.b.book(fee, entry); err != nil {
			return item, err
		}
		outcome = outcomeRev
	case !l.Credit || l.Reversal:
		outcome = outcomeIgnore // the city's own debits, reversed debits
	case fee == nil:
		outcome, exc = outcomeExc, ExcUnknown
	case l.Currency != fee.GetString("currency"):
		outcome, exc = outcomeExc, ExcCurrency
	case fee.GetString("state") == StateExpired:
		outcome, exc = outcomeExc, ExcAfterExp
	case fee.GetString("state") == StatePaid:
		outcome, exc = outcomeExc, ExcDuplicate
	case !IsOpen(fee.GetString("state")):
		outcome, exc = outcomeExc, ExcNotOpen
	default:
		s, err := m.b.sums(fee.Id)
		if err != nil {
			return item, err
		}
		remaining := int64(fee.GetInt("amount")) - s.Settled()
		fee.Set("pending_since", "")
		if _, err := m.b.book(fee, entry); err != nil {
			return item, err
		}
		switch {
		case l.Amount == remaining:
			outcome = outcomeMatch
		case l.Amount < remaining:
			outcome, exc = outcomeExc, ExcPartial
		default:
			outcome, exc = outcomeExc, ExcOver
		}
	}
	rec.Set("outcome", outcome)
	rec.Set("exception", exc)
	if err := m.entries.create(rec); err != nil {
		return item, fmt.Errorf("import: save line %s: %w", l.Key, err)
	}
	item.Outcome, item.Exception = outcome, exc
	return item, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

var (
	tokenSplit = regexp.MustCompile(`[^0-9A-Za-z]+`)
	// textRefPattern is the form of the references civicdesk issues under the text scheme
	textRefPattern = regexp.MustCompile(`^CD[0-9]{10}$`)
)

// findFee finds the fee a line pays: by its structured reference, else by a
// reference found in the unstructured text (normalised, check digits
// validated). Never by amount alone.
func (m *matcher) findFee(l *Line) (*core.Record, string, error) {
	var cands []string
	if l.Reference != "" {
		cands = append(cands, normalizeRef(l.Reference))
	}
	if l.Remittance != "" {
		toks := tokenSplit.Split(strings.ToUpper(l.Remittance), -1)
		// a printed RF reference comes in groups of four: try runs of tokens too
		for i := range toks {
			run := ""
			for j := i; j < len(toks) && j < i+7; j++ {
				run += toks[j]
				if len(run) >= 4 && len(run) <= 25 {
					cands = append(cands, run)
				}
			}
			if len(cands) > 64 {
				break
			}
		}
	}
	first := ""
	for _, c := range cands {
		if !m.plausible(c) {
			continue
		}
		if first == "" {
			first = c
		}
		row := dbx.NullStringMap{}
		err := m.feeQ.Bind(dbx.Params{"r": c}).One(row)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("import: find fee %s: %w", c, err)
		}
		fee, err := recordFromRow(m.fees, row)
		if err != nil {
			return nil, "", fmt.Errorf("import: fee %s: %w", c, err)
		}
		return fee, c, nil
	}
	if first == "" && l.Reference != "" {
		first = normalizeRef(l.Reference)
	}
	return nil, first, nil
}

// whyImplausible says why the structured reference s is none of the city's:
// the error of the city's own scheme (a bad check digit, a wrong length).
func (m *matcher) whyImplausible(s string) string {
	var msgs []string
	for _, r := range m.cfg.Rails {
		if r.Scheme == SchemeText {
			msgs = append(msgs, fmt.Sprintf("reference %q is not of the form CD + 10 digits", s))
			continue
		}
		if _, err := ValidateReference(r.Scheme, s); err != nil {
			msgs = append(msgs, fmt.Sprintf("reference %q (%s): %v", s, r.Scheme, err))
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	sort.Strings(msgs)
	return strings.Join(msgs, "; ")
}

// plausible reports whether s passes the check digits of one of the city's schemes.
func (m *matcher) plausible(s string) bool {
	for _, r := range m.cfg.Rails {
		if r.Scheme == SchemeText {
			if textRefPattern.MatchString(s) {
				return true
			}
			continue
		}
		if _, err := ValidateReference(r.Scheme, s); err == nil {
			return true
		}
	}
	_, err := RFValidate(s)
	return err == nil
}
