package payments

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParseStatement feeds arbitrary bytes to the statement parser: it must
// return a statement or an error, never panic, and never accept a DOCTYPE.
func FuzzParseStatement(f *testing.F) {
	for _, name := range []string{"camt053_v02.xml", "camt053_v08.xml", "camt054_v08.xml"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>`))
	f.Add([]byte(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn><Ntfctn><Acct><Id><IBAN>X</IBAN></Id></Acct><Ntry><Amt Ccy="EUR">1.0</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-01-01</Dt></BookgDt></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatement(bytes.NewReader(data))
		if err != nil {
			return
		}
		if bytes.Contains(data, []byte("<!DOCTYPE")) {
			t.Fatal("accepted a DOCTYPE")
		}
		for _, a := range st.Accounts {
			for _, l := range a.Lines {
				if l.Amount < 0 || l.Key == "" {
					t.Fatalf("line %+v", l)
				}
			}
		}
	})
}
