package payments_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"civicdesk/payments"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

func rowOf(t testing.TB, app core.App, table, id string) dbx.NullStringMap {
	t.Helper()
	row := dbx.NullStringMap{}
	if err := app.DB().NewQuery("SELECT * FROM " + table + " WHERE id = {:id}").Bind(dbx.Params{"id": id}).One(row); err != nil {
		t.Fatalf("%s %s: %v", table, id, err)
	}
	return row
}

var autodate = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$`)

// sameRow compares two rows column by column; the autodate columns only by form.
func sameRow(t testing.TB, what string, raw, saved dbx.NullStringMap, skip ...string) {
	t.Helper()
	if len(raw) != len(saved) {
		t.Fatalf("%s: %d columns raw, %d saved", what, len(raw), len(saved))
	}
	for col, s := range saved {
		r, ok := raw[col]
		switch {
		case !ok:
			t.Errorf("%s: column %s missing in the raw row", what, col)
		case col == "created" || col == "updated":
			if !autodate.MatchString(r.String) || !autodate.MatchString(s.String) {
				t.Errorf("%s.%s: raw %q, saved %q: not PocketBase's date form", what, col, r.String, s.String)
			}
		case strings.Contains(","+strings.Join(skip, ",")+",", ","+col+","):
		case r != s:
			t.Errorf("%s.%s: raw %+v, saved %+v", what, col, r, s)
		}
	}
}

func inTx(t testing.TB, app core.App, fn func(tx core.App) error) {
	t.Helper()
	if err := app.RunInTransaction(fn); err != nil {
		t.Fatal(err)
	}
}

// The rows an import writes with prepared statements (ledger rows, bank
// entries, fee updates) are the rows app.Save writes, field by field, they
// pass the collections' validation, and the change sequence sees them.
func TestRawRowsEqualSavedRows(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.FileCertificate(t, w.CitizenA)
	fee := feeOf(t, w.App, req.Id)

	t.Run("fee_ledger insert", func(t *testing.T) {
		col, _ := w.App.FindCollectionByNameOrId("fee_ledger")
		e := payments.Entry{
			Kind: payments.LedgerCredit, Amount: 52, Currency: "EUR", SourceKey: "bank:IT60|B1", Source: "statement",
			Method: "sct", Evidence: "B1", BookedAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Note: "Zahlung für Ärzte ✓", Actor: workflow.System,
		}
		raw := payments.LedgerRecord(col, fee, e)
		inTx(t, w.App, func(tx core.App) error { return payments.RawCreate(tx, raw) })
		rawRow := rowOf(t, w.App, "fee_ledger", raw.Id)
		stored, err := w.App.FindRecordById("fee_ledger", raw.Id)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.App.Validate(stored); err != nil {
			t.Fatalf("raw ledger row fails validation: %v", err)
		}
		if _, err := w.App.DB().NewQuery("DELETE FROM fee_ledger WHERE id = {:id}").Bind(dbx.Params{"id": raw.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		saved := payments.LedgerRecord(col, fee, e)
		saved.Id = raw.Id
		saved.Set(payments.LedgerWriteKey, true)
		if err := w.App.Save(saved); err != nil {
			t.Fatal(err)
		}
		sameRow(t, "fee_ledger", rawRow, rowOf(t, w.App, "fee_ledger", raw.Id))
	})

	t.Run("bank_entries insert", func(t *testing.T) {
		scol, _ := w.App.FindCollectionByNameOrId("payment_statements")
		st := core.NewRecord(scol)
		st.Load(map[string]any{"format": "camt.053.001.02", "iban": demoIBAN, "statement_id": "RAW-1", "msg_id": "M", "sha256": strings.Repeat("ab", 32), "file_name": "x.xml"})
		if err := w.App.Save(st); err != nil {
			t.Fatal(err)
		}
		col, _ := w.App.FindCollectionByNameOrId("bank_entries")
		entry := func() *core.Record {
			rec := core.NewRecord(col)
			rec.Load(map[string]any{
				"statement": st.Id, "entry_key": demoIBAN + "|RAW-1", "iban": demoIBAN, "acct_svcr_ref": "RAW-1", "amount": 5200,
				"currency": "EUR", "direction": "CRDT", "reversal": true, "status": "BOOK", "booked_at": time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
				"reference": fee.GetString("reference"), "remittance": "Fattura n° 12 – grazie", "debtor_name": "Åsa Öberg", "debtor_iban": "SE4550000000058398257466",
				"fee": fee.Id, "outcome": "exception", "exception": "partial",
			})
			return rec
		}
		raw := entry()
		inTx(t, w.App, func(tx core.App) error { return payments.RawCreate(tx, raw) })
		rawRow := rowOf(t, w.App, "bank_entries", raw.Id)
		stored, _ := w.App.FindRecordById("bank_entries", raw.Id)
		if err := w.App.Validate(stored); err != nil {
			t.Fatalf("raw bank entry fails validation: %v", err)
		}
		if _, err := w.App.DB().NewQuery("DELETE FROM bank_entries WHERE id = {:id}").Bind(dbx.Params{"id": raw.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		saved := entry()
		saved.Id = raw.Id
		if err := w.App.Save(saved); err != nil {
			t.Fatal(err)
		}
		sameRow(t, "bank_entries", rawRow, rowOf(t, w.App, "bank_entries", raw.Id))
	})

	t.Run("fees update", func(t *testing.T) {
		change := func(f *core.Record) {
			f.Set("state", payments.StatePending)
			f.Set("pending_since", time.Date(2026, 11, 29, 8, 30, 0, 0, time.UTC))
			f.Set("paid_amount", 12)
		}
		revert := func(f *core.Record) {
			f.Set("state", payments.StateDue)
			f.Set("pending_since", "")
			f.Set("paid_amount", 0)
		}
		save := func(f *core.Record) {
			f.Set(payments.LedgerWriteKey, true)
			if err := w.App.Save(f); err != nil {
				t.Fatal(err)
			}
		}
		f := feeOf(t, w.App, req.Id)
		change(f)
		save(f)
		savedRow := rowOf(t, w.App, "fees", f.Id)
		f = feeOf(t, w.App, req.Id)
		revert(f)
		save(f)

		changes := count(t, w.App, "SELECT COUNT(*) FROM changes WHERE collection = 'fees' AND record_id = {:f} AND citizen = {:c}", dbx.Params{"f": f.Id, "c": w.CitizenA.Id})
		f = feeOf(t, w.App, req.Id)
		change(f)
		inTx(t, w.App, func(tx core.App) error { return payments.RawSave(tx, f) })
		sameRow(t, "fees", rowOf(t, w.App, "fees", f.Id), savedRow)
		if err := w.App.Validate(feeOf(t, w.App, req.Id)); err != nil {
			t.Fatalf("raw fee row fails validation: %v", err)
		}
		if n := count(t, w.App, "SELECT COUNT(*) FROM changes WHERE collection = 'fees' AND record_id = {:f} AND citizen = {:c}", dbx.Params{"f": f.Id, "c": w.CitizenA.Id}); n != changes+1 {
			t.Fatalf("change rows of the fee %d -> %d: the raw update is not in the change sequence", changes, n)
		}
	})
}

// twoLines is a camt.053 statement that pays each fee in full.
func twoLines(id string, fees ...*core.Record) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>%[1]s</MsgId></GrpHdr>
<Stmt><Id>%[1]s</Id><Acct><Id><IBAN>%[2]s</IBAN></Id><Ccy>EUR</Ccy></Acct>`, id, demoIBAN)
	for i, f := range fees {
		fmt.Fprintf(&b, `<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>%s-%d</AcctSvcrRef>
<NtryDtls><TxDtls><RmtInf><Strd><CdtrRefInf><Ref>%s</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>`,
			payments.FormatAmount(int64(f.GetInt("amount")), "EUR"), id, i, f.GetString("reference"))
	}
	b.WriteString("</Stmt></BkToCstmrStmt></Document>")
	return []byte(b.String())
}

