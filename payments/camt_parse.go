package payments

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// MaxStatementSize caps a statement file (a 50,000-entry camt.053 is ~45 MiB).
const MaxStatementSize = 64 << 20

// maxXMLDepth caps element nesting (camt needs about 12 levels).
const maxXMLDepth = 40

// Supported statement formats: namespace urn:iso:std:iso:20022:tech:xsd:<format>.
var supportedFormats = map[string]bool{
	"camt.053.001.02": true, "camt.053.001.08": true,
	"camt.054.001.02": true, "camt.054.001.08": true,
}

const camtNamespacePrefix = "urn:iso:std:iso:20022:tech:xsd:"

// Statement is a parsed camt.053 statement or camt.054 notification.
type Statement struct {
	Format string // e.g. camt.053.001.02
	MsgID  string
	SHA256 string // of the file
	// Accounts are the statements (Stmt / Ntfctn) of the file, one per account.
	Accounts []AccountReport
}

// AccountReport is one Stmt or Ntfctn: an account and its entries.
type AccountReport struct {
	ID       string // Stmt/Id
	IBAN     string
	Other    string // Acct/Id/Othr/Id (UK sort code and account number)
	Currency string
	Lines    []Line
}

// Line is one credit or debit line: a whole entry, or one transaction of a
// batched entry (NtryDtls/TxDtls).
type Line struct {
	// Key identifies the line for idempotency: the bank's reference when it
	// has one, else a hash of its content and position (research §2.3).
	Key        string
	AcctSvcRef string
	Amount     int64 // minor units, positive
	Currency   string
	Credit     bool // CRDT (else DBIT)
	Reversal   bool // RvslInd
	Status     string
	BookedAt   time.Time
	Reference  string // structured creditor reference
	Remittance string // unstructured remittance (Ustrd, joined)
	DebtorName string
	DebtorIBAN string
	ReturnCode string // RtrInf/Rsn/Cd
}

// camt XML shapes, matched by local name so namespaces of any version bind.
type xAmt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

type xSts struct {
	Text string `xml:",chardata"` // .001.02: <Sts>BOOK</Sts>
	Cd   string `xml:"Cd"`        // .001.08: <Sts><Cd>BOOK</Cd></Sts>
}

type xDate struct {
	Dt   string `xml:"Dt"`
	DtTm string `xml:"DtTm"`
}

type xTx struct {
	AcctSvcrRef string   `xml:"Refs>AcctSvcrRef"`
	EndToEndID  string   `xml:"Refs>EndToEndId"`
	Amt         *xAmt    `xml:"Amt"`
	TxAmt       *xAmt    `xml:"AmtDtls>TxAmt>Amt"`
	CdtDbtInd   string   `xml:"CdtDbtInd"`
	Strd        []xStrd  `xml:"RmtInf>Strd"`
	Ustrd       []string `xml:"RmtInf>Ustrd"`
	DbtrNm      string   `xml:"RltdPties>Dbtr>Nm"`
	DbtrPtyNm   string   `xml:"RltdPties>Dbtr>Pty>Nm"`
	DbtrIBAN    string   `xml:"RltdPties>DbtrAcct>Id>IBAN"`
	RtrRsn      string   `xml:"RtrInf>Rsn>Cd"`
}

type xStrd struct {
	Ref string `xml:"CdtrRefInf>Ref"`
}

type xEntry struct {
	Amt         xAmt   `xml:"Amt"`
	CdtDbtInd   string `xml:"CdtDbtInd"`
	RvslInd     string `xml:"RvslInd"`
	Sts         xSts   `xml:"Sts"`
	BookgDt     xDate  `xml:"BookgDt"`
	ValDt       xDate  `xml:"ValDt"`
	AcctSvcrRef string `xml:"AcctSvcrRef"`
	NtryRef     string `xml:"NtryRef"`
	Txs         []xTx  `xml:"NtryDtls>TxDtls"`
}

// ParseError is a statement the importer refuses, with what is wrong.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return "statement: " + e.Msg }

