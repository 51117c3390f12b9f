package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

type suggestions struct {
	Query       string `json:"query"`
	Suggestions []struct {
		Kind  string `json:"kind"`
		ID    string `json:"id"`
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"suggestions"`
}

// withPayPalReply is a brand with the demo bot and a canned response about
// PayPal that names the visitor and their plan.
func withPayPalReply(t *testing.T) (*testServer, brand, *client) {
	t.Helper()
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, b)
	key := ts.withKey(t, b.apiKey)
	if st := key.do("POST", "/api/v1/canned-responses", map[string]any{"shortcut": "paypal",
		"text": "Yes {{visitor_first_name|there}}, PayPal works at checkout on your {{attribute.plan|standard}} plan."}, nil); st != 201 {
		t.Fatalf("canned: %d", st)
	}
	return ts, b, key
}

// TestAgentsGetSuggestedReplies: the brand's articles and canned responses
// matched to the visitor's last message, or to a text the agent asks about.
func TestAgentsGetSuggestedReplies(t *testing.T) {
	ts, brand, _ := withPayPalReply(t)
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	agent := ts.login(t, brand.agent)

	// Before the visitor writes: nothing to suggest.
	var got suggestions
	if st := agent.do("GET", "/api/v1/conversations/"+conv.ID+"/suggestions", nil, &got); st != 200 || got.Query != "" || len(got.Suggestions) != 0 {
		t.Fatalf("before a word: %d %+v", st, got)
	}
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "When will my parcel arrive?"}, nil)
	// The bot answers; its answer is not the visitor's word, so the
	// question is still what the suggestions answer.
	waitFor(t, func() bool {
		msgs := mustMessages(t, ts, brand.account.ID, conv.ID)
		return msgs[len(msgs)-1].SenderKind == parley.SenderBot
	})
	if st := agent.do("GET", "/api/v1/conversations/"+conv.ID+"/suggestions", nil, &got); st != 200 || got.Query != "When will my parcel arrive?" ||
		len(got.Suggestions) == 0 || got.Suggestions[0].ID != "delivery" || !strings.HasPrefix(got.Suggestions[0].Text, "Standard delivery takes") {
		t.Fatalf("for the visitor's question: %d %+v", st, got)
	}
	if st := agent.do("GET", "/api/v1/conversations/"+conv.ID+"/suggestions?q=can+I+pay+with+paypal", nil, &got); st != 200 {
		t.Fatalf("q: %d", st)
	}
	var kinds []string
	for _, s := range got.Suggestions {
		kinds = append(kinds, s.Kind+":"+s.ID)
	}
	if k := strings.Join(kinds, " "); !strings.Contains(k, "article:payment") || !strings.Contains(k, "canned:") {
		t.Fatalf("for a question about PayPal: %s", k)
	}
	if st, raw := agent.raw("GET", "/api/v1/conversations/"+conv.ID+"/suggestions?q="+strings.Repeat("a", 1001), nil); st != 400 || !strings.Contains(string(raw), "at most 1000") {
		t.Fatalf("a long q: %d %s", st, raw)
	}
}

// answeredBefore stores a closed conversation of the brand in which a
// visitor called visitorName asked question and by (a person of the
// brand) gave reply.
func answeredBefore(t *testing.T, ts *testServer, b brand, by *parley.User, visitorName, question, reply string) *parley.Conversation {
	t.Helper()
	ctx := t.Context()
	c := &parley.Consumer{AccountID: b.account.ID, Name: visitorName}
	if err := ts.Store.CreateConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	conv, err := ts.Store.OpenConversation(ctx, b.account.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*parley.Message{
		{SenderKind: parley.SenderConsumer, SenderID: c.ID, SenderName: visitorName, Text: question},
		{SenderKind: parley.SenderAgent, SenderID: by.ID, SenderName: by.Name, Text: reply},
	} {
		m.AccountID, m.ConversationID, m.Type = b.account.ID, conv.ID, parley.MessageText
		if _, _, err := ts.Store.AppendMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	return conv
}

// TestAgentsGetTheirColleaguesPastReplies: over HTTP, a question answered
// before in the brand brings that reply, the names it was written with
// made placeholders; another brand's replies never come.
func TestAgentsGetTheirColleaguesPastReplies(t *testing.T) {
	ts, brand, _ := withPayPalReply(t)
	other := seedBrand(t, ts, "Contoso")
	answeredBefore(t, ts, other, other.agent, "Eve Hart", "Do you ship to Iceland?", "Yes Eve, Contoso ships to Iceland in 3 days.")
	answeredBefore(t, ts, brand, brand.supervisor, "Maya López", "Do you ship to Iceland?",
		"Yes Maya, we ship to Iceland: it takes 4 to 6 working days.")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	agent := ts.login(t, brand.agent)
	var got suggestions
	if st := agent.do("GET", "/api/v1/conversations/"+conv.ID+"/suggestions?q=can+you+ship+my+jacket+to+Iceland", nil, &got); st != 200 {
		t.Fatalf("suggestions: %d", st)
	}
	var past []string
	for _, s := range got.Suggestions {
		if s.Kind == "past" {
			past = append(past, s.Title+" → "+s.Text)
		}
	}
	if len(past) != 1 || past[0] != "Do you ship to Iceland? → Yes {{visitor_first_name|there}}, we ship to Iceland: it takes 4 to 6 working days." {
		t.Fatalf("past replies: %q", past)
	}
}

// TestAnAgentInsertsAColleaguesPastReply: in Chromium, a reply a colleague
// gave to the same question comes as "Answered before", says who gave it,
// and goes into the reply box with this visitor's name; sent, it is
// recorded as a past reply's use.
func TestAnAgentInsertsAColleaguesPastReply(t *testing.T) {
	ts, brand, _ := withPayPalReply(t)
	before := answeredBefore(t, ts, brand, brand.supervisor, "Maya López", "Do you ship to Iceland?",
		"Yes Maya, we ship to Iceland: it takes 4 to 6 working days.")
	v := ts.newVisitor(t, brand.account.ID)
	v.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Zoe Clarke"}, nil)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Can you ship my jacket to Iceland?"}, nil)

	console := consoleLogin(t, ts, brand.agent, ".app")
	console.openFirst("bot")
	chips := func() string {
		return evalIn[string](t, console.ctx, `document.querySelector(".suggestions").hidden ? "" : [...document.querySelectorAll(".suggestion")].map((b) => b.textContent).join(" | ")`)
	}
	// Should the chip not come, the failure says what the server offers
	// now, beside what the console shows (a CI run once saw no past reply).
	waitFor(t, func() bool { return strings.Contains(chips(), "Answered before: Do you ship to Iceland?") }, func() string {
		_, raw := ts.login(t, brand.agent).raw("GET", "/api/v1/conversations/"+conv.ID+"/suggestions", nil)
		console.shot("failure")
		return chips() + " | the server now: " + string(raw)
	})
	if tip := evalIn[string](t, console.ctx, `document.querySelector(".suggestion[data-kind=past]").title`); !strings.HasPrefix(tip, brand.supervisor.Name+", ") {
		t.Fatalf("the chip's title: %q", tip)
	}
	acceptInConsole(t, ts, console, brand.account.ID, conv.ID, brand.agent.ID)
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `(() => { const b = document.querySelector(".suggestion[data-kind=past]"); if (!b) return false;
			document.querySelector("#reply-text").value = ""; b.click(); return true })()`)
	})
	waitFor(t, func() bool {
		return evalIn[string](t, console.ctx, `document.querySelector("#reply-text").value`) == "Yes Zoe, we ship to Iceland: it takes 4 to 6 working days."
	}, func() string { return evalIn[string](t, console.ctx, `document.querySelector("#reply-text").value`) })
	console.shot("past-reply-inserted")
	console.press(".reply button[type=submit]")
	waitFor(t, func() bool {
		events, _ := ts.Store.ListEvents(t.Context(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventSuggestionUsed}})
		if len(events) != 1 {
			return false
		}
		var u parley.SuggestionUse
		json.Unmarshal(events[0].Data, &u)
		return u.Kind == "past" && u.Ref == before.ID+":2" && !u.Edited && u.ConversationID == conv.ID
	})
}

// TestAnAgentInsertsASuggestedReply: in Chromium, the suggestions under the
// conversation follow the visitor's last message, and a click puts one in
// the reply box, a canned response with the visitor's name filled in.
func TestAnAgentInsertsASuggestedReply(t *testing.T) {
	ts, brand, key := withPayPalReply(t)
	v := ts.newVisitor(t, brand.account.ID)
	v.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Maya Lind"}, nil)
	if st := key.do("PATCH", "/api/v1/consumers/"+v.consumer.ID, map[string]any{"attributes": map[string]string{"plan": "gold"}}, nil); st != 200 {
		t.Fatalf("attributes: %d", st)
	}
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "When will my parcel arrive?"}, nil)

	console := consoleLogin(t, ts, brand.agent, ".app")
	console.openFirst("bot")
	chips := func() string {
		return evalIn[string](t, console.ctx, `document.querySelector(".suggestions").hidden ? "" : [...document.querySelectorAll(".suggestion")].map((b) => b.textContent).join(" | ")`)
	}
	waitFor(t, func() bool { return strings.HasPrefix(chips(), "Article: Delivery times and costs") }, chips)
	console.press(".suggestion")
	if got := evalIn[string](t, console.ctx, `document.querySelector("#reply-text").value`); !strings.HasPrefix(got, "Standard delivery takes 3–5 working days") || strings.Contains(got, "**") {
		t.Fatalf("the reply box after a click: %q", got)
	}
	console.shot("article-inserted")

	// The visitor writes again: the suggestions follow.
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Can I pay with PayPal?"}, nil)
	waitFor(t, func() bool { return strings.Contains(chips(), "Canned: /paypal") }, chips)
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, console.ctx, `document.querySelector(".visitor-info").textContent`), "gold")
	})
	evalIn[bool](t, console.ctx, `(() => { document.querySelector("#reply-text").value = ""; [...document.querySelectorAll(".suggestion")].find((b) => b.dataset.kind === "canned").click(); return true })()`)
	if got := evalIn[string](t, console.ctx, `document.querySelector("#reply-text").value`); got != "Yes Maya, PayPal works at checkout on your gold plan." {
		t.Fatalf("the canned response inserted: %q", got)
	}
	console.do(chromedp.WaitVisible(chromedp.CSS(".suggestions")))
	console.shot("canned-inserted")

	// Sent as it was inserted, once the agent has taken over: the log
	// says which suggestion the reply began as, and that it was not changed.
	acceptInConsole(t, ts, console, brand.account.ID, conv.ID, brand.agent.ID)
	console.press(".reply button[type=submit]")
	canned, _ := ts.Store.ListCannedResponses(t.Context(), brand.account.ID)
	used := func() []parley.SuggestionUse {
		events, _ := ts.Store.ListEvents(t.Context(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventSuggestionUsed}})
		var out []parley.SuggestionUse
		for _, e := range events {
			var u parley.SuggestionUse
			json.Unmarshal(e.Data, &u)
			out = append(out, u)
		}
		return out
	}
	waitFor(t, func() bool {
		u := used()
		return len(u) == 1 && u[0].Kind == "canned" && u[0].Ref == canned[0].ID && !u[0].Edited && u[0].By == brand.agent.ID && u[0].ConversationID == conv.ID && u[0].MessageSeq > 0
	}, func() string { return fmt.Sprintf("%+v", used()) })

	// Over the API: an article's answer, changed before it was sent, counts
	// for the article in the Bot tab's figures; a bad one is refused and
	// stores nothing; visitors do not use suggestions.
	agent := ts.login(t, brand.agent)
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Standard delivery takes 3–5 days; yours ships today.",
		"suggestion": map[string]any{"kind": "article", "ref": "delivery", "edited": true}}); st != 201 {
		t.Fatalf("a reply from an article: %d %s", st, raw)
	}
	before := len(mustMessages(t, ts, brand.account.ID, conv.ID))
	for name, c := range map[string]struct {
		who  *client
		body map[string]any
	}{
		"an unknown kind": {agent, map[string]any{"text": "x", "suggestion": map[string]any{"kind": "guess", "ref": "delivery"}}},
		"no ref":          {agent, map[string]any{"text": "x", "suggestion": map[string]any{"kind": "article"}}},
		"a visitor":       {v.client, map[string]any{"text": "x", "suggestion": map[string]any{"kind": "article", "ref": "delivery"}}},
	} {
		if st, raw := c.who.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages", c.body); st != 400 || !strings.Contains(string(raw), "suggestion") {
			t.Errorf("%s: %d %s", name, st, raw)
		}
	}
	if after := len(mustMessages(t, ts, brand.account.ID, conv.ID)); after != before || len(used()) != 2 {
		t.Fatalf("refused suggestions stored something: %d → %d messages, %d uses", before, after, len(used()))
	}
	var stats struct {
		Articles []struct {
			ID          string `json:"id"`
			AgentUses   int    `json:"agent_uses"`
			AgentEdited int    `json:"agent_edited"`
		} `json:"articles"`
		Suggestions []struct {
			Kind, Ref    string
			Uses, Edited int
		} `json:"suggestions"`
	}
	key.do("GET", "/api/v1/bot/help-stats", nil, &stats)
	for _, a := range stats.Articles {
		if a.ID == "delivery" && (a.AgentUses != 1 || a.AgentEdited != 1) {
			t.Fatalf("the delivery article's figures: %+v", a)
		}
	}
	if len(stats.Suggestions) != 2 {
		t.Fatalf("suggestions used: %+v", stats.Suggestions)
	}
}

// acceptInConsole presses the open conversation's Accept and waits until
// the conversation is the agent's in the store and in the console: the
// accept's answer reaches the console after the store has it, and until
// then its reply box refuses to send, asking the agent to accept first.
func acceptInConsole(t *testing.T, ts *testServer, console *browser, account, conversation, agent string) {
	t.Helper()
	console.press(".accept")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), account, conversation)
		return c.AssigneeID == agent
	})
	waitFor(t, func() bool { return evalIn[bool](t, console.ctx, `document.querySelector(".accept").hidden`) })
}
