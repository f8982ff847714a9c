package payments_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"civicdesk/demo"
	"civicdesk/payments"
	"civicdesk/payments/fakeplatforms"
	"civicdesk/testkit"
)

// blackBox is a small client of the real binary.
type blackBox struct {
	t   *testing.T
	url string
	tok string
}

func (c *blackBox) do(method, path, body string, out any) int {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c.tok != "" {
		req.Header.Set("Authorization", c.tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	if resp.StatusCode/100 != 2 {
		c.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

type list struct {
	Items []map[string]any `json:"items"`
}

// TestWebhookStoredThenCrash: the server stores a verified GOV.UK Pay event
// and dies before answering or processing it (fault injection right after
// the commit). Restarted, it processes the stored event by itself; the platform's
// retry of the same event (it never got its 2xx) is deduplicated: the fee is
// paid once, with one ledger credit and one receipt.
func TestWebhookStoredThenCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("black-box test")
	}
	fk := fakeplatforms.New(fakeplatforms.Config{GOVUKPayKey: govKey, GOVUKPaySecrets: []string{govSecret}, Manual: true})
	fsrv := httptest.NewServer(fk)
	defer fsrv.Close()
	fk.SetBase(fsrv.URL)
	env := []string{
		"CIVICDESK_PAYMENTS=en", "CIVICDESK_CARD_PLATFORM=govukpay",
		"CIVICDESK_GOVUKPAY_URL=" + fsrv.URL + "/govukpay", "CIVICDESK_GOVUKPAY_API_KEY=" + govKey,
		"CIVICDESK_GOVUKPAY_WEBHOOK_SECRETS=" + govSecret,
	}
	s := testkit.StartServer(t, append(env, payments.FaultAfterStoreEnv+"=1")...)
	fk.SetServer(s.URL)
	c := &blackBox{t: t, url: s.URL}
	var auth struct {
		Token  string         `json:"token"`
		Record map[string]any `json:"record"`
	}
	if st := c.do("POST", "/api/collections/citizens/auth-with-password", `{"identity":"citizen@demo.civicdesk.example","password":"`+demo.DefaultPassword+`"}`, &auth); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	c.tok = auth.Token
	var svcs list
	c.do("GET", "/api/collections/services/records?filter="+url.QueryEscape("code='residence_certificate'"), "", &svcs)
	if len(svcs.Items) != 1 {
		t.Fatal("no residence_certificate service")
	}
	var req map[string]any
	body := fmt.Sprintf(`{"service":%q,"citizen":%q,"answers":{"purpose":"bank","copies":1,"delivery":"digital"}}`, svcs.Items[0]["id"], auth.Record["id"])
	if st := c.do("POST", "/api/collections/requests/records", body, &req); st != 200 {
		t.Fatalf("file: %d", st)
	}
	var fees list
	c.do("GET", "/api/collections/fees/records?filter="+url.QueryEscape("request='"+req["id"].(string)+"'"), "", &fees)
	if len(fees.Items) != 1 || fees.Items[0]["currency"] != "GBP" {
		t.Fatalf("fees %v", fees.Items)
	}
	feeID := fees.Items[0]["id"].(string)
	var start map[string]any
	if st := c.do("POST", "/api/payments/fees/"+feeID+"/attempts", `{}`, &start); st != 200 {
		t.Fatalf("start: %d", st)
	}
	redirect := start["redirect"].(string)
	payID := strings.Split(strings.TrimPrefix(redirect, fsrv.URL+"/govukpay/pay/"), "/")[0]
	fk.GOVUK.Complete(payID, "success")
	ev := fk.GOVUK.Event(payID, "CARD_PAYMENT_SUCCEEDED")
	if st, err := fk.GOVUK.Send(ev, nil); err == nil && st/100 == 2 {
		t.Fatalf("the server answered %d: the fault did not fire", st)
	}
	s.Kill() // reap the process that exited
	s.Env = env
	s.Start()
	// the worker processes what the inbox kept, with no new delivery
	deadline := time.Now().Add(60 * time.Second)
	var fee map[string]any
	for time.Now().Before(deadline) {
		c.do("GET", "/api/collections/fees/records/"+feeID, "", &fee)
		if fee["state"] == payments.StatePaid {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if fee["state"] != payments.StatePaid {
		t.Fatalf("fee %v after restart\n%s", fee["state"], s.Logs())
	}
	// the platform retries the event it got no answer for: deduplicated
	if st, err := fk.GOVUK.Send(ev, nil); err != nil || st != 200 {
		t.Fatalf("retry after restart: %d %v", st, err)
	}
	var ledger, receipts list
	c.do("GET", "/api/collections/fee_ledger/records?filter="+url.QueryEscape("fee='"+feeID+"'"), "", &ledger)
	c.do("GET", "/api/collections/receipts/records?filter="+url.QueryEscape("request='"+req["id"].(string)+"' && kind='payment'"), "", &receipts)
	if len(ledger.Items) != 1 || len(receipts.Items) != 1 {
		t.Fatalf("%d ledger rows, %d payment receipts", len(ledger.Items), len(receipts.Items))
	}
}
