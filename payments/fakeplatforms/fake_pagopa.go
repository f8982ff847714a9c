package fakeplatforms

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// PagoPA fakes GPD's debt positions (POST /organizations/{cf}/debtpositions
// with client-chosen iupd and iuv: 409 on a duplicate; GET …/{iupd}) and a
// PSP's checkout that pays a notice and posts a paSendRT-shaped receipt to
// the creditor body (civicdesk), as the node does.
type PagoPA struct {
	f         *Fakes
	positions map[string]*position // iupd → position
}

type position struct {
	IUPD, IUV, FiscalCode, Status string
	Amount                        int64
	Description                   string
}

func (p *PagoPA) lock() func() { p.f.mu.Lock(); return p.f.mu.Unlock }

func gpdError(w http.ResponseWriter, status int, title, detail string) {
	b, _ := json.Marshal(map[string]any{"title": title, "status": status, "detail": detail})
	writeJSON(w, status, b)
}

// checkIUV verifies a 17-digit IUV (aux digit 3): the last two digits are
// "3" + the first 15 modulo 93 (an implementation of its own, so the
// adapter's is tested against it).
func checkIUV(iuv string) bool {
	if len(iuv) != 17 {
		return false
	}
	rem := 3
	for _, r := range iuv[:15] {
		if r < '0' || r > '9' {
			return false
		}
		rem = (rem*10 + int(r-'0')) % 93
	}
	return fmt.Sprintf("%02d", rem) == iuv[15:]
}

func (p *PagoPA) serve(w http.ResponseWriter, r *http.Request, path string) {
	if strings.HasPrefix(path, "/pay") {
		p.payPage(w, r, strings.Trim(strings.TrimPrefix(path, "/pay"), "/"))
		return
	}
	if r.Header.Get("Ocp-Apim-Subscription-Key") != p.f.conf().PagoPAKey {
		gpdError(w, http.StatusUnauthorized, "Unauthorized", "Access denied due to invalid subscription key.")
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 || parts[0] != "organizations" || parts[2] != "debtpositions" {
		gpdError(w, http.StatusNotFound, "Not Found", "no such resource")
		return
	}
	cf := parts[1]
	defer p.lock()()
	switch {
	case r.Method == http.MethodPost && len(parts) == 3:
		var body struct {
			IUPD          string `json:"iupd"`
			Type          string `json:"type"`
			FiscalCode    string `json:"fiscalCode"`
			PaymentOption []struct {
				IUV         string `json:"iuv"`
				Amount      int64  `json:"amount"`
				Description string `json:"description"`
				DueDate     string `json:"dueDate"`
				Transfer    []struct {
					Amount int64  `json:"amount"`
					IBAN   string `json:"iban"`
				} `json:"transfer"`
			} `json:"paymentOption"`
		}
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := json.Unmarshal(raw, &body); err != nil || body.IUPD == "" || len(body.PaymentOption) != 1 || body.Type == "" || body.FiscalCode == "" {
			gpdError(w, http.StatusBadRequest, "Bad Request", "iupd, type, fiscalCode and one paymentOption are required")
			return
		}
		o := body.PaymentOption[0]
		sum := int64(0)
		for _, t := range o.Transfer {
			sum += t.Amount
		}
		if !checkIUV(o.IUV) || o.Amount < 1 || sum != o.Amount || len(o.Transfer) < 1 || len(o.Transfer) > 5 || o.DueDate == "" {
			gpdError(w, http.StatusBadRequest, "Bad Request", "invalid iuv (check digits), amount, transfers or dueDate")
			return
		}
		if _, dup := p.positions[body.IUPD]; dup {
			gpdError(w, http.StatusConflict, "Conflict", "The debt position with Organization Fiscal Code "+cf+" and IUPD "+body.IUPD+" already exists")
			return
		}
		for _, q := range p.positions {
			if q.IUV == o.IUV && q.FiscalCode == cf {
				gpdError(w, http.StatusConflict, "Conflict", "IUV "+o.IUV+" already exists")
				return
			}
		}
		st := "DRAFT"
		if r.URL.Query().Get("toPublish") == "true" {
			st = "VALID"
		}
		p.positions[body.IUPD] = &position{IUPD: body.IUPD, IUV: o.IUV, FiscalCode: cf, Status: st, Amount: o.Amount, Description: o.Description}
		writeJSON(w, http.StatusCreated, raw)
	case r.Method == http.MethodGet && len(parts) == 4:
		q, ok := p.positions[parts[3]]
		if !ok || q.FiscalCode != cf {
			gpdError(w, http.StatusNotFound, "Not Found", "No debt position found")
			return
		}
		writeJSON(w, http.StatusOK, p.positionJSON(q))
	default:
		gpdError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "")
	}
}