func parseErr(format string, args ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

// ParseStatement reads a camt.053 (.001.02, .001.08) or camt.054 file with
// encoding/xml: DOCTYPE declarations (and with them entity expansion and
// external entities) are refused, the size and nesting are capped, amounts are
// read as exact decimals, and anything else than a supported namespace is an
// error naming it.
func ParseStatement(r io.Reader) (*Statement, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStatementSize+1))
	if err != nil {
		return nil, fmt.Errorf("statement: read: %w", err)
	}
	if len(data) > MaxStatementSize {
		return nil, parseErr("the file is larger than %d MiB", MaxStatementSize>>20)
	}
	sum := sha256.Sum256(data)
	st := &Statement{SHA256: hex.EncodeToString(sum[:])}

	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		return nil, parseErr("encoding %q: only UTF-8 statements are supported", label)
	}
	var (
		path    []string
		cur     *AccountReport
		text    strings.Builder
		rootOK  bool
		lineNum int
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return nil, pe
			}
			return nil, parseErr("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, parseErr("DOCTYPE and entity declarations are not allowed")
		case xml.ProcInst:
			if t.Target != "xml" {
				return nil, parseErr("processing instruction %q is not allowed", t.Target)
			}
		case xml.StartElement:
			if len(path) == 0 {
				if t.Name.Local != "Document" {
					return nil, parseErr("root element <%s>: want <Document> of camt.053 or camt.054", t.Name.Local)
				}
				format, ok := strings.CutPrefix(t.Name.Space, camtNamespacePrefix)
				if !ok {
					return nil, parseErr("namespace %q is not an ISO 20022 camt namespace", t.Name.Space)
				}
				if !supportedFormats[format] {
					return nil, parseErr("format %s is not supported (supported: camt.053.001.02, camt.053.001.08, camt.054.001.02, camt.054.001.08)", format)
				}
				st.Format, rootOK = format, true
			}
			if len(path) >= maxXMLDepth {
				return nil, parseErr("elements nested deeper than %d levels", maxXMLDepth)
			}
			name := t.Name.Local
			if len(path) == 2 && (name == "Stmt" || name == "Ntfctn") {
				st.Accounts = append(st.Accounts, AccountReport{})
				cur = &st.Accounts[len(st.Accounts)-1]
			}
			if name == "Ntry" && len(path) == 3 && cur != nil {
				var x xEntry
				if err := d.DecodeElement(&x, &t); err != nil {
					return nil, parseErr("entry %d: %v", lineNum+1, err)
				}
				lines, err := entryLines(&x, cur, lineNum)
				if err != nil {
					return nil, err
				}
				lineNum += len(lines)
				cur.Lines = append(cur.Lines, lines...)
				continue
			}
			path = append(path, name)
			text.Reset()
		case xml.CharData:
			if text.Len() < 1024 {
				text.Write(t)
			}
		case xml.EndElement:
			v := strings.TrimSpace(text.String())
			text.Reset()
			p := strings.Join(path, "/")
			switch {
			case strings.HasSuffix(p, "/GrpHdr/MsgId") && len(path) == 4:
				st.MsgID = v
			case cur != nil && len(path) == 4 && path[3] == "Id":
				cur.ID = v
			case cur != nil && strings.HasSuffix(p, "/Acct/Id/IBAN") && len(path) == 6:
				cur.IBAN = strings.ToUpper(strings.ReplaceAll(v, " ", ""))
			case cur != nil && strings.HasSuffix(p, "/Acct/Id/Othr/Id") && len(path) == 7:
				cur.Other = v
			case cur != nil && strings.HasSuffix(p, "/Acct/Ccy") && len(path) == 5:
				cur.Currency = v
			}
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		}
	}
	if !rootOK {
		return nil, parseErr("not a camt document (no <Document> element)")
	}
	if len(st.Accounts) == 0 {
		return nil, parseErr("%s has no Stmt or Ntfctn", st.Format)
	}
	for i, a := range st.Accounts {
		if a.IBAN == "" && a.Other == "" {
			return nil, parseErr("statement %d (%s) names no account (Acct/Id/IBAN or Othr/Id)", i+1, a.ID)
		}
	}
	return st, nil
}

