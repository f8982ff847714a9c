// Package payments is civicdesk's cashless fees: the fee and its append-only
// ledger, the payment codes of each partner country (EPC QR with ISO 11649 or
// Estonian references, the Hungarian MNB QR, Swish and Bankgiro OCR, UK bank
// transfers), bank statement reconciliation (camt.053 / camt.054) and signed
// payment receipts. Providers (bank rails here, PSP platforms as adapters)
// implement Provider. See docs/payments.md.
package payments
