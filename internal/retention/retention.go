// Package retention removes the content of conversations older than their
// account's retention period: messages, notes and attachments are deleted
// and events and webhook payloads stripped of content; the conversation
// rows stay, anonymous, so metrics of the past still add up.
package retention

import (
	"context"
	"time"

	"github.com/parleychat/parley"
)

// batch is how many conversations one erase handles (one transaction).
const batch = 200

// Sweep applies every account's retention at now and returns how many
// conversations it erased.
func Sweep(ctx context.Context, store parley.Store, now time.Time) (int, error) {
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, a := range accounts {
		days := a.Settings.RetentionDays
		if days <= 0 {
			continue
		}
		before := now.Add(-time.Duration(days) * 24 * time.Hour)
		for {
			ids, err := store.ExpiredConversations(ctx, a.ID, before, batch)
			if err != nil {
				return total, err
			}
			if len(ids) == 0 {
				break
			}
			if err := store.EraseConversations(ctx, a.ID, ids); err != nil {
				return total, err
			}
			total += len(ids)
		}
	}
	return total, nil
}
