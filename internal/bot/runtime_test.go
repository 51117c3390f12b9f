package bot_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/bot/demo"
	"github.com/parleychat/parley/internal/sqlstore"
)

// events records what the store publishes, so a test can hand the runtime
// exactly the events a real bus would.
type events struct{ list []*parley.Event }

func (e *events) Publish(_ context.Context, es []*parley.Event) error {
	e.list = append(e.list, es...)
	return nil
}
func (e *events) Subscribe(func(*parley.Event)) func() { return func() {} }

func (e *events) last(typ string) *parley.Event {
	for i := len(e.list) - 1; i >= 0; i-- {
		if e.list[i].Type == typ {
			return e.list[i]
		}
	}
	return nil
}

type fixture struct {
	store    *sqlstore.DB
	bus      *events
	account  *parley.Account
	consumer *parley.Consumer
}

func setup(t testing.TB) fixture {
	t.Helper()
	bus := &events{}
	store, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	a := &parley.Account{Name: "Northwind"}
	store.CreateAccount(ctx, a)
	store.CreateSkill(ctx, &parley.Skill{AccountID: a.ID, Name: "general"})
	c := &parley.Consumer{AccountID: a.ID}
	store.CreateConsumer(ctx, c)
	if _, _, err := bot.Save(ctx, store, a.ID, "northwind.yaml", demo.Northwind, 0, bot.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	return fixture{store, bus, a, c}
}

func newRuntime(f fixture) *bot.Runtime {
	return bot.NewRuntime(f.store, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

// say stores a visitor message and lets the runtime take its turn.
func (f fixture) say(t *testing.T, r *bot.Runtime, conv *parley.Conversation, text string) []*parley.Message {
	t.Helper()
	ctx := context.Background()
	m, _, err := f.store.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer,
		SenderID: f.consumer.ID, Type: parley.MessageText, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Turn(ctx, f.bus.last(parley.EventMessageCreated)); err != nil {
		t.Fatal(err)
	}
	after, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, m.Seq, 1000)
	return after
}

func TestTheBotLeavesConversationsWithPeopleAlone(t *testing.T) {
	f := setup(t)
	r := newRuntime(f)
	conv, _ := f.store.OpenConversation(context.Background(), f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if replies := f.say(t, r, conv, "How long does delivery take?"); len(replies) != 0 {
		t.Fatalf("the bot answered in a queued conversation: %+v", replies[0])
	}
}

func TestAFlowContinuesAcrossRestartsAndKeepsWhatTheVisitorSaid(t *testing.T) {
	f := setup(t)
	conv, _ := f.store.OpenConversation(context.Background(), f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	r := newRuntime(f)
	if got := f.say(t, r, conv, "where is my order"); len(got) != 1 || !strings.Contains(got[0].Text, "order number") {
		t.Fatalf("flow start: %+v", got)
	}
	f.say(t, r, conv, "100234")
	// A new runtime (a restarted server) picks the flow up where it was.
	r = newRuntime(f)
	got := f.say(t, r, conv, "jo@example.com")
	if len(got) != 1 || got[0].Text != "Is anything wrong with the parcel?" || got[0].Type != parley.MessageQuickReplies {
		t.Fatalf("after restart: %+v", got)
	}
	got = f.say(t, r, conv, "It arrived damaged")
	if len(got) != 1 || !strings.Contains(got[0].Text, "passing you to our team") {
		t.Fatalf("handoff: %+v", got)
	}
	c, _ := f.store.FindConversation(context.Background(), f.account.ID, conv.ID)
	if c.State != parley.StateQueued || c.Skill == "" {
		t.Fatalf("after the flow's handoff: %+v", c)
	}
	consumer, _ := f.store.FindConsumer(context.Background(), f.account.ID, f.consumer.ID)
	if consumer.Email != "jo@example.com" || consumer.Attributes["order_number"] != "100234" || consumer.Attributes["parcel_problem"] != "It arrived damaged" {
		t.Fatalf("visitor: %+v", consumer)
	}
	var handoff map[string]any
	json.Unmarshal(f.bus.last(parley.EventBotHandoff).Data, &handoff)
	if handoff["reason"] != bot.ReasonFlow || handoff["intent"] != "intent:track_order" {
		t.Fatalf("handoff event %v", handoff)
	}
	// A visitor message after the handoff gets no bot answer.
	if got := f.say(t, r, conv, "hello?"); len(got) != 0 {
		t.Fatalf("the bot answered after the handoff: %+v", got[0])
	}
}

func TestAGreetingOpensTheConversation(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	cfg, _, _ := bot.Load(ctx, f.store, f.account.ID)
	cfg.Greeting = "Hi! I'm the **Northwind** assistant."
	if _, err := f.store.PutBot(ctx, f.account.ID, cfg.JSON(), 0); err != nil {
		t.Fatal(err)
	}
	conv, _ := f.store.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	r := newRuntime(f)
	if err := r.Turn(ctx, f.bus.last(parley.EventConversationOpened)); err != nil {
		t.Fatal(err)
	}
	msgs, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10)
	if len(msgs) != 1 || msgs[0].SenderKind != parley.SenderBot || !strings.Contains(msgs[0].HTML, "<strong>Northwind</strong>") {
		t.Fatalf("greeting: %+v", msgs)
	}
	// Taking the same turn twice (a retry, a second node) sends nothing new.
	r.Turn(ctx, f.bus.last(parley.EventConversationOpened))
	if again, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10); len(again) != 1 {
		t.Fatalf("greeting sent %d times", len(again))
	}
}

func TestARestartAnswersWhatTheVisitorAskedMeanwhile(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	conv, _ := f.store.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	// The visitor's question is stored, and the server stops before the bot answers.
	if _, _, err := f.store.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer,
		SenderID: f.consumer.ID, Type: parley.MessageText, Text: "How long does delivery take?"}); err != nil {
		t.Fatal(err)
	}
	run := func() {
		r := newRuntime(f)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { r.Run(runCtx); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			msgs, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10)
			if len(msgs) >= 3 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond) // polling the store for the answer, with a deadline
		}
		stop()
		<-done
	}
	run()
	msgs, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10)
	if len(msgs) != 3 || !strings.Contains(msgs[1].Text, "Standard delivery") || msgs[2].Text != "Did this help?" {
		t.Fatalf("after restart: %d messages", len(msgs))
	}
	// Answering the same question again (a recovery racing a live turn) sends nothing twice.
	if err := newRuntime(f).Turn(ctx, &parley.Event{AccountID: f.account.ID, Type: parley.EventMessageCreated, ConversationID: conv.ID,
		MessageSeq: msgs[0].Seq, Data: mustJSON(t, msgs[0])}); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10); len(again) != 3 {
		t.Fatalf("answering again sent %d more", len(again)-3)
	}
	// Nor is the answer counted twice in analytics.
	if evs, _ := f.store.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventBotAnswered}}); len(evs) != 1 {
		t.Fatalf("%d bot.answered events for one answer", len(evs))
	}
	// Even when the turn is computed again (the session was read before the
	// first one was stored), the store writes it once.
	sess, _ := f.store.FindBotSession(ctx, f.account.ID, conv.ID)
	if applied, err := f.store.ApplyBotTurn(ctx, &parley.BotTurn{AccountID: f.account.ID, ConversationID: conv.ID, Trigger: msgs[0].ID, Session: sess,
		Events: []*parley.Event{{Type: parley.EventBotAnswered, Data: json.RawMessage(`{}`)}}}); err != nil || applied {
		t.Fatalf("the same turn again: applied=%v %v", applied, err)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A turn lost after its webhook call (a crash before it was stored) is
// computed again at start; the call it repeats carries the same
// webhook-id, so the brand's server can drop it, while another visitor
// message's call gets a new one.
func TestARepeatedTurnCallsTheWebhookWithTheSameID(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	cfg := []byte(`enabled: true
intents:
  - name: stock
    phrases: ["is this in stock", "do you have it in stock", "stock check"]
    flow: stock
flows:
  - name: stock
    steps:
      - {id: look, kind: webhook, url: "https://shop.example/stock", next: done}
      - {id: done, kind: end, text: "Anything else?"}
`)
	if _, _, err := bot.Save(ctx, f.store, f.account.ID, "stock.yaml", cfg, 0, bot.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	var ids []string
	var crash context.CancelFunc // set: the call "crashes" the server once it returns
	call := func(_ context.Context, url, secret, id string, payload, out any) error {
		ids = append(ids, id)
		if crash != nil {
			crash()
		}
		return json.Unmarshal([]byte(`{"say":"Yes, 4 left."}`), out)
	}
	r := bot.NewRuntime(f.store, slog.New(slog.NewTextHandler(io.Discard, nil)), call)
	conv, _ := f.store.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	if _, _, err := f.store.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer,
		SenderID: f.consumer.ID, Type: parley.MessageText, Text: "is this in stock?"}); err != nil {
		t.Fatal(err)
	}
	question := f.bus.last(parley.EventMessageCreated)
	lost, cancel := context.WithCancel(ctx)
	crash = cancel
	if err := r.Turn(lost, question); err == nil {
		t.Fatal("a turn whose context ended before it was stored reported success")
	}
	if msgs, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10); len(msgs) != 1 {
		t.Fatalf("the lost turn stored %d messages", len(msgs)-1)
	}
	crash = nil
	if err := bot.NewRuntime(f.store, slog.New(slog.NewTextHandler(io.Discard, nil)), call).Turn(ctx, question); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10); len(msgs) != 3 || msgs[1].Text != "Yes, 4 left." {
		t.Fatalf("the turn computed again: %d messages", len(msgs))
	}
	f.say(t, r, conv, "and do you have it in stock in blue?")
	if len(ids) != 3 || ids[0] != ids[1] || ids[2] == ids[0] || ids[0] == "" {
		t.Fatalf("webhook ids: %q; want the repeated call's id equal to the lost one's and the next message's new", ids)
	}
}

