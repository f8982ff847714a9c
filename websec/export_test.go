package websec

// AddressKey exposes addressKey to the external tests.
var AddressKey = addressKey
