package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/bot/nlu"
)

// pastChat writes a conversation of visitor with the bot and then agent:
// lines prefixed "v:", "b:" or "a:" are the visitor's, the bot's and the
// agent's messages. It returns the conversation and its messages.
func (f fixture) pastChat(t *testing.T, visitor, agent string, lines ...string) (*parley.Conversation, []*parley.Message) {
	t.Helper()
	ctx := context.Background()
	c := &parley.Consumer{AccountID: f.account.ID, Name: visitor}
	if err := f.store.CreateConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	conv, err := f.store.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	var out []*parley.Message
	for _, l := range lines {
		who, text, _ := strings.Cut(l, ":")
		m := &parley.Message{AccountID: f.account.ID, ConversationID: conv.ID, Type: parley.MessageText, Text: strings.TrimSpace(text)}
		switch who {
		case "v":
			m.SenderKind, m.SenderID, m.SenderName = parley.SenderConsumer, c.ID, visitor
		case "b":
			m.SenderKind, m.SenderName = parley.SenderBot, "Bot"
		case "a":
			m.SenderKind, m.SenderID, m.SenderName = parley.SenderAgent, "u-"+agent, agent
		}
		stored, _, err := f.store.AppendMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored)
	}
	return conv, out
}

// TestAgentsAreOfferedTheirColleaguesPastReplies: a question asked before
// brings the reply a person gave to it, with the names of that visitor and
// that agent made placeholders, counted when it was given again; a reply
// holding another visitor's own details, the conversation's own replies,
// and replies removed or erased since are never offered.
func TestAgentsAreOfferedTheirColleaguesPastReplies(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	r := newRuntime(f)
	first, msgs := f.pastChat(t, "Maya López", "Sam Berg",
		"v: Do you ship to Norway?",
		"b: I'm not sure I understood.",
		"v: talk to a person",
		"a: Hi Maya!", // a greeting, not the answer
		"a: Yes Maya, we ship to Norway: it takes 4 to 6 working days. Sam",
		"v: Great, thanks!",
		"a: You're welcome, have a nice day.")
	f.pastChat(t, "Tom Becker", "Priya Shah",
		"v: do you ship to Norway",
		"a: Yes Tom, we ship to Norway: it takes 4 to 6 working days. Priya")
	f.pastChat(t, "Aiko Tanaka", "Sam Berg",
		"v: Can you ship to Norway by Friday?",
		"a: Your order 1002345 ships today, the tracking is on its way.")
	clock := atomic.Pointer[time.Time]{}
	now := time.Now()
	clock.Store(&now)
	bot.SetClock(r, func() time.Time { return *clock.Load() })

	ask := func(conversationID, text string) []bot.Suggestion {
		t.Helper()
		got, err := r.PastReplies(ctx, f.account.ID, conversationID, text, nlu.English)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := ask("another", "Can you ship my jacket to Norway?")
	if len(got) != 1 {
		t.Fatalf("one reply, given twice, should be offered once: %+v", got)
	}
	s := got[0]
	if s.Kind != bot.SuggestPast || s.Times != 2 || s.By != "Priya Shah" && s.By != "Sam Berg" || s.At == nil ||
		s.Text != "Yes {{visitor_first_name|there}}, we ship to Norway: it takes 4 to 6 working days. {{agent_first_name}}" {
		t.Fatalf("past reply: %+v", s)
	}
	if s.Title != "Do you ship to Norway?" && s.Title != "do you ship to Norway" {
		t.Fatalf("title: %q", s.Title)
	}
	for _, q := range []string{"Norway?", "what about sweden", "osifhaskdnkauer", ""} {
		if got := ask("another", q); len(got) != 0 {
			t.Fatalf("%q: %+v", q, got)
		}
	}

	// The conversation's own replies are not offered back to it.
	for _, s := range ask(first.ID, "Can you ship my jacket to Norway?") {
		if strings.HasPrefix(s.ID, first.ID+":") {
			t.Fatalf("its own reply: %+v", s)
		}
	}

	// Removed since the index was read: not offered, the other one is.
	if _, err := f.store.RedactMessage(ctx, f.account.ID, first.ID, msgs[4].Seq, parley.Redaction{By: "u-sam", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got = ask("another", "Can you ship my jacket to Norway?")
	if len(got) != 1 || strings.HasPrefix(got[0].ID, first.ID+":") || !strings.Contains(got[0].Text, "we ship to Norway") {
		t.Fatalf("after one was removed: %+v", got)
	}
	ids := []string{strings.Split(got[0].ID, ":")[0]}
	if err := f.store.EraseConversations(ctx, f.account.ID, ids); err != nil {
		t.Fatal(err)
	}
	if got := ask("another", "Can you ship my jacket to Norway?"); len(got) != 0 {
		t.Fatalf("after both were removed: %+v", got)
	}

	// A reply given after the index was read is found once it is a
	// refresh old.
	f.pastChat(t, "Lucas Martin", "Sam Berg",
		"v: Do you sell gift cards?",
		"a: We do: gift cards from 20 to 200 euros, sent by email.")
	if got := ask("another", "do you sell gift cards"); len(got) != 0 {
		t.Fatalf("before a refresh: %+v", got)
	}
	later := now.Add(2 * time.Minute)
	clock.Store(&later)
	if got := ask("another", "do you sell gift cards"); len(got) != 1 || !strings.HasPrefix(got[0].Text, "We do: gift cards") || got[0].Title != "Do you sell gift cards?" {
		t.Fatalf("after a refresh: %+v", got)
	}
}

// TestPastRepliesComeAfterWhatTheBotRecognises: the brand's own answer
// the classifier recognised comes first, past replies before the articles
// a search matched, within MaxSuggestions.
func TestPastRepliesComeAfterWhatTheBotRecognises(t *testing.T) {
	brand := []bot.Suggestion{{Kind: "intent", ID: "a", Confidence: 0.9}, {Kind: "article", ID: "b", Coverage: 0.5}, {Kind: "article", ID: "c"}, {Kind: "canned", ID: "d"}}
	past := []bot.Suggestion{{Kind: "past", ID: "x:1"}, {Kind: "past", ID: "y:2"}}
	var ids []string
	for _, s := range bot.WithPast(brand, past) {
		ids = append(ids, s.ID)
	}
	if got := strings.Join(ids, " "); got != "a x:1 y:2 b c" {
		t.Fatalf("order: %s", got)
	}
}

// BenchmarkPastReplies: an account with a month's worth of answered
// questions (2,000 conversations), the first ask (which reads them all)
// and the asks after it.
func BenchmarkPastReplies(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	topics := []string{"shipping to Norway", "returns after 30 days", "the size chart", "paying with PayPal", "gift cards", "the Ridge jacket's zip", "store opening hours", "express delivery"}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 2000; i += 16 {
				conv, err := f.store.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
				if err != nil {
					b.Error(err)
					return
				}
				topic := topics[i%len(topics)]
				for _, m := range []*parley.Message{
					{SenderKind: parley.SenderConsumer, Text: fmt.Sprintf("Hello, a question about %s please (%d)", topic, i)},
					{SenderKind: parley.SenderBot, Text: "I'm not sure I understood."},
					{SenderKind: parley.SenderAgent, SenderName: "Sam", Text: fmt.Sprintf("About %s: here is what you need to know, number %d.", topic, i%50)},
					{SenderKind: parley.SenderConsumer, Text: "Thanks!"},
				} {
					m.AccountID, m.ConversationID, m.Type = f.account.ID, conv.ID, parley.MessageText
					if _, _, err := f.store.AppendMessage(ctx, m); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			if got, err := newRuntime(f).PastReplies(ctx, f.account.ID, "", "what about gift cards", nlu.English); err != nil || len(got) == 0 {
				b.Fatal(err, got)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		r := newRuntime(f)
		r.PastReplies(ctx, f.account.ID, "", "what about gift cards", nlu.English) // the first ask builds the index
		for b.Loop() {
			if got, err := r.PastReplies(ctx, f.account.ID, "", "what about gift cards", nlu.English); err != nil || len(got) == 0 {
				b.Fatal(err, got)
			}
		}
	})
}