// A crash after the import's commit and before its notices are applied
// loses nothing and repeats nothing: the fees are paid (the money is booked
// all or nothing), the notices wait, and the job records each payment on its
// request exactly once (event, receipt, push).
func TestImportNoticesAfterCrash(t *testing.T) {
	w := testkit.NewApp(t)
	subscribe(t, w.App, w.CitizenA)
	a, b, gone := w.FileCertificate(t, w.CitizenA), w.FileCertificate(t, w.CitizenB), w.FileCertificate(t, w.CitizenB)
	feeA, feeB, feeGone := feeOf(t, w.App, a.Id), feeOf(t, w.App, b.Id), feeOf(t, w.App, gone.Id)
	file := twoLines("CRASH-1", feeA, feeB, feeGone)

	res, err := payments.ImportCommitOnly(w.App, bytes.NewReader(file), "crash.xml", workflow.System)
	if err != nil || res.Matched != 3 {
		t.Fatalf("import: %+v %v", res, err)
	}
	outcome := func() [5]int {
		return [5]int{
			count(t, w.App, "SELECT COUNT(*) FROM fees WHERE state = 'paid' AND id IN ({:a}, {:b})", dbx.Params{"a": feeA.Id, "b": feeB.Id}),
			count(t, w.App, "SELECT COUNT(*) FROM requests WHERE paid_at != '' AND id IN ({:a}, {:b})", dbx.Params{"a": a.Id, "b": b.Id}),
			count(t, w.App, "SELECT COUNT(*) FROM receipts WHERE kind = 'payment'", nil),
			count(t, w.App, "SELECT COUNT(*) FROM request_events WHERE type = 'payment' AND public = TRUE", nil),
			count(t, w.App, "SELECT COUNT(*) FROM push_outbox WHERE kind = 'receipt' AND payload LIKE '%payment%'", nil),
		}
	}
	if got := outcome(); got != [5]int{2, 0, 0, 0, 0} {
		t.Fatalf("after the commit only: %v, want the fees paid and nothing else yet", got)
	}
	if n := count(t, w.App, "SELECT COUNT(*) FROM fee_notices", nil); n != 3 {
		t.Fatalf("%d notices queued, want 3", n)
	}
	// one request is erased before the job runs (its fee goes with it): its notice is dropped
	if err := w.App.Delete(gone); err != nil {
		t.Fatal(err)
	}

	n, err := payments.ApplyNotices(w.App) // the job's run
	if err != nil || n != 3 {
		t.Fatalf("applied %d: %v", n, err)
	}
	if n := count(t, w.App, "SELECT COUNT(*) FROM fee_notices", nil); n != 0 {
		t.Fatalf("%d notices left", n)
	}
	// one push: citizen B has no subscription
	if got := outcome(); got != [5]int{2, 2, 2, 2, 1} {
		t.Fatalf("after the job: %v", got)
	}
	reqA, _ := w.App.FindRecordById("requests", a.Id)
	if reqA.GetString("payment_ref") != feeA.GetString("reference") {
		t.Fatalf("payment_ref %q", reqA.GetString("payment_ref"))
	}
	if n, err := payments.ApplyNotices(w.App); err != nil || n != 0 {
		t.Fatalf("second run applied %d: %v", n, err)
	}
	again, err := payments.Import(w.App, bytes.NewReader(file), "crash.xml", workflow.System)
	if err != nil || !again.Duplicate {
		t.Fatalf("again: %+v %v", again, err)
	}
	if got := outcome(); got != [5]int{2, 2, 2, 2, 1} {
		t.Fatalf("after a second import: %v", got)
	}
}

