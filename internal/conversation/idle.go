package conversation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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
// With AutoClose.WarnMinutes set, it first asks the visitor whether they
// are still there, that long before the close; the question is a system
// message (the notice idle_warning), so the conversation's clock starts
// again from it, and the close comes WarnMinutes after it.
//
// A conversation whose last word is the visitor's never closes by itself,
// nor does one in the queue: those wait on the brand; nor one an agent
// snoozed, while it is snoozed. One that changes
// between the look and the close (the visitor came back) stays open: the
// close is conditional on its UpdatedAt.
func CloseIdle(ctx context.Context, store parley.Store, now time.Time) (int, error) {
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, acc := range accounts {
		ac := acc.Settings.AutoClose
		warn := time.Duration(ac.WarnMinutes) * time.Minute
		for _, rule := range []struct {
			state parley.ConversationState
			after time.Duration
		}{
			{parley.StateBot, ac.BotIdle()},
			{parley.StateAssigned, ac.AgentIdle()},
		} {
			if rule.after <= 0 {
				continue
			}
			asked := map[string]bool{}
			if warn > 0 && warn < rule.after {
				if err := warnIdleIn(ctx, store, acc.ID, rule.state, now, now.Add(-(rule.after - warn)), ac.WarnMinutes, asked); err != nil {
					return closed, err
				}
			}
			n, err := closeIdleIn(ctx, store, acc.ID, rule.state, now, rule.after, warn, asked)
			closed += n
			if err != nil {
				return closed, err
			}
		}
	}
	return closed, nil
}

// idleWarningPrefix starts the client ID of the "are you still there?"
// message; the rest is the conversation's UpdatedAt when it was asked, so
// a sweep that runs again asks once.
const idleWarningPrefix = "idle-warning:"

func warned(ic parley.IdleConversation) bool {
	return strings.HasPrefix(ic.LastSystemClientID, idleWarningPrefix)
}

// warnIdleIn asks the visitors of one account's conversations in a state,
// untouched since before and not asked yet, whether they are still there,
// and notes each in asked. It pages by UpdatedAt: each question moves its
// conversation out of the next page.
func warnIdleIn(ctx context.Context, store parley.Store, accountID string, state parley.ConversationState, now, before time.Time, minutes int, asked map[string]bool) error {
	text := fmt.Sprintf("Are you still there? This conversation will close in %d minutes if we don't hear from you.", minutes)
	for {
		idle, err := store.IdleConversations(ctx, accountID, state, before, idleBatch)
		if err != nil {
			return err
		}
		n := 0
		for _, ic := range idle {
			if warned(ic) || ic.Snoozed(now) {
				continue
			}
			_, _, err := store.AppendMessage(ctx, &parley.Message{AccountID: accountID, ConversationID: ic.ID, SenderKind: parley.SenderSystem,
				ClientID: idleWarningPrefix + strconv.FormatInt(ic.UpdatedAt.UnixMicro(), 10), Type: parley.MessageText, Text: text,
				Notice: &parley.Notice{Code: parley.NoticeIdleWarning, Args: map[string]string{"minutes": strconv.Itoa(minutes)}}})
			switch parley.ErrorCode(err) {
			case "":
				n++
				asked[ic.ID] = true
			case parley.ECONFLICT: // closed meanwhile
			default:
				return err
			}
		}
		switch {
		case len(idle) < idleBatch:
			return nil
		case n == 0: // a full page of asked or snoozed ones: look past it
			before = idle[len(idle)-1].UpdatedAt
		}
	}
}

// closeIdleIn closes one account's conversations in a state that have
// waited on their visitor: for after, or, once asked whether they are
// still there, for warn since the question — never one asked in this
// same sweep (asked). It goes a batch at a time until none is left.
func closeIdleIn(ctx context.Context, store parley.Store, accountID string, state parley.ConversationState, now time.Time, after, warn time.Duration, asked map[string]bool) (int, error) {
	closed := 0
	before := now.Add(-after)
	if warn > 0 && warn < after {
		before = now.Add(-warn) // the asked ones; the others are asked first
	}
	for {
		idle, err := store.IdleConversations(ctx, accountID, state, before, idleBatch)
		if err != nil || len(idle) == 0 {
			return closed, err
		}
		batch := 0
		for _, ic := range idle {
			if warn > 0 && warn < after && (!warned(ic) || asked[ic.ID]) {
				continue // not asked yet (warnIdleIn asks first), or only just
			}
			if ic.Snoozed(now) {
				continue // an agent put it aside: it waits until then
			}
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
		switch {
		case len(idle) < idleBatch:
			return closed, nil
		case batch == 0:
			// A full page of conversations not asked yet, or changed
			// meanwhile: look past it (those stamped in the same
			// microsecond as its last wait for the next sweep).
			before = idle[len(idle)-1].UpdatedAt
		}
	}
}
