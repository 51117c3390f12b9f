package conversation

import (
	"context"
	"time"

	"github.com/parleychat/parley"
)

// idleBatch is how many idle conversations one look at the store returns.
const idleBatch = 200

// CloseIdle closes, in every account, the conversations that have waited on
// their visitor longer than the account's auto-close allows (close reason
// parley.CloseInactive) and returns how many it closed:
//   - with the bot, after AutoClose.BotIdle with nothing said;
//   - assigned, after AutoClose.AgentIdle.
//
// A conversation whose last word is the visitor's never closes by itself,
// nor does one in the queue: those wait on the brand. One that changes
// between the look and the close (the visitor came back) stays open: the
// close is conditional on its UpdatedAt.
func CloseIdle(ctx context.Context, store parley.Store, now time.Time) (int, error) {
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, acc := range accounts {
		for _, rule := range []struct {
			state parley.ConversationState
			after time.Duration
		}{
			{parley.StateBot, acc.Settings.AutoClose.BotIdle()},
			{parley.StateAssigned, acc.Settings.AutoClose.AgentIdle()},
		} {
			if rule.after <= 0 {
				continue
			}
			n, err := closeIdleIn(ctx, store, acc.ID, rule.state, now.Add(-rule.after))
			closed += n
			if err != nil {
				return closed, err
			}
		}
	}
	return closed, nil
}

// closeIdleIn closes one account's conversations in a state untouched since
// before, a batch at a time, until none is left (or a batch closes none:
// each was changed or closed by someone else meanwhile, and the next sweep
// looks again).
func closeIdleIn(ctx context.Context, store parley.Store, accountID string, state parley.ConversationState, before time.Time) (int, error) {
	closed := 0
	for {
		idle, err := store.IdleConversations(ctx, accountID, state, before, idleBatch)
		if err != nil || len(idle) == 0 {
			return closed, err
		}
		batch := 0
		for _, ic := range idle {
			_, err := store.CloseConversation(ctx, accountID, ic.ID, parley.ConversationClose{
				Reason: parley.CloseInactive, ClosedBy: "system", IdleSince: ic.UpdatedAt})
			switch parley.ErrorCode(err) {
			case "":
				batch++
			case parley.ECONFLICT: // the visitor came back, or someone closed it first
			default:
				return closed + batch, err
			}
		}
		closed += batch
		if batch == 0 {
			return closed, nil
		}
	}
}
