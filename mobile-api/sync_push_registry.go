package mobileapi

import (
	"encoding/json"
	"sync"

	"github.com/pocketbase/pocketbase/core"
)

// MutationHandler is a sync mutation that another room adds with
// RegisterMutation, so mobileapi needs not import it (consultations registers
// ballot.cast this way).
type MutationHandler struct {
	// Parse decodes and checks the args before the push transaction starts
	// (the single writer is not held meanwhile). An error refuses the
	// mutation without writing anything: make it with Reject to choose the
	// code; any other error is invalid_args.
	Parse func(args json.RawMessage) (any, error)
	// Apply performs the parsed mutation inside the push transaction tx
	// (use only tx). An error made with Reject is a permanent rejection
	// (its writes roll back, lastMutationID advances); other errors are
	// classified as for the built-in mutations (busy storage: 503 and retry).
	Apply func(tx core.App, citizenID string, m Mutation, parsed any) error
}

var (
	registryMu sync.RWMutex
	registry   = map[string]MutationHandler{}
)

// RegisterMutation makes name a push mutation handled by h. Names are global
// to the process (they are code, not data); registering a name again replaces
// the handler, so each test app may register its own.
func RegisterMutation(name string, h MutationHandler) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = h
}

func registeredMutation(name string) (MutationHandler, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	h, ok := registry[name]
	return h, ok && h.Parse != nil && h.Apply != nil
}

// Reject returns the error a MutationHandler returns to refuse a mutation
// for good with code (snake_case, documented in docs/sync-protocol.md),
// the field at fault (may be empty) and a message the app shows.
func Reject(code, field, msg string) error { return reject(code, field, msg) }

// DecodeArgs decodes a mutation's args into dst, refusing unknown fields and
// empty args with invalid_args (as for the built-in mutations).
func DecodeArgs(raw json.RawMessage, dst any) error {
	if rej := decodeArgs(raw, dst); rej != nil {
		return &rejection{*rej}
	}
	return nil
}

// extMutation is a registered mutation's handler and parsed args.
type extMutation struct {
	h    MutationHandler
	args any
}

// parseRegistered parses a mutation of a registered name; ok is false for
// names nobody registered.
func parseRegistered(m Mutation) (parsedMutation, bool) {
	h, ok := registeredMutation(m.Name)
	if !ok {
		return parsedMutation{}, false
	}
	v, err := h.Parse(m.Args)
	if err != nil {
		if rej, isRej := err.(*rejection); isRej {
			e := rej.mutationError
			return parsedMutation{invalid: &e}, true
		}
		return parsedMutation{invalid: &mutationError{Code: "invalid_args", Message: "The mutation's args are invalid: " + err.Error()}}, true
	}
	return parsedMutation{ext: &extMutation{h: h, args: v}}, true
}
