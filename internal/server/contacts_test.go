package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

type contactList struct {
	Contacts []struct {
		parley.Consumer
		Conversations int `json:"conversations"`
	} `json:"contacts"`
	NextCursor string `json:"next_cursor"`
}

// Agents find the visitors who wrote (not every page view), by name, email
// or the brand's ID, page by page, and correct what the brand knows of
// them; a bad email changes nothing.
func TestAgentsFindAndEditContacts(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	zoe, quiet, other := ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID)
	zoe.open(t)
	other.open(t)
	zoe.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Zoe Adams"}, nil)
	agent := ts.login(t, b.agent)

	var all contactList
	agent.do("GET", "/api/v1/consumers", nil, &all)
	if len(all.Contacts) != 2 || all.Contacts[0].ID != other.consumer.ID || all.Contacts[1].ID != zoe.consumer.ID {
		t.Fatalf("contacts: %+v", all.Contacts)
	}
	for _, c := range all.Contacts {
		if c.ID == quiet.consumer.ID {
			t.Fatal("a visitor who never wrote is a contact")
		}
	}
	var found contactList
	agent.do("GET", "/api/v1/consumers?q=zoe", nil, &found)
	if len(found.Contacts) != 1 || found.Contacts[0].Name != "Zoe Adams" || found.Contacts[0].Conversations != 1 {
		t.Fatalf("q=zoe: %+v", found.Contacts)
	}
	var page contactList
	agent.do("GET", "/api/v1/consumers?limit=1", nil, &page)
	var next contactList
	agent.do("GET", "/api/v1/consumers?limit=1&cursor="+page.NextCursor, nil, &next)
	if len(page.Contacts) != 1 || page.NextCursor == "" || len(next.Contacts) != 1 || next.Contacts[0].ID != zoe.consumer.ID {
		t.Fatalf("pages: %+v then %+v", page, next)
	}
	for _, bad := range []string{"limit=0", "limit=500", "cursor=conv_x", "q=" + strings.Repeat("a", 201)} {
		if st, raw := agent.raw("GET", "/api/v1/consumers?"+bad, nil); st != 400 {
			t.Fatalf("%s: %d %s", bad, st, raw)
		}
	}

	path := "/api/v1/consumers/" + zoe.consumer.ID
	if st, raw := agent.raw("PATCH", path, map[string]any{"name": "Zed", "email": "not an email"}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("bad email: %d %s", st, raw)
	}
	agent.do("PATCH", path, map[string]any{"email": "zoe@example.test", "attributes": map[string]string{"plan": "gold"}}, nil)
	got, _ := ts.Store.FindConsumer(t.Context(), b.account.ID, zoe.consumer.ID)
	if got.Name != "Zoe Adams" || got.Email != "zoe@example.test" || got.Attributes["plan"] != "gold" {
		t.Fatalf("after the edit: %+v", got)
	}
	agent.do("PATCH", path, map[string]any{"attributes": map[string]string{"plan": ""}}, nil)
	if got, _ := ts.Store.FindConsumer(t.Context(), b.account.ID, zoe.consumer.ID); got.Attributes["plan"] != "" {
		t.Fatal("an empty value did not remove the attribute")
	}
	events, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerUpdated}, Limit: 100})
	if len(events) != 3 { // the visitor's name, the agent's two edits
		t.Fatalf("%d consumer.updated events, want 3", len(events))
	}
	// Supervisors export them; agents do not.
	export := "/api/v1/exports/contacts?format=csv&from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) +
		"&to=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	st, csv := ts.login(t, b.supervisor).raw("GET", export, nil)
	if st != 200 || !strings.Contains(string(csv), "Zoe Adams,zoe@example.test") || strings.Count(string(csv), "\n") != 3 {
		t.Fatalf("contacts export: %d\n%s", st, csv)
	}
	if st, _ := agent.raw("GET", export, nil); st != 403 {
		t.Fatalf("an agent exported the contacts: %d", st)
	}
}