// TestUnansweredQuestionsAreAnsweredWithoutARestart: in a cluster, the node
// that stored a visitor's question may stop for good before answering it;
// the node that leads the sweeps answers it once it is older than a live
// turn would be (a node that does not lead leaves it).
func TestUnansweredQuestionsAreAnsweredWithoutARestart(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	conv, _ := f.store.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	r := newRuntime(f)
	r.RecoverEvery, r.RecoverAfter = 50*time.Millisecond, 300*time.Millisecond
	// Another node leads the sweeps at first, then this one does.
	var leads atomic.Bool
	var asked atomic.Int64
	r.Leads = func() bool { asked.Add(1); return leads.Load() }
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	// Stored by another node, which stopped: this runtime never hears of it.
	if _, _, err := f.store.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer,
		SenderID: f.consumer.ID, Type: parley.MessageText, Text: "How long does delivery take?"}); err != nil {
		t.Fatal(err)
	}
	// Ten sweeps (500 ms), past the question's 300 ms: not this node's to answer.
	for deadline := time.Now().Add(10 * time.Second); asked.Load() < 10; {
		if time.Now().After(deadline) {
			t.Fatal("the runtime never asked whether it leads")
		}
		time.Sleep(10 * time.Millisecond) // polling a counter the runtime raises, with a deadline
	}
	if msgs, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10); len(msgs) != 1 {
		t.Fatalf("a node that does not lead answered: %d messages", len(msgs))
	}
	leads.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, _ := f.store.ListMessages(ctx, f.account.ID, conv.ID, 0, 10)
		if len(msgs) >= 2 {
			if !strings.Contains(msgs[1].Text, "Standard delivery") {
				t.Fatalf("answered %q", msgs[1].Text)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the question was never answered")
		}
		time.Sleep(10 * time.Millisecond) // polling the store for the answer, with a deadline
	}
}