func (p *PagoPA) positionJSON(q *position) []byte {
	b, _ := json.Marshal(map[string]any{
		"iupd": q.IUPD, "status": q.Status, "organizationFiscalCode": q.FiscalCode,
		"paymentOption": []map[string]any{{"iuv": q.IUV, "nav": "3" + q.IUV, "amount": q.Amount, "status": map[bool]string{true: "PO_PAID", false: "PO_UNPAID"}[q.Status == "PAID"]}},
	})
	return b
}

func (p *PagoPA) byNotice(notice string) *position {
	for _, q := range p.positions {
		if "3"+q.IUV == notice {
			return q
		}
	}
	return nil
}

// payPage: GET /pay/{notice} shows the notice; POST /pay/{notice}/ok pays it.
func (p *PagoPA) payPage(w http.ResponseWriter, r *http.Request, rest string) {
	notice, action, _ := strings.Cut(rest, "/")
	if notice == "" {
		notice = strings.ReplaceAll(r.URL.Query().Get("notice"), " ", "")
	}
	unlock := p.lock()
	q := p.byNotice(notice)
	if q == nil {
		unlock()
		http.Error(w, "Notice not found (is the position published?)", http.StatusNotFound)
		return
	}
	if q.Status != "VALID" {
		unlock()
		http.Error(w, "This notice was already paid or is not payable ("+q.Status+").", http.StatusConflict)
		return
	}
	if r.Method == http.MethodGet || action != "ok" {
		base := p.f.cfg.Base + "/pagopa/pay/" + notice + "/ok"
		unlock()
		payPage(w, "pagoPA checkout (fake PSP)", "Avviso "+notice+" — EUR "+money(q.Amount)+" — "+q.Description, [][2]string{{base, "Paga (pay)"}})
		return
	}
	q.Status = "PAID"
	body := p.receiptLocked(q, "OK", randID("rcpt", 10))
	unlock()
	p.f.deliverAsync(func() (int, error) { return p.Send(body, "") })
	payPage(w, "pagoPA checkout (fake PSP)", "Paid: notice "+notice+". The receipt was sent to the creditor.", nil)
}

func (p *PagoPA) receiptLocked(q *position, outcome, receiptID string) []byte {
	b, _ := json.Marshal(map[string]any{
		"idPA": q.FiscalCode, "idBrokerPA": q.FiscalCode, "idStation": q.FiscalCode + "_01",
		"receipt": map[string]any{
			"receiptId": receiptID, "noticeNumber": "3" + q.IUV, "fiscalCode": q.FiscalCode, "outcome": outcome,
			"creditorReferenceId": q.IUV, "paymentAmount": money(q.Amount), "description": q.Description,
			"companyName": "Comune", "officeName": "", "debtor": map[string]string{"entityUniqueIdentifierType": "F", "entityUniqueIdentifierValue": "ANONIMO", "fullName": "Cittadino"},
			"transferList": map[string]any{"transfer": []map[string]any{{"idTransfer": 1, "transferAmount": money(q.Amount), "fiscalCodePA": q.FiscalCode, "remittanceInformation": "civicdesk " + q.IUV, "transferCategory": "9/0101108TS/"}}},
			"idPSP":        "FAKEPSP01", "pspCompanyName": "Fake PSP", "idChannel": "FAKEPSP01_01", "channelDescription": "app",
			"paymentMethod": "creditCard", "fee": "1.00",
			"paymentDateTime": p.f.now().UTC().Format("2006-01-02T15:04:05Z"), "applicationDate": p.f.now().UTC().Format("2006-01-02"), "transferDate": p.f.now().UTC().Format("2006-01-02"),
		},
	})
	return b
}

// Pay marks the position of iuv paid (as a PSP would) and returns the
// receipt body, without sending it.
func (p *PagoPA) Pay(iuv, outcome, receiptID string) []byte {
	defer p.lock()()
	for _, q := range p.positions {
		if q.IUV == iuv {
			if outcome == "OK" {
				q.Status = "PAID"
			}
			return p.receiptLocked(q, outcome, receiptID)
		}
	}
	return nil
}

// Send posts a receipt to civicdesk with the bearer token (token "" = the configured one).
func (p *PagoPA) Send(body []byte, token string) (int, error) {
	if token == "" {
		token = p.f.conf().PagoPAToken
	}
	return p.f.post("pagopa", body, map[string]string{"Authorization": "Bearer " + token})
}

// Count is the number of positions.
func (p *PagoPA) Count() int {
	defer p.lock()()
	return len(p.positions)
}
