package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestANoteMentionsAColleague: an agent's note mentions the supervisor by
// ID; the supervisor's console connection gets a mention frame though it
// follows no conversation, the author's does not, and the supervisor's
// "mentioned=me" list has the conversation. A mention of someone outside
// the account is refused by position and stores nothing; visitors can
// neither list mentions nor see the note.
func TestANoteMentionsAColleague(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Other")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	visitor := connect(t, ts, v.token, nil)
	visitor.subscribe(conv.ID, 0)
	inbox := func(u *parley.User) *wsClient {
		c := agentWS(t, ts, u)
		c.send(`{"type":"subscribe_inbox","id":"inbox"}`)
		c.next(reply("inbox"))
		return c
	}
	super, author := inbox(brand.supervisor), inbox(brand.agent)
	agent := ts.login(t, brand.agent)
	notes := "/api/v1/conversations/" + conv.ID + "/notes"

	st, raw := agent.raw("POST", notes, map[string]any{"text": "@someone look", "mentions": []string{brand.supervisor.ID, other.agent.ID}})
	if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), "mentions[1]") {
		t.Fatalf("mentioning another account's user: status %d %s", st, raw)
	}
	if list, _ := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID); len(list) != 0 {
		t.Fatalf("the refused note was stored: %+v", list)
	}
	var n parley.Note
	if st := agent.do("POST", notes, map[string]any{"text": "@supervisor of Acme can we refund this?", "mentions": []string{brand.supervisor.ID, brand.supervisor.ID}}, &n); st != 201 ||
		!slices.Equal(n.Mentions, []string{brand.supervisor.ID}) {
		t.Fatalf("note: status %d %+v (want the supervisor once)", st, n)
	}
	f := super.next(ofType("mention"))
	var got struct{ Note parley.Note }
	if err := json.Unmarshal(f.raw, &got); err != nil || got.Note.ID != n.ID || got.Note.ConversationID != conv.ID || got.Note.AuthorName != brand.agent.Name {
		t.Fatalf("the mention frame: %s", f.raw)
	}
	// The author's console hears no mention of its own note: the next
	// frame it gets is the one this ping answers.
	author.send(`{"type":"ping","id":"p"}`)
	if f := author.next(func(f frame) bool { return f.Type == "mention" || f.ID == "p" }); f.Type == "mention" {
		t.Fatalf("the author got a mention frame: %s", f.raw)
	}
	var page struct{ Conversations []parley.Conversation }
	if ts.login(t, brand.supervisor).do("GET", "/api/v1/conversations?mentioned=me", nil, &page); len(page.Conversations) != 1 || page.Conversations[0].ID != conv.ID {
		t.Fatalf("the supervisor's mentions: %+v", page.Conversations)
	}
	// The mention is new to the supervisor until they look at their Mentions.
	supervisor := ts.login(t, brand.supervisor)
	unread := func() int {
		var me struct {
			UnreadMentions *int `json:"unread_mentions"`
		}
		supervisor.do("GET", "/api/v1/me", nil, &me)
		if me.UnreadMentions == nil {
			t.Fatal("/me has no unread_mentions")
		}
		return *me.UnreadMentions
	}
	if n := unread(); n != 1 {
		t.Fatalf("unread mentions %d, want 1", n)
	}
	if st, _ := supervisor.raw("POST", "/api/v1/me/mentions/seen", nil); st != 204 || unread() != 0 {
		t.Fatal("the mention stayed new after it was seen")
	}
	if agent.do("GET", "/api/v1/conversations?mentioned=me", nil, &page); len(page.Conversations) != 0 {
		t.Fatalf("the author's mentions: %+v", page.Conversations)
	}
	if st, _ := v.raw("GET", "/api/v1/conversations?mentioned=me", nil); st != 403 {
		t.Fatalf("a visitor listing mentions: status %d", st)
	}
	if st, _ := agent.raw("GET", "/api/v1/conversations?mentioned=everyone", nil); st != 400 {
		t.Fatalf("mentioned=everyone: status %d", st)
	}
	// The visitor's socket never carried the note.
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "hello?"}, nil)
	if f := visitor.next(func(f frame) bool { return f.Type == "message" || f.Type == "note" || f.Type == "mention" }); f.Type != "message" {
		t.Fatalf("the visitor got %s", f.raw)
	}
}