// entryLines turns one Ntry into its lines: one per TxDtls that carries its
// own amount (a batch), else the entry itself with its first TxDtls' details.
func entryLines(x *xEntry, acct *AccountReport, pos int) ([]Line, error) {
	where := fmt.Sprintf("entry %q", x.AcctSvcrRef)
	if x.AcctSvcrRef == "" {
		where = fmt.Sprintf("entry %d of statement %q", pos+1, acct.ID)
	}
	cur := x.Amt.Ccy
	if cur == "" {
		cur = acct.Currency
	}
	amount, err := ParseAmount(x.Amt.Value, cur)
	if err != nil {
		return nil, parseErr("%s: %v", where, err)
	}
	var credit bool
	switch x.CdtDbtInd {
	case "CRDT":
		credit = true
	case "DBIT":
	default:
		return nil, parseErr("%s: CdtDbtInd %q: want CRDT or DBIT", where, x.CdtDbtInd)
	}
	status := strings.TrimSpace(x.Sts.Cd)
	if status == "" {
		status = strings.TrimSpace(x.Sts.Text)
	}
	switch status {
	case "BOOK", "PDNG", "INFO", "FUTR":
	default:
		return nil, parseErr("%s: status %q: want BOOK, PDNG, INFO or FUTR", where, status)
	}
	booked, err := parseCamtDate(x.BookgDt)
	if err != nil && status == "BOOK" {
		return nil, parseErr("%s: booking date: %v", where, err)
	}
	base := Line{
		AcctSvcRef: x.AcctSvcrRef, Currency: cur, Credit: credit, Status: status, BookedAt: booked,
		Reversal: x.RvslInd == "true" || x.RvslInd == "1",
	}

	batch := len(x.Txs) > 1
	if !batch {
		l := base
		l.Amount = amount
		if len(x.Txs) == 1 {
			tx := &x.Txs[0]
			fillFromTx(&l, tx)
			if tx.AcctSvcrRef != "" && l.AcctSvcRef == "" {
				l.AcctSvcRef = tx.AcctSvcrRef
			}
		}
		l.Key = lineKey(acct, &l, pos)
		return []Line{l}, nil
	}
	var lines []Line
	var total int64
	for i := range x.Txs {
		tx := &x.Txs[i]
		a := tx.TxAmt
		if tx.Amt != nil {
			a = tx.Amt
		}
		if a == nil {
			return nil, parseErr("%s: transaction %d of a batch has no amount", where, i+1)
		}
		c := a.Ccy
		if c == "" {
			c = cur
		}
		n, err := ParseAmount(a.Value, c)
		if err != nil {
			return nil, parseErr("%s, transaction %d: %v", where, i+1, err)
		}
		l := base
		l.Amount, l.Currency = n, c
		fillFromTx(&l, tx)
		l.AcctSvcRef = tx.AcctSvcrRef
		if l.AcctSvcRef == "" && x.AcctSvcrRef != "" {
			l.AcctSvcRef = fmt.Sprintf("%s/%d", x.AcctSvcrRef, i+1)
		}
		l.Key = lineKey(acct, &l, pos+i)
		total += n
		lines = append(lines, l)
	}
	if total != amount {
		return nil, parseErr("%s: its transactions add up to %s, the entry says %s", where, FormatAmount(total, cur), FormatAmount(amount, cur))
	}
	return lines, nil
}

func fillFromTx(l *Line, tx *xTx) {
	for _, s := range tx.Strd {
		if s.Ref != "" {
			l.Reference = strings.TrimSpace(s.Ref)
			break
		}
	}
	l.Remittance = strings.TrimSpace(strings.Join(tx.Ustrd, " "))
	l.DebtorName = tx.DbtrNm
	if l.DebtorName == "" {
		l.DebtorName = tx.DbtrPtyNm
	}
	l.DebtorIBAN = strings.ReplaceAll(tx.DbtrIBAN, " ", "")
	l.ReturnCode = tx.RtrRsn
}

// lineKey is the idempotency key of a line: account and the bank's reference,
// or (without one) a hash of what the line says and where it stands.
func lineKey(acct *AccountReport, l *Line, pos int) string {
	account := acct.IBAN
	if account == "" {
		account = acct.Other
	}
	if l.AcctSvcRef != "" {
		return account + "|" + l.AcctSvcRef
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d|%s|%s|%s|%d|%t", acct.ID, account, l.BookedAt.Format("2006-01-02"), l.Amount, l.Currency, l.Reference, l.DebtorIBAN, pos, l.Credit)))
	return account + "|h:" + hex.EncodeToString(h[:12])
}

// parseCamtDate reads Dt (ISODate) or DtTm (ISODateTime, with or without a zone).
func parseCamtDate(d xDate) (time.Time, error) {
	if s := strings.TrimSpace(d.Dt); s != "" {
		return time.Parse("2006-01-02", s)
	}
	if s := strings.TrimSpace(d.DtTm); s != "" {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not an ISO date-time", s)
	}
	return time.Time{}, errors.New("missing")
}
