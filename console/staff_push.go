package console

import (
	"fmt"

	"civicdesk/push"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// forgetStaffPush removes every web push device of staff member staffID. Sign
// out everywhere calls it with the token rotation: a lost laptop or a counter PC
// must stop showing the account's notifications too, not only lose its sign-in.
func forgetStaffPush(txApp core.App, staffID string) error {
	subs, err := txApp.FindAllRecords(push.CollectionSubscriptions, dbx.HashExp{"staff": staffID})
	if err != nil {
		return fmt.Errorf("staff push devices: %w", err)
	}
	for _, sub := range subs {
		if err := txApp.Delete(sub); err != nil {
			return fmt.Errorf("remove staff push device: %w", err)
		}
	}
	return nil
}