// TestAnAgentMentionsTheSupervisorInTheConsole: in Chromium, the agent
// writes a private note, completes "@sup" with Tab to the supervisor's
// name and sends it; the supervisor's console says so and its Mentions
// tab lists the conversation.
func TestAnAgentMentionsTheSupervisorInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "I want a refund"}, nil)
	super := consoleLogin(t, ts, brand.supervisor, "[data-tab=mentions]")
	// Mentions come live: wait until the console hears the inbox.
	waitFor(t, func() bool {
		return evalIn[string](t, super.ctx, `document.querySelector(".conn").textContent`) == "Live"
	})
	agent := consoleLogin(t, ts, brand.agent, ".items li")
	agent.openFirst("queued")
	agent.press(".as-note")
	agent.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "@sup"), chromedp.KeyEvent("\t"))
	if v, _ := chromedp.Run(agent.ctx, chromedp.Value(chromedp.CSS("#reply-text"))); v != "@supervisor of Acme " {
		t.Fatalf("@sup + Tab gave %q", v)
	}
	agent.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "can we refund?\r"))
	waitFor(t, func() bool {
		list, _ := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID)
		return len(list) == 1 && slices.Equal(list[0].Mentions, []string{brand.supervisor.ID})
	})
	toast := func() string { return evalIn[string](t, super.ctx, `document.querySelector(".toast").textContent`) }
	waitFor(t, func() bool {
		return strings.Contains(toast(), "agent of Acme mentioned you: @supervisor of Acme can we refund?")
	}, toast)
	if c := evalIn[string](t, super.ctx, `document.querySelector("[data-tab=mentions] .count").textContent`); c != "(1 new)" {
		t.Fatalf("the Mentions tab says %q", c)
	}
	super.press("[data-tab=mentions]")
	items := func() string {
		return evalIn[string](t, super.ctx, `[...document.querySelectorAll(".items li")].map(li => li.dataset.id).join(",")`)
	}
	waitFor(t, func() bool { return items() == conv.ID }, items)
	super.shot("mentions")
	// Looked at, the mention is no longer new; one made while the
	// supervisor was away is new when they come back.
	waitFor(t, func() bool {
		n, _ := ts.Store.UnreadMentions(t.Context(), brand.account.ID, brand.supervisor.ID)
		return n == 0
	})
	super.press("[data-tab=queued]") // looking elsewhere: the next mention is not seen
	ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "@supervisor of Acme again",
		"mentions": []string{brand.supervisor.ID}}, nil)
	back := consoleLogin(t, ts, brand.supervisor, "[data-tab=mentions]")
	count := func() string {
		return evalIn[string](t, back.ctx, `document.querySelector("[data-tab=mentions] .count").textContent`)
	}
	waitFor(t, func() bool { return count() == "(1 new)" }, count)
}

// TestARetriedNoteIsWrittenOnce: a note sent again with its client ID (its
// answer lost on the way) answers 200 with the note already written, and
// no second one is stored; a colleague's note with the same client ID is
// refused (409), and a client ID over 100 bytes is refused (400).
func TestARetriedNoteIsWrittenOnce(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	conv := ts.newVisitor(t, brand.account.ID).open(t)
	notes := "/api/v1/conversations/" + conv.ID + "/notes"
	agent := ts.login(t, brand.agent)
	var first, again parley.Note
	if st := agent.do("POST", notes, map[string]any{"text": "called them back", "client_id": "n-1"}, &first); st != 201 || first.ClientID != "n-1" {
		t.Fatalf("the note: %d %+v", st, first)
	}
	if st := agent.do("POST", notes, map[string]any{"text": "called them back", "client_id": "n-1"}, &again); st != 200 || again.ID != first.ID {
		t.Fatalf("the retried note: %d %+v; want 200 and %s", st, again, first.ID)
	}
	if st, raw := ts.login(t, brand.supervisor).raw("POST", notes, map[string]any{"text": "mine", "client_id": "n-1"}); st != 409 || errorCode(raw) != parley.ECONFLICT {
		t.Fatalf("a colleague's note with the same client ID: %d %s", st, raw)
	}
	if st, raw := agent.raw("POST", notes, map[string]any{"text": "x", "client_id": strings.Repeat("n", 101)}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("a 101-byte client ID: %d %s", st, raw)
	}
	if list, _ := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID); len(list) != 1 {
		t.Fatalf("notes stored: %d, want 1", len(list))
	}
}
