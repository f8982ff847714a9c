package receipts_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"civicdesk/receipts"
	"civicdesk/testkit"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

func receiptsOf(t testing.TB, app core.App, requestID string) []*core.Record {
	t.Helper()
	recs, err := app.FindRecordsByFilter("receipts", "request = {:r}", "created", 0, 0, dbx.Params{"r": requestID})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// newCertificateRequest files a residence certificate (a service with a fee) for citizen.
func newCertificateRequest(t testing.TB, w *testkit.World, citizen *core.Record) *core.Record {
	t.Helper()
	col, _ := w.App.FindCollectionByNameOrId("requests")
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"service": w.Services["residence_certificate"],
		"citizen": citizen.Id,
		"answers": map[string]any{"purpose": "bank", "copies": 1, "delivery": "digital"},
	})
	workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: citizen.Id})
	if err := w.App.Save(rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func verifyRecord(t testing.TB, app core.App, rec *core.Record) *receipts.ClaimsJSON {
	t.Helper()
	res, err := receipts.Of(app).Verify(rec.GetString("code"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid {
		t.Fatalf("receipt %s invalid: %s %s", rec.Id, res.Reason, res.Message)
	}
	if res.Claims.CTI != rec.GetString("cti") || res.Claims.Kid != rec.GetString("kid") || res.Claims.Kind != rec.GetString("kind") {
		t.Fatalf("record fields %v differ from claims %+v", rec.FieldsData(), res.Claims)
	}
	return res.Claims
}

func TestIssueReceivedAndResolved(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, w.CitizenA)
	got := receiptsOf(t, w.App, req.Id)
	if len(got) != 1 || got[0].GetString("kind") != receipts.KindReceived {
		t.Fatalf("after create: %d receipts", len(got))
	}
	c := verifyRecord(t, w.App, got[0])
	set, _ := receipts.Of(w.App).Keys()
	if c.Issuer != "IT-GE" || c.Number != req.GetString("number") || c.Service != "pothole" || c.Status != "received" ||
		c.Holder != hex.EncodeToString(set.HolderTag(w.CitizenA.Id)) || c.Amount != nil {
		t.Fatalf("claims %+v", c)
	}
	if issued := got[0].GetDateTime("issued_at").Time(); time.Since(issued) > time.Minute || c.IssuedAt != issued.UTC().Format(time.RFC3339) {
		t.Fatalf("issued_at %v, iat %s", issued, c.IssuedAt)
	}
	// the code carries no personal data: neither the citizen's id, email nor name
	raw, _ := receipts.ParseCode(got[0].GetString("code"))
	for _, pii := range []string{w.CitizenA.Id, w.CitizenA.Email(), w.CitizenA.GetString("name")} {
		if pii != "" && bytes.Contains(raw, []byte(pii)) {
			t.Fatalf("code contains %q", pii)
		}
	}

	w.MoveTo(t, req, workflow.StatusInProgress)
	if n := len(receiptsOf(t, w.App, req.Id)); n != 1 {
		t.Fatalf("in_progress issued a receipt: %d", n)
	}
	w.MoveTo(t, req, workflow.StatusResolved)
	got = receiptsOf(t, w.App, req.Id)
	if len(got) != 2 || got[1].GetString("kind") != receipts.KindResolved {
		t.Fatalf("after resolve: %d receipts", len(got))
	}
	if c := verifyRecord(t, w.App, got[1]); c.Status != "resolved" {
		t.Fatalf("resolved claims %+v", c)
	}
}

func TestIssueWithoutCitizen(t *testing.T) {
	w := testkit.NewApp(t)
	req := w.NewRequest(t, nil) // e.g. phoned in, or Open311
	got := receiptsOf(t, w.App, req.Id)
	if len(got) != 1 {
		t.Fatalf("%d receipts", len(got))
	}
	if c := verifyRecord(t, w.App, got[0]); c.Holder != "" {
		t.Fatalf("holder %q for a request without citizen", c.Holder)
	}
}

func TestIssuePayment(t *testing.T) {
	w := testkit.NewApp(t)
	req := newCertificateRequest(t, w, w.CitizenA)
	req, _ = w.App.FindRecordById("requests", req.Id)
	req.Set("paid_at", time.Now())
	req.Set("payment_ref", "PAGOPA-0123456789")
	workflow.AttachActor(req, workflow.System)
	if err := w.App.Save(req); err != nil {
		t.Fatal(err)
	}
	got := receiptsOf(t, w.App, req.Id)
	if len(got) != 2 || got[1].GetString("kind") != receipts.KindPayment {
		t.Fatalf("%d receipts", len(got))
	}
	c := verifyRecord(t, w.App, got[1])
	if c.Amount == nil || *c.Amount != 52 || c.Currency != "EUR" || c.PaymentRef != "PAGOPA-0123456789" || c.Service != "residence_certificate" {
		t.Fatalf("payment claims %+v", c)
	}

	// a payment reference that does not fit the QR code is refused up front, naming the field
	req, _ = w.App.FindRecordById("requests", req.Id)
	req.Set("payment_ref", strings.Repeat("9", receipts.MaxPaymentRefLen+1))
	workflow.AttachActor(req, workflow.System)
	if err := w.App.Save(req); err == nil || !strings.Contains(err.Error(), "payment_ref") {
		t.Fatalf("long payment_ref: %v", err)
	}
}

// TestIssueIsAtomic: when the write that accepted a request fails after the
// receipt was written, neither the request nor the receipt remains.
func TestIssueIsAtomic(t *testing.T) {
	w := testkit.NewApp(t)
	boom := errors.New("later listener failed")
	workflow.Of(w.App).OnAccepted.Bind(&hook.Handler[*workflow.Event]{
		Id:       "testFailAfterReceipt",
		Priority: 100, // after the receipt listener
		Func: func(e *workflow.Event) error {
			if n := len(receiptsOf(t, e.App, e.Request.Id)); n != 1 {
				t.Errorf("inside the transaction: %d receipts, want 1", n)
			}
			return boom
		},
	})
	col, _ := w.App.FindCollectionByNameOrId("requests")
	rec := core.NewRecord(col)
	rec.Load(map[string]any{"service": w.Services["enquiry"], "citizen": w.CitizenA.Id, "answers": map[string]any{"topic": "t", "question": "q"}})
	workflow.AttachActor(rec, workflow.Actor{Kind: workflow.ActorCitizen, ID: w.CitizenA.Id})
	if err := w.App.Save(rec); !errors.Is(err, boom) {
		t.Fatalf("save: %v", err)
	}
	if n, _ := w.App.CountRecords("receipts"); n != 0 {
		t.Fatalf("%d receipts survived a rolled-back request", n)
	}
	if n, _ := w.App.CountRecords("requests", dbx.HashExp{"citizen": w.CitizenA.Id}); n != 0 {
		t.Fatalf("%d requests survived", n)
	}
}

func TestServiceLimits(t *testing.T) {
	w := testkit.NewApp(t)
	svc, _ := w.App.FindRecordById("services", w.Services["enquiry"])
	svc.Set("code", strings.Repeat("a", receipts.MaxServiceLen+1))
	if err := w.App.Save(svc); err == nil || !strings.Contains(err.Error(), "code") {
		t.Fatalf("long service code: %v", err)
	}
	svc, _ = w.App.FindRecordById("services", w.Services["enquiry"])
	svc.Set("code", strings.Repeat("a", receipts.MaxServiceLen))
	if err := w.App.Save(svc); err != nil {
		t.Fatalf("service code at the cap: %v", err)
	}
}
