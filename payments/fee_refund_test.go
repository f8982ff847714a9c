package payments_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"civicdesk/payments"
	"civicdesk/receipts"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// A refund recorded on a paid fee (the supervisor's route, or a platform's
// Book) issues a signed refund receipt (claim 9 = 3, claim 15 the total
// refunded), a public `refund` event and a push, in the refund's
// transaction; a full refund leaves the fee `refunded`. The browser
// verifier decodes the receipt offline.
func TestRefundReceipt(t *testing.T) {
	w := testkit.NewApp(t)
	subscribe(t, w.App, w.CitizenA)
	req := w.FileCertificate(t, w.CitizenA)
	fee := feeOf(t, w.App, req.Id)
	if _, err := payments.Import(w.App, strings.NewReader(oneLine(fee.GetString("reference"), "0.52", "REF-1")), "r.xml", workflow.System); err != nil {
		t.Fatal(err)
	}
	sup := testkit.Token(t, w.Supervisor)

	// a partial refund through a platform-style Book: the fee stays paid
	err := w.App.RunInTransaction(func(tx core.App) error {
		f, err := tx.FindRecordById("fees", fee.Id)
		if err != nil {
			return err
		}
		_, err = payments.Book(tx, f, payments.Entry{Kind: payments.LedgerRefund, Amount: 20, Currency: "EUR", SourceKey: "stripe:re_1",
			Source: "provider", Method: "card", Evidence: "re_1", Actor: workflow.System})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := state(t, w.App, fee); s != payments.StatePaid {
		t.Fatalf("fee %s after a partial refund, want paid", s)
	}
	// the rest through the route (twice with one key: one receipt)
	for range 2 {
		if r := w.Do(t, "POST", "/api/payments/fees/"+fee.Id+"/refund", sup, `{"amount":"0.32","note":"paid back to the payer","key":"k2","evidence":"RET-77"}`); r.Status != 200 {
			t.Fatalf("refund: %d %s", r.Status, r.Body)
		}
	}
	if s := state(t, w.App, fee); s != payments.StateRefunded {
		t.Fatalf("fee %s after a full refund, want refunded", s)
	}

	rcs, err := w.App.FindRecordsByFilter("receipts", "request = {:r} && kind = 'refund'", "issued_at,created", 0, 0, dbx.Params{"r": req.Id})
	if err != nil || len(rcs) != 2 {
		t.Fatalf("%d refund receipts (%v), want 2", len(rcs), err)
	}
	for i, want := range []struct {
		refunded uint64
		method   string
		evidence string
	}{{20, "card", "re_1"}, {52, "sct", "RET-77"}} {
		v, err := receipts.Of(w.App).Verify(rcs[i].GetString("code"))
		if err != nil || !v.Valid {
			t.Fatalf("refund receipt %d: %+v %v", i, v, err)
		}
		c := v.Claims
		if c.Kind != receipts.KindRefund || c.PaymentKind != "refund" || *c.Amount != 52 || c.Refunded == nil || *c.Refunded != want.refunded ||
			c.Method != want.method || c.FeeID != fee.Id || c.PaymentRef != fee.GetString("reference") || c.PaidAt == "" || c.AmountDue != nil {
			t.Fatalf("refund receipt %d claims %+v (refunded %v)", i, c, c.Refunded)
		}
		if want := receipts.EvidenceTag(want.evidence); c.Evidence != strings.ToLower(hexOf(want)) {
			t.Fatalf("evidence tag %s", c.Evidence)
		}
		if v, _ := receipts.QRVersion(rcs[i].GetString("code")); v > 13 {
			t.Fatalf("refund receipt needs QR version %d", v)
		}
	}
	if n := count(t, w.App, "SELECT COUNT(*) FROM request_events WHERE request = {:r} AND type = 'refund' AND public = TRUE", dbx.Params{"r": req.Id}); n != 2 {
		t.Fatalf("%d public refund events", n)
	}
	if n := count(t, w.App, "SELECT COUNT(*) FROM push_outbox WHERE request = {:r} AND kind = 'receipt' AND payload LIKE '%Refund recorded%'", dbx.Params{"r": req.Id}); n != 2 {
		t.Fatalf("%d refund pushes queued", n)
	}
	// the citizen sees it (records API and sync read the same rule)
	if r := w.Do(t, "GET", "/api/collections/receipts/records/"+rcs[1].Id, testkit.Token(t, w.CitizenA), ""); r.Status != 200 {
		t.Fatalf("citizen reads the refund receipt: %d", r.Status)
	}

	verifyInBrowserCode(t, w, rcs[1].GetString("code"), map[string]any{"kind": "refund", "paymentKind": "refund", "amount": 52.0, "refunded": 52.0, "method": "sct"})
	verifierSaysRefund(t)
}

// verifierSaysRefund checks that /verify/ has the refund sentence and labels
// in each of its languages, every placeholder filled.
func verifierSaysRefund(t *testing.T) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	i18n, _ := filepath.Abs("../pb_public/verify/i18n.js")
	script := `const { LANGS, STRINGS, t } = await import(process.argv[1]);
const vars = { issuer: 'I', number: 'N', service: 'S', date: 'D', amount: 'A', refunded: 'R' };
const out = {};
for (const l of LANGS) out[l] = [t(l, 'kind.refund', vars), STRINGS[l].refunded, STRINGS[l].refundedAt];
console.log(JSON.stringify(out));`
	out, err := exec.Command(node, "--input-type=module", "-e", script, "file://"+i18n).CombinedOutput()
	if err != nil {
		t.Fatalf("i18n.js: %v\n%s", err, out)
	}
	var got map[string][]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("i18n.js printed %s", out)
	}
	seen := map[string]bool{}
	for _, lang := range []string{"it", "en", "sv", "et", "hu"} {
		v := got[lang]
		if len(v) != 3 {
			t.Fatalf("%s: %v", lang, v)
		}
		sentence, _ := v[0].(string)
		if strings.Contains(sentence, "{") || !strings.Contains(sentence, "R") || !strings.Contains(sentence, "A") || v[1] == nil || v[2] == nil || seen[sentence] {
			t.Errorf("%s: the verifier's refund texts %v", lang, v)
		}
		seen[sentence] = true
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// verifyInBrowserCode runs the /verify/ page's own verifier (receipt.js) in
// Node, offline, against the server's JWKS, and compares the claims.
func verifyInBrowserCode(t *testing.T, w *testkit.World, code string, want map[string]any) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI")
		}
		t.Skip("node not installed")
	}
	set, err := receipts.Of(w.App).Keys()
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := set.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(jwks)
	page, _ := filepath.Abs("../pb_public/verify/receipt.js")
	script := `const { verifyCode } = await import(process.argv[1]);
const { claims } = await verifyCode(process.argv[2], JSON.parse(process.argv[3]));
console.log(JSON.stringify(claims));`
	out, err := exec.Command(node, "--input-type=module", "-e", script, "file://"+page, code, string(jb)).CombinedOutput()
	if err != nil {
		t.Fatalf("receipt.js: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("receipt.js printed %s", out)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("receipt.js claim %s = %v, want %v (all: %s)", k, got[k], v, out)
		}
	}
}
