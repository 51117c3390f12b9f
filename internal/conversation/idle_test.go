package conversation_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/sqlstore"
)

// TestIdleConversationsCloseByTheAccountsRules: auto-close closes what waits
// on a visitor who went away — bot conversations by default after 30
// minutes, assigned ones only when the account asks — and never one whose
// last word is the visitor's, nor a queued one.
func TestIdleConversationsCloseByTheAccountsRules(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	off, hour := 0, 60
	w := world{t: t, db: db, account: map[string]string{}}
	byDefault := w.newAccount(parley.AutoClose{})                                      // bot after 30 min; assigned never
	agentsOnly := w.newAccount(parley.AutoClose{BotMinutes: &off, AgentMinutes: hour}) // bot never; assigned after 1 h

	botAnswered := w.conv(byDefault, parley.StateBot, parley.SenderConsumer, parley.SenderBot)
	botSilent := w.conv(byDefault, parley.StateBot)
	botUnanswered := w.conv(byDefault, parley.StateBot, parley.SenderBot, parley.SenderConsumer)
	queued := w.conv(byDefault, parley.StateQueued, parley.SenderConsumer)
	agentLastByDefault := w.conv(byDefault, parley.StateAssigned, parley.SenderConsumer, parley.SenderAgent)
	botOff := w.conv(agentsOnly, parley.StateBot, parley.SenderBot)
	agentLast := w.conv(agentsOnly, parley.StateAssigned, parley.SenderConsumer, parley.SenderAgent)
	visitorLast := w.conv(agentsOnly, parley.StateAssigned, parley.SenderAgent, parley.SenderConsumer)
	start := time.Now()

	for _, step := range []struct {
		after  time.Duration
		closed []string
	}{
		{29 * time.Minute, nil},
		{31 * time.Minute, []string{botAnswered, botSilent}},
		{59 * time.Minute, nil},
		{61 * time.Minute, []string{agentLast}},
		{30 * 24 * time.Hour, nil}, // the rest wait on the brand, or their rule is off
	} {
		n, err := conversation.CloseIdle(ctx, db, start.Add(step.after))
		if err != nil || n != len(step.closed) {
			t.Fatalf("sweep at +%s closed %d (%v), want %v", step.after, n, err, step.closed)
		}
		for _, id := range step.closed {
			if c := w.find(id); c.State != parley.StateClosed || c.CloseReason != parley.CloseInactive || c.ClosedBy != "system" {
				t.Fatalf("at +%s: %s is %s (%q by %q), want closed as inactive by the system", step.after, id, c.State, c.CloseReason, c.ClosedBy)
			}
		}
	}
	for id, state := range map[string]parley.ConversationState{botUnanswered: parley.StateBot, queued: parley.StateQueued,
		agentLastByDefault: parley.StateAssigned, botOff: parley.StateBot, visitorLast: parley.StateAssigned} {
		if c := w.find(id); c.State != state {
			t.Fatalf("%s is %s, want it left %s", id, c.State, state)
		}
	}
}

// TestAVisitorWhoComesBackKeepsTheConversation: the visitor writes between
// the sweep's look and its close; the close is refused and the
// conversation stays with the bot. More idle conversations than one batch
// all close.
func TestAVisitorWhoComesBackKeepsTheConversation(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	w := world{t: t, db: db, account: map[string]string{}}
	acc := w.newAccount(parley.AutoClose{})
	var ids []string
	for range 250 {
		ids = append(ids, w.conv(acc, parley.StateBot, parley.SenderBot))
	}
	back := ids[0]
	racing := &comingBack{Store: db, t: t, conversation: back}
	n, err := conversation.CloseIdle(ctx, racing, time.Now().Add(time.Hour))
	if err != nil || n != len(ids)-1 {
		t.Fatalf("closed %d (%v), want %d", n, err, len(ids)-1)
	}
	if c := w.find(back); c.State != parley.StateBot {
		t.Fatalf("the conversation its visitor came back to is %s", c.State)
	}
	for _, id := range ids[1:] {
		if c := w.find(id); c.State != parley.StateClosed {
			t.Fatalf("%s is %s, want closed", id, c.State)
		}
	}
}

// comingBack is a store whose visitor writes to one conversation right
// after the sweep first lists it idle.
type comingBack struct {
	parley.Store
	t            *testing.T
	conversation string
	wrote        bool
}

func (s *comingBack) IdleConversations(ctx context.Context, accountID string, state parley.ConversationState, before time.Time, limit int) ([]parley.IdleConversation, error) {
	idle, err := s.Store.IdleConversations(ctx, accountID, state, before, limit)
	if err == nil && !s.wrote {
		s.wrote = true
		c, _ := s.Store.FindConversation(ctx, accountID, s.conversation)
		if _, _, err := s.Store.AppendMessage(ctx, &parley.Message{AccountID: accountID, ConversationID: c.ID, SenderKind: parley.SenderConsumer,
			SenderID: c.ConsumerID, Type: parley.MessageText, Text: "sorry, I'm back"}); err != nil {
			s.t.Fatal(err)
		}
	}
	return idle, err
}

// world builds accounts and conversations in a real store.
type world struct {
	t       *testing.T
	db      *sqlstore.DB
	n       int
	account map[string]string // conversation ID to account ID
}

func (w *world) newAccount(ac parley.AutoClose) *parley.Account {
	w.t.Helper()
	acc := &parley.Account{Name: "Acme", Settings: parley.AccountSettings{AutoClose: ac}}
	if err := w.db.CreateAccount(context.Background(), acc); err != nil {
		w.t.Fatal(err)
	}
	return acc
}

// conv opens a conversation in state whose messages come from says, in order.
func (w *world) conv(acc *parley.Account, state parley.ConversationState, says ...parley.SenderKind) string {
	w.t.Helper()
	ctx := context.Background()
	visitor := &parley.Consumer{AccountID: acc.ID}
	if err := w.db.CreateConsumer(ctx, visitor); err != nil {
		w.t.Fatal(err)
	}
	opens := state
	if state == parley.StateAssigned {
		opens = parley.StateQueued
	}
	c, err := w.db.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, State: opens})
	if err != nil {
		w.t.Fatal(err)
	}
	agent := ""
	if state == parley.StateAssigned {
		w.n++
		u := &parley.User{AccountID: acc.ID, Email: "agent" + string(rune('a'+w.n)) + "@acme.example", Name: "Agent", Role: parley.RoleAgent, MaxConcurrent: 5, Active: true}
		if err := w.db.CreateUser(ctx, u); err != nil {
			w.t.Fatal(err)
		}
		if _, err := w.db.ClaimConversation(ctx, acc.ID, c.ID, u.ID); err != nil {
			w.t.Fatal(err)
		}
		agent = u.ID
	}
	for _, kind := range says {
		m := &parley.Message{AccountID: acc.ID, ConversationID: c.ID, SenderKind: kind, Type: parley.MessageText, Text: "line"}
		switch kind {
		case parley.SenderConsumer:
			m.SenderID = visitor.ID
		case parley.SenderAgent:
			m.SenderID = agent
		}
		if _, _, err := w.db.AppendMessage(ctx, m); err != nil {
			w.t.Fatal(err)
		}
	}
	w.account[c.ID] = acc.ID
	return c.ID
}

func (w *world) find(id string) *parley.Conversation {
	w.t.Helper()
	c, err := w.db.FindConversation(context.Background(), w.account[id], id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}
