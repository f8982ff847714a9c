package receipts

import (
	"strconv"
	"unicode/utf8"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// validateServiceLimits keeps services within what a receipt can carry: the
// service code is claim 3 and the fee becomes claim 5 (see Field caps).
func validateServiceLimits(e *core.RecordEvent) error {
	errs := validation.Errors{}
	if code := e.Record.GetString("code"); utf8.RuneCountInString(code) > MaxServiceLen {
		errs["code"] = validation.NewError("validation_receipt_limit", "A service code used on receipts has at most "+strconv.Itoa(MaxServiceLen)+" characters.")
	}
	if fee := e.Record.GetInt("fee"); fee > MaxAmount {
		errs["fee"] = validation.NewError("validation_receipt_limit", "The fee must be at most "+strconv.FormatUint(MaxAmount, 10)+" minor units.")
	}
	if len(errs) > 0 {
		return errs
	}
	return e.Next()
}

// validateRequestLimits keeps the payment fields of a request within the
// payment receipt's caps, so recording a payment never fails at signing time.
func validateRequestLimits(e *core.RecordEvent) error {
	errs := validation.Errors{}
	if ref := e.Record.GetString("payment_ref"); len(ref) > MaxPaymentRefLen {
		errs["payment_ref"] = validation.NewError("validation_receipt_limit", "A payment reference has at most "+strconv.Itoa(MaxPaymentRefLen)+" bytes (it is printed in the receipt's QR code).")
	}
	if fee := e.Record.GetInt("fee"); fee > MaxAmount {
		errs["fee"] = validation.NewError("validation_receipt_limit", "The fee must be at most "+strconv.FormatUint(MaxAmount, 10)+" minor units.")
	}
	if len(errs) > 0 {
		return errs
	}
	return e.Next()
}
