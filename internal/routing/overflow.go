package routing

import (
	"context"
	"slices"
	"time"

	"github.com/parleychat/parley"
)

// RequeueOverflow is the requeue reason of a conversation a skill's
// overflow moved.
const RequeueOverflow = "overflow"

// Overflow moves the conversations that have waited in a skill's queue
// for its overflow time to the queue it overflows to (docs/routing.md,
// Overflow): the visitor keeps their place in time (queued_at), so in the
// new queue they come before those who arrived after them. It counts from
// when the conversation entered the queue, so a transfer to a skill is
// not undone at once for a visitor who had waited long elsewhere. Each
// move applies only while the conversation still waits in that skill: an
// agent who claims it meanwhile keeps it. A skill with OverflowUnstaffed
// moves its waiting conversations at once while staffed (nil: always)
// says no one with the skill is online, or outside its own hours. Run by the node that leads; it
// returns how many conversations moved.
func Overflow(ctx context.Context, store parley.Store, now time.Time, staffed func(ctx context.Context, accountID, skillID string) (bool, error)) (int, error) {
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, acc := range accounts {
		skills, err := store.ListSkills(ctx, acc.ID)
		if err != nil {
			return moved, err
		}
		for _, sk := range skills {
			if sk.OverflowAfterSeconds <= 0 {
				continue
			}
			after := time.Duration(sk.OverflowAfterSeconds) * time.Second
			if sk.OverflowUnstaffed && sk.Hours != nil && !sk.Hours.Open(now) {
				after = 0 // outside the skill's own hours: no one to wait for
			} else if sk.OverflowUnstaffed && staffed != nil {
				on, err := staffed(ctx, acc.ID, sk.ID)
				if err != nil {
					return moved, err
				}
				if !on {
					after = 0 // no one to wait for
				}
			}
			queued, err := store.ListConversations(ctx, acc.ID, parley.ConversationFilter{State: parley.StateQueued, Skill: sk.ID, QueueOrder: true, Limit: 1000})
			if err != nil {
				return moved, err
			}
			for _, c := range queued {
				if c.QueueEnteredAt == nil || now.Sub(*c.QueueEnteredAt) < after {
					continue
				}
				_, err := store.RequeueConversation(ctx, acc.ID, c.ID, parley.Requeue{ChangeSkill: true, Skill: sk.OverflowTo,
					Reason: RequeueOverflow, ExpectQueuedIn: sk.ID})
				switch parley.ErrorCode(err) {
				case "":
					moved++
				case parley.ECONFLICT, parley.ENOTFOUND, parley.EINVALID:
					// Claimed or closed meanwhile, or the target skill went.
				default:
					return moved, err
				}
			}
		}
	}
	return moved, nil
}

// Staffed reports whether someone active with the skill is online, on
// any node of the cluster (busy or not: the overflow time covers busy).
func (e *Engine) Staffed(ctx context.Context, accountID, skillID string) (bool, error) {
	users, err := e.store.ListUsers(ctx, accountID)
	if err != nil {
		return false, err
	}
	for _, u := range users {
		if u.Active && slices.Contains(u.Skills, skillID) && e.Presence(accountID, u.ID) == Online {
			return true, nil
		}
	}
	return false, nil
}
