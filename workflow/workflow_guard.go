package workflow

import "github.com/pocketbase/pocketbase/core"

// expectedKey carries the `updated` value a client saw when it opened a record.
const expectedKey = "@civicdesk.expectedUpdated"

// ExpectUpdated tells hooks/ that the next save of rec must fail with 412
// changed_since_opened unless the stored record's `updated` still equals
// updated (the console's If-Match guard; empty = no guard).
func ExpectUpdated(rec *core.Record, updated string) {
	rec.Set(expectedKey, updated)
}

// ExpectedUpdated returns what ExpectUpdated stored ("" when unset).
func ExpectedUpdated(rec *core.Record) string {
	s, _ := rec.GetRaw(expectedKey).(string)
	return s
}

// contactKey carries the contact fields a staff member filed on behalf of a person.
const contactKey = "@civicdesk.officeContact"

// OfficeContact are the contact fields of a request filed at the counter.
type OfficeContact struct {
	Name, Email, Phone string
}

// SetOfficeContact attaches the contact fields of a request staff file on
// behalf of a person (the records API hides these fields from non-superusers).
func SetOfficeContact(rec *core.Record, c OfficeContact) {
	rec.Set(contactKey, c)
}

// OfficeContactOf returns what SetOfficeContact stored.
func OfficeContactOf(rec *core.Record) (OfficeContact, bool) {
	c, ok := rec.GetRaw(contactKey).(OfficeContact)
	return c, ok
}