// In the console: the Contacts tab finds a visitor, the agent gives their
// email, and one of their conversations opens from there; the visitor
// panel edits the same way.
func TestAnAgentEditsAContactInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	zoe := ts.newVisitor(t, brand.account.ID)
	conv := zoe.open(t)
	zoe.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Zoe Adams", "attributes": map[string]string{"plan": "free"}}, nil)
	zoe.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "hello"}, nil)

	b := consoleLogin(t, ts, brand.agent, ".app")
	b.press("[data-tab=contacts]")
	if evalIn[bool](t, b.ctx, `!document.querySelector(".contacts-export").hidden`) {
		t.Fatal("an agent is offered the contacts export")
	}
	b.do(chromedp.WaitVisible(chromedp.CSS(".contact-open")))
	b.press(".contact-open")
	b.do(chromedp.WaitVisible(chromedp.CSS(".contact-form")))
	if got := evalIn[string](t, b.ctx, `document.querySelector(".contact-form textarea").value`); got != "plan: free" {
		t.Fatalf("attributes shown as %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS(".contact-form input[name=email]"), "zoe@example.test"),
		chromedp.SetValue(chromedp.CSS(".contact-form textarea"), "plan: gold\ncity: Lyon"))
	b.press(".contact-form button[type=submit]")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConsumer(t.Context(), brand.account.ID, zoe.consumer.ID)
		return c.Email == "zoe@example.test" && c.Attributes["plan"] == "gold" && c.Attributes["city"] == "Lyon"
	}, func() string {
		return evalIn[string](t, b.ctx, `document.querySelector(".contact-error")?.textContent || ""`)
	})
	// Taking a line away removes the attribute, from the visitor panel of
	// their conversation, opened from the contact.
	b.do(chromedp.WaitVisible(chromedp.CSS(".contact-detail .past")))
	b.press(".contact-detail .past")
	b.do(chromedp.WaitVisible(chromedp.CSS(".edit-visitor")))
	b.press(".edit-visitor")
	b.do(chromedp.WaitVisible(chromedp.CSS(".visitor-edit textarea")), chromedp.SetValue(chromedp.CSS(".visitor-edit textarea"), "plan: gold"))
	b.press(".visitor-edit button[type=submit]")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConsumer(t.Context(), brand.account.ID, zoe.consumer.ID)
		_, hasCity := c.Attributes["city"]
		return !hasCity && c.Attributes["plan"] == "gold"
	})
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, b.ctx, `document.querySelector(".visitor-info").textContent`), "zoe@example.test")
	})
}

// TestAnAgentStartsAConversationWithAContact: in Chromium, a visitor
// chatted and the conversation closed; later an agent starts a new one
// from the visitor's contact page. It is the agent's at once (Mine), and
// when the visitor comes back to the site the chat window shows the
// agent's message.
func TestAnAgentStartsAConversationWithAContact(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	visitor, frame, page := chatFromBrandPage(t, ts, brand.account.ID, "Do you have it in size 42?")
	var first *parley.Conversation
	waitFor(t, func() bool {
		list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 10})
		if len(list) == 1 && list[0].LastSeq > 0 {
			first = list[0]
		}
		return first != nil
	})
	key := ts.withKey(t, brand.apiKey)
	if st := key.do("POST", "/api/v1/conversations/"+first.ID+"/close", map[string]any{}, nil); st != 200 {
		t.Fatalf("close: status %d", st)
	}

	b := consoleLogin(t, ts, brand.agent, ".app")
	b.press("[data-tab=contacts]")
	b.do(chromedp.WaitVisible(chromedp.CSS(".contact-open")))
	b.press(".contact-open")
	b.do(chromedp.WaitVisible(chromedp.CSS(".start-conversation textarea")),
		chromedp.SendKeys(chromedp.CSS(".start-conversation textarea"), "Size 42 is back in stock."))
	b.press(".start-conversation button[type=submit]")
	var started *parley.Conversation
	waitFor(t, func() bool {
		list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 10})
		if len(list) == 2 && list[0].LastSeq > 0 {
			started = list[0]
		}
		return started != nil
	})
	if started.State != parley.StateAssigned || started.AssigneeID != brand.agent.ID || started.ConsumerID != first.ConsumerID {
		t.Fatalf("started: %+v", started)
	}
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, b.ctx, `document.querySelector(".messages")?.textContent || ""`), "Size 42 is back in stock.")
	}, func() string { return "the console does not show the started conversation" })

	// The visitor comes back: the window shows the agent's message.
	visitor.leaveFrames()
	visitor.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame = visitor.frame()
	texts := func() string {
		return evalIn[string](t, frame, `[...document.querySelectorAll(".msg.theirs")].map(m => m.textContent).join(" | ")`)
	}
	waitFor(t, func() bool { return strings.Contains(texts(), "Size 42 is back in stock.") }, func() string {
		return texts() + " / log: " + evalIn[string](t, frame, `document.querySelector(".status").textContent + " / chat hidden " + document.querySelector(".chat").hidden + " / log: " + document.querySelector(".log").textContent + " / stored: " + JSON.stringify(Object.entries(localStorage))`) + " / started " + started.ID
	})
}

