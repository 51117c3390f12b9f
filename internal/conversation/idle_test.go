package conversation_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// TestTheVisitorIsAskedBeforeTheClose: with warn_minutes, a quiet visitor
// is asked whether they are still there that long before the close — once
// — and the close comes that long after the question; a visitor who
// answers the question keeps the conversation. A warning as long as the
// wait it precedes is refused.
func TestTheVisitorIsAskedBeforeTheClose(t *testing.T) {
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Microsecond)
	var clock atomic.Int64 // the store's and the sweeps' time
	clock.Store(start.UnixMicro())
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{Now: func() time.Time { return time.UnixMicro(clock.Load()).UTC() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := world{t: t, db: db, account: map[string]string{}}
	acc := w.newAccount(parley.AutoClose{WarnMinutes: 5}) // bot: asked at 25 min, closed 5 min later
	quiet := w.conv(acc, parley.StateBot, parley.SenderConsumer, parley.SenderBot)
	answers := w.conv(acc, parley.StateBot, parley.SenderConsumer, parley.SenderBot)
	questions := func(id string) []*parley.Message {
		t.Helper()
		msgs, err := db.ListMessages(ctx, acc.ID, id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []*parley.Message
		for _, m := range msgs {
			if m.Notice != nil && m.Notice.Code == parley.NoticeIdleWarning {
				out = append(out, m)
			}
		}
		return out
	}
	sweep := func(after time.Duration, wantClosed int) {
		t.Helper()
		clock.Store(start.Add(after).UnixMicro())
		if n, err := conversation.CloseIdle(ctx, db, start.Add(after)); err != nil || n != wantClosed {
			t.Fatalf("sweep at +%s closed %d (%v), want %d", after, n, err, wantClosed)
		}
	}
	sweep(24*time.Minute, 0)
	if q := questions(quiet); len(q) != 0 {
		t.Fatalf("asked at +24 min: %+v", q)
	}
	sweep(26*time.Minute, 0)
	sweep(26*time.Minute, 0) // a second sweep asks nobody again
	q := questions(quiet)
	if len(q) != 1 || q[0].SenderKind != parley.SenderSystem || q[0].Notice.Args["minutes"] != "5" ||
		q[0].Text != "Are you still there? This conversation will close in 5 minutes if we don't hear from you." {
		t.Fatalf("the question: %+v", q)
	}
	if len(questions(answers)) != 1 {
		t.Fatal("the other visitor was not asked")
	}
	clock.Store(start.Add(27 * time.Minute).UnixMicro())
	c := w.find(answers)
	if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: answers, SenderKind: parley.SenderConsumer,
		SenderID: c.ConsumerID, Type: parley.MessageText, Text: "yes, still here"}); err != nil {
		t.Fatal(err)
	}
	// Asked at +26 min: still open at +30, closed five minutes after the question.
	sweep(30*time.Minute, 0)
	sweep(31*time.Minute+time.Second, 1)
	if c := w.find(quiet); c.State != parley.StateClosed || c.CloseReason != parley.CloseInactive {
		t.Fatalf("the quiet visitor's conversation is %s (%q)", c.State, c.CloseReason)
	}
	if c := w.find(answers); c.State != parley.StateBot {
		t.Fatalf("the conversation whose visitor answered is %s", c.State)
	}

	for _, bad := range []parley.AutoClose{{WarnMinutes: 30}, {WarnMinutes: 45}, {AgentMinutes: 10, WarnMinutes: 10}, {WarnMinutes: -1}} {
		if err := bad.Validate(); parley.ErrorCode(err) != parley.EINVALID || !strings.Contains(err.Error(), "warn_minutes") {
			t.Fatalf("%+v: %v, want invalid naming warn_minutes", bad, err)
		}
	}
	off := 0
	if err := (parley.AutoClose{BotMinutes: &off, AgentMinutes: 60, WarnMinutes: 50}).Validate(); err != nil {
		t.Fatalf("a warning shorter than the only wait that is on: %v", err)
	}
}

// TestASnoozedConversationWaitsForItsTime: an agent snoozed an assigned
// conversation until two hours on; auto-close, set to an hour, leaves it
// while it is snoozed and closes it once the snooze ran out.
func TestASnoozedConversationWaitsForItsTime(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	w := world{t: t, db: db, account: map[string]string{}}
	acc := w.newAccount(parley.AutoClose{AgentMinutes: 60})
	snoozed := w.conv(acc, parley.StateAssigned, parley.SenderConsumer, parley.SenderAgent)
	start := time.Now()
	until := start.Add(2 * time.Hour)
	if _, err := db.SnoozeConversation(ctx, acc.ID, snoozed, &until, "usr_x"); err != nil {
		t.Fatal(err)
	}
	if n, err := conversation.CloseIdle(ctx, db, start.Add(61*time.Minute)); err != nil || n != 0 {
		t.Fatalf("while snoozed the sweep closed %d (%v)", n, err)
	}
	if c := w.find(snoozed); c.State != parley.StateAssigned {
		t.Fatalf("the snoozed conversation is %s", c.State)
	}
	if n, err := conversation.CloseIdle(ctx, db, until.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("after the snooze the sweep closed %d (%v), want 1", n, err)
	}
}
