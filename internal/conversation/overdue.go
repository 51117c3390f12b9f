package conversation

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// ReplyOverdue is conversation.reply_overdue's data: a visitor has waited
// on the agent's reply past the account's reply target.
type ReplyOverdue struct {
	ConversationID string    `json:"conversation_id"`
	AssigneeID     string    `json:"assignee_id"`
	MessageSeq     int64     `json:"message_seq"` // the visitor's message that waits
	WaitingSince   time.Time `json:"waiting_since"`
	TargetSeconds  int       `json:"target_seconds"`
}

// OverdueWatch writes conversation.reply_overdue when a visitor has waited
// on the agent's reply past the account's reply target
// (response_target_seconds): once per visitor message that waits, for the
// brand's webhooks (an alert in their team chat) and the conversation's
// Activity. Run by the node that leads; a node that takes over reads the
// conversation's Activity before writing, so a wait is reported once.
type OverdueWatch struct {
	store parley.Store

	mu sync.Mutex
	// reported: per conversation, the visitor message seq this node
	// reported (or found reported), so the next rounds read nothing.
	reported map[string]int64
}

// NewOverdueWatch returns a watch over store.
func NewOverdueWatch(store parley.Store) *OverdueWatch {
	return &OverdueWatch{store: store, reported: map[string]int64{}}
}

// Overdue lists an account's assigned conversations whose visitor's last
// message has waited past the target of the conversation's priority at
// now, with that message: the supervisor's overview counts them per
// agent, and the watch reports them.
func Overdue(ctx context.Context, store parley.Store, accountID string, s parley.AccountSettings, now time.Time) (map[*parley.Conversation]*parley.Message, error) {
	out := map[*parley.Conversation]*parley.Message{}
	if !s.HasResponseTarget() {
		return out, nil
	}
	after := ""
	for {
		page, err := store.ListConversations(ctx, accountID, parley.ConversationFilter{State: parley.StateAssigned, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(page))
		for i, c := range page {
			ids[i] = c.ID
		}
		last, err := store.LastMessages(ctx, accountID, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			target := s.ResponseTarget(c.Priority)
			if m := last[c.ID]; m != nil && target > 0 && m.SenderKind == parley.SenderConsumer && now.Sub(m.CreatedAt) >= target {
				out[c] = m
			}
		}
		if len(page) < 500 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// Sweep reports the waits that passed their account's target since the
// last round.
func (w *OverdueWatch) Sweep(ctx context.Context, now time.Time) error {
	accounts, err := w.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, acc := range accounts {
		overdue, err := Overdue(ctx, w.store, acc.ID, acc.Settings, now)
		if err != nil {
			return err
		}
		for c, m := range overdue {
			seen[c.ID] = true
			w.mu.Lock()
			done := w.reported[c.ID] == m.Seq
			w.mu.Unlock()
			if done {
				continue
			}
			if err := w.report(ctx, c, m, int(acc.Settings.ResponseTarget(c.Priority)/time.Second)); err != nil {
				return err
			}
			w.mu.Lock()
			w.reported[c.ID] = m.Seq
			w.mu.Unlock()
		}
	}
	w.mu.Lock()
	for id := range w.reported {
		if !seen[id] {
			delete(w.reported, id) // answered, closed or moved: forgotten
		}
	}
	w.mu.Unlock()
	return nil
}

// report writes the event unless the conversation's Activity has it for
// this message already (another node led when it passed its target).
func (w *OverdueWatch) report(ctx context.Context, c *parley.Conversation, m *parley.Message, target int) error {
	events, err := w.store.ConversationActivity(ctx, c.AccountID, c.ID, 500)
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Type != parley.EventReplyOverdue {
			continue
		}
		var r ReplyOverdue
		if json.Unmarshal(e.Data, &r) == nil && r.MessageSeq == m.Seq {
			return nil
		}
	}
	data, _ := json.Marshal(ReplyOverdue{ConversationID: c.ID, AssigneeID: c.AssigneeID, MessageSeq: m.Seq, WaitingSince: m.CreatedAt, TargetSeconds: target})
	return w.store.AppendEvent(ctx, &parley.Event{AccountID: c.AccountID, Type: parley.EventReplyOverdue, ConversationID: c.ID, Data: data})
}
