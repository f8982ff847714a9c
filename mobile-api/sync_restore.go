package mobileapi

import (
	"bytes"

	"civicdesk/receipts"

	"github.com/pocketbase/pocketbase/core"
)

// maxReceiptArg bounds request.create's receipt arg (a CR1 code is ~300 characters).
const maxReceiptArg = 1024

// keptNumber returns the request number proved by receipt, the `received`
// receipt a phone holds for a request it re-pushes after the server was
// restored ("" when it proves nothing): the signature must verify with this
// server's keys, the holder must be the citizen and the service the request's.
// The create hook then reinstates the number if no other request holds it.
func keptNumber(tx core.App, citizenID, serviceCode, code string) string {
	if code == "" {
		return ""
	}
	set, err := receipts.Of(tx).Keys()
	if err != nil {
		tx.Logger().Warn("civicdesk: re-pushed receipt not checked", "error", err)
		return ""
	}
	v, verr := set.Verify(code)
	if verr != nil {
		tx.Logger().Warn("civicdesk: a re-pushed request's receipt does not verify; it gets a new number", "reason", verr.Reason, "detail", verr.Detail)
		return ""
	}
	c := v.Claims
	if c.Kind() != receipts.KindReceived || c.Service != serviceCode || !bytes.Equal(c.Holder, set.HolderTag(citizenID)) {
		tx.Logger().Warn("civicdesk: a re-pushed request's receipt is not its own; it gets a new number", "number", c.Number)
		return ""
	}
	return c.Number
}