// Fees an import changes as raw rows still wake their citizens' phones after
// the commit (a partial payment saves no request, so no request hook does).
func TestImportPokesPhones(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.FileCertificate(t, w.CitizenA)
	fee := feeOf(t, w.App, req.Id)
	client := subscriptions.NewDefaultClient()
	client.Subscribe("sync/" + w.CitizenA.Id)
	w.App.SubscriptionsBroker().Register(client)
	defer w.App.SubscriptionsBroker().Unregister(client.Id())

	res, err := payments.Import(w.App, strings.NewReader(oneLine(fee.GetString("reference"), "0.20", "POKE-1")), "poke.xml", workflow.System)
	if err != nil || res.Exceptions != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	select {
	case msg := <-client.Channel():
		if msg.Name != "sync/"+w.CitizenA.Id || string(msg.Data) != `{"action":"pull"}` {
			t.Fatalf("poke %s %s", msg.Name, msg.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no poke for the citizen whose fee the import changed")
	}
}

// Two runs that read the same notice (the job and an import's own pass)
// apply it once: the second finds it deleted.
func TestNoticeAppliedOnce(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.FileCertificate(t, w.CitizenA)
	fee := feeOf(t, w.App, req.Id)
	if _, err := payments.Import(w.App, strings.NewReader(oneLine(fee.GetString("reference"), "0.52", "ONCE-1")), "o.xml", workflow.System); err != nil {
		t.Fatal(err)
	}
	// an "unpaid" notice (what a reversal queues), applied by the job
	if _, err := w.App.DB().NewQuery("INSERT INTO fee_notices (fee, request, action, created) VALUES ({:f}, {:r}, 'unpaid', '2026-12-01T00:00:00Z')").
		Bind(dbx.Params{"f": fee.Id, "r": req.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := w.App.DB().NewQuery("SELECT MAX(id) FROM fee_notices").Row(&id); err != nil {
		t.Fatal(err)
	}
	if n, err := payments.ApplyNotices(w.App); err != nil || n != 1 {
		t.Fatalf("applied %d: %v", n, err)
	}
	events := func() int {
		return count(t, w.App, "SELECT COUNT(*) FROM request_events WHERE request = {:r} AND type = 'fee'", dbx.Params{"r": req.Id})
	}
	before := events()
	if n := count(t, w.App, "SELECT COUNT(*) FROM receipts WHERE request = {:r} AND kind = 'payment' AND revoked = TRUE", dbx.Params{"r": req.Id}); n != 1 {
		t.Fatalf("%d revoked payment receipts", n)
	}
	if err := payments.ApplyStaleNotice(w.App, id, fee.Id, "unpaid"); err != nil {
		t.Fatal(err)
	}
	if after := events(); after != before {
		t.Fatalf("a stale run applied the notice again: %d fee events, then %d", before, after)
	}
}