// TestAConversationStartedForAPersonIsTheirs: over REST, an agent starts
// a conversation for themself (assigned at once, not with the bot), may
// not start one for a colleague, and an API key may; at capacity nothing
// is opened.
func TestAConversationStartedForAPersonIsTheirs(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	withDemoBot(t, ts, brand) // the bot is on: these still go to people
	zoe := ts.newVisitor(t, brand.account.ID)
	agent := ts.login(t, brand.agent)
	var c parley.Conversation
	if st := agent.do("POST", "/api/v1/conversations", map[string]any{"consumer_id": zoe.consumer.ID, "assignee_id": brand.agent.ID}, &c); st != 201 ||
		c.State != parley.StateAssigned || c.AssigneeID != brand.agent.ID {
		t.Fatalf("an agent starting one: status %d, %+v", st, c)
	}
	st, raw := agent.raw("POST", "/api/v1/conversations", map[string]any{"consumer_id": zoe.consumer.ID, "assignee_id": brand.supervisor.ID})
	if st != 403 || errorCode(raw) != parley.EFORBIDDEN {
		t.Fatalf("an agent starting one for a colleague: status %d %s", st, raw)
	}
	key := ts.withKey(t, brand.apiKey)
	if st := key.do("POST", "/api/v1/conversations", map[string]any{"consumer_id": zoe.consumer.ID, "assignee_id": brand.supervisor.ID}, &c); st != 201 || c.AssigneeID != brand.supervisor.ID {
		t.Fatalf("an API key starting one for the supervisor: status %d, %+v", st, c)
	}
	key.do("PATCH", "/api/v1/users/"+brand.agent.ID, map[string]any{"max_concurrent": 1}, nil)
	before, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 50})
	st, raw = agent.raw("POST", "/api/v1/conversations", map[string]any{"consumer_id": zoe.consumer.ID, "assignee_id": brand.agent.ID})
	if st != 409 || errorCode(raw) != parley.ECONFLICT {
		t.Fatalf("at capacity: status %d %s", st, raw)
	}
	if after, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 50}); len(after) != len(before) {
		t.Fatalf("a refused start opened a conversation: %d → %d", len(before), len(after))
	}
}

// chatFromBrandPage opens the brand's page (on another origin, as on a
// real site) in a new browser, opens the chat and sends first; it returns
// the browser, the chat frame and the page's URL.
func chatFromBrandPage(t *testing.T, ts *testServer, accountID, first string) (*browser, context.Context, string) {
	t.Helper()
	// It returns once the first message is acknowledged (it has a seq), so
	// the conversation is stored: the window shows the message before that.
	page := hostPages(t, widgetOrigin(ts), accountID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), first+"\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine[data-seq]"))); err != nil {
		b.shot("failure")
		t.Fatal(err)
	}
	return b, frame, page
}
