package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/email/mailbox"
	"github.com/parleychat/parley/internal/server"
)

// TestPeopleFollowAConversation: an agent follows a conversation and
// calls a supervisor in; their consoles hear of it, their Following lists
// it, the visitor never learns who follows; a note mentioning the admin
// makes her follow too. Following twice changes nothing; an unknown or
// inactive colleague, a visitor, an API key following as "me", and a
// closed conversation are refused.
func TestPeopleFollowAConversation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	agent, supervisor, admin := ts.login(t, b.agent), ts.login(t, b.supervisor), ts.login(t, b.admin)
	inbox := sessionWS(t, ts, supervisor)
	inbox.send(`{"type":"subscribe_inbox","id":"in"}`)
	inbox.next(reply("in"))
	visitorWS := connect(t, ts, v.token, nil)
	visitorWS.subscribe(conv.ID, 0)

	path := "/api/v1/conversations/" + conv.ID + "/followers/"
	var c parley.Conversation
	if st := agent.do("PUT", path+"me", nil, &c); st != 200 || !slices.Equal(c.Followers, []string{b.agent.ID}) {
		t.Fatalf("the agent follows: %d %+v", st, c.Followers)
	}
	if st := agent.do("PUT", path+"me", nil, &c); st != 200 || len(c.Followers) != 1 {
		t.Fatalf("twice: %d %+v", st, c.Followers)
	}
	if st := agent.do("PUT", path+b.supervisor.ID, nil, &c); st != 200 || !slices.Equal(c.Followers, []string{b.agent.ID, b.supervisor.ID}) {
		t.Fatalf("the supervisor called in: %d %+v", st, c.Followers)
	}
	f := inbox.next(func(f frame) bool {
		return f.Type == "conversation" && f.Event == parley.EventConversationFollowed && strings.Contains(string(f.raw), `"user_id":"`+b.supervisor.ID+`"`)
	})
	var change parley.FollowChange
	json.Unmarshal(f.Conversation, &change)
	if !slices.Equal(change.Followers, []string{b.agent.ID, b.supervisor.ID}) || !strings.Contains(string(f.raw), `"by":"`+b.agent.ID+`"`) {
		t.Fatalf("the inbox's frame: %s", f.raw)
	}

	// Refused, and nothing changed.
	ts.withKey(t, b.apiKey).do("POST", "/api/v1/users", map[string]any{"email": "old@acme.test", "name": "Old", "password": password, "role": "agent"}, &parley.User{})
	var old parley.User
	for _, u := range listUsers(t, admin) {
		if u.Email == "old@acme.test" {
			old = u
		}
	}
	admin.do("PATCH", "/api/v1/users/"+old.ID, map[string]any{"active": false}, nil)
	for _, bad := range []struct {
		c      *client
		user   string
		status int
		want   string
	}{
		{agent, parley.NewID("usr"), 404, "not found"},
		{agent, old.ID, 409, "not active"},
		{agent, "someone", 400, "user ID"},
		{v.client, "me", 403, "your role may not PUT /api/v1/conversations/{id}/followers/{user}"},
		{ts.withKey(t, b.apiKey), "me", 403, "only a person"},
	} {
		if st, raw := bad.c.raw("PUT", path+bad.user, nil); st != bad.status || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("PUT %s: %d %s", bad.user, st, raw)
		}
	}
	if st, raw := v.raw("GET", "/api/v1/conversations?followed_by=me", nil); st != 403 {
		t.Fatalf("a visitor's Following: %d %s", st, raw)
	}
	if st, raw := agent.raw("GET", "/api/v1/conversations?followed_by=everyone", nil); st != 400 {
		t.Fatalf("followed_by=everyone: %d %s", st, raw)
	}

	// Their Following lists it; not the admin's.
	following := func(c *client) int {
		var page struct{ Conversations []parley.Conversation }
		if st := c.do("GET", "/api/v1/conversations?followed_by=me", nil, &page); st != 200 {
			t.Fatalf("followed_by=me: %d", st)
		}
		return len(page.Conversations)
	}
	if following(agent) != 1 || following(supervisor) != 1 || following(admin) != 0 {
		t.Fatalf("Following: agent %d, supervisor %d, admin %d", following(agent), following(supervisor), following(admin))
	}
	// A note that calls the admin in makes her follow.
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "@admin a refund over the limit", "mentions": []string{b.admin.ID}}, nil); st != 201 {
		t.Fatalf("note: %d", st)
	}
	if following(admin) != 1 {
		t.Fatal("the mentioned admin does not follow the conversation")
	}
	// The agent stops.
	if st := agent.do("DELETE", path+"me", nil, &c); st != 200 || !slices.Equal(c.Followers, []string{b.supervisor.ID, b.admin.ID}) {
		t.Fatalf("the agent stops: %d %+v", st, c.Followers)
	}

	// The visitor never learns who follows: no frame, nothing in the
	// conversation they read.
	visitorWS.send(`{"type":"ping","id":"end"}`)
	visitorWS.next(reply("end"))
	for _, f := range visitorWS.pending {
		if f.Event == parley.EventConversationFollowed || strings.Contains(string(f.raw), "followers") {
			t.Fatalf("the visitor got %s", f.raw)
		}
	}
	if _, raw := v.raw("GET", "/api/v1/conversations/"+conv.ID, nil); strings.Contains(string(raw), "followers") || strings.Contains(string(raw), b.supervisor.ID) {
		t.Fatalf("the visitor's conversation: %s", raw)
	}

	// Closed: no new follower.
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/close", map[string]any{}, nil); st != 200 {
		t.Fatalf("close: %d", st)
	}
	if st, raw := agent.raw("PUT", path+"me", nil); st != 409 || !strings.Contains(string(raw), "closed") {
		t.Fatalf("following a closed conversation: %d %s", st, raw)
	}
}

func listUsers(t *testing.T, c *client) []parley.User {
	t.Helper()
	var page struct{ Users []parley.User }
	if st := c.do("GET", "/api/v1/users", nil, &page); st != 200 {
		t.Fatalf("users: %d", st)
	}
	return page.Users
}

// TestAnAgentFollowsAConversationInTheConsole: in Chromium, an agent
// follows Maya's conversation from its header, goes on to another, and
// hears at once when Maya writes again; Following lists hers alone.
func TestAnAgentFollowsAConversationInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	maya := ts.newVisitor(t, brand.account.ID)
	maya.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Maya Lind"}, nil)
	mayas := maya.open(t)
	maya.do("POST", "/api/v1/conversations/"+mayas.ID+"/messages", map[string]any{"text": "My parcel is late"}, nil)
	other := ts.newVisitor(t, brand.account.ID)
	others := other.open(t)
	other.do("POST", "/api/v1/conversations/"+others.ID+"/messages", map[string]any{"text": "Do you sell gift cards?"}, nil)

	console := consoleLogin(t, ts, brand.agent, "[data-tab=queued]")
	open := func(id string) {
		waitFor(t, func() bool {
			return evalIn[bool](t, console.ctx, `(() => { const li = document.querySelector('.items li[data-id="`+id+`"]');
				if (li && li.getAttribute("aria-current") === "true" && !document.querySelector(".conversation").hidden) return true;
				li?.click(); return false })()`)
		})
	}
	open(mayas.ID)
	console.press(".follow")
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `document.querySelector(".follow").getAttribute("aria-pressed") === "true" &&
			document.querySelector(".conv-followers").textContent === "Followed by you"`)
	}, func() string { return evalIn[string](t, console.ctx, `document.querySelector(".conv-head").innerText`) })
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, mayas.ID); len(c.Followers) != 1 || c.Followers[0] != brand.agent.ID {
		t.Fatalf("followers stored: %v", c.Followers)
	}
	if problems := accessibilityProblems(t, console.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the header: %s", strings.Join(problems, "\n"))
	}
	console.press(".show-activity")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, console.ctx, `document.querySelector("#activity").textContent`), "Followed by you")
	}, func() string {
		return evalIn[string](t, console.ctx, `document.querySelector("#activity").textContent`)
	})
	console.shot("following")

	// On to the other visitor; Maya writes again, and the agent hears it.
	open(others.ID)
	maya.do("POST", "/api/v1/conversations/"+mayas.ID+"/messages", map[string]any{"text": "Any news?"}, nil)
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, console.ctx, `document.querySelector(".toast").textContent`), "New message from Maya Lind")
	}, func() string { return evalIn[string](t, console.ctx, `document.querySelector(".toast").textContent`) })

	console.press("[data-tab=followed]")
	waitFor(t, func() bool {
		return evalIn[string](t, console.ctx, `[...document.querySelectorAll(".items li")].map(li => li.dataset.id).join()`) == mayas.ID
	}, func() string { return evalIn[string](t, console.ctx, `document.querySelector(".items").innerText`) })
}

// TestAFollowerAwayIsEmailed: the supervisor follows a conversation and
// is not in the console; what the visitor writes reaches them by email,
// with a link to the conversation. They turn it off in their profile.
func TestAFollowerAwayIsEmailed(t *testing.T) {
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick, c.MentionEmailDelay = mail.URL(), "replies@parley.test", 50*time.Millisecond, -time.Second
		c.PublicURL = "https://chat.acme.test"
	})
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	supervisor := ts.login(t, b.supervisor)
	if st := supervisor.do("PUT", "/api/v1/conversations/"+conv.ID+"/followers/me", nil, nil); st != 200 {
		t.Fatalf("follow: %d", st)
	}
	if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "My order never came"}, nil); st != 201 {
		t.Fatalf("visitor writes: %d", st)
	}
	r, body := nextMail(t, mail)
	if len(r.To) != 1 || r.To[0] != b.supervisor.Email || !strings.Contains(body, "My order never came") ||
		!strings.Contains(body, "https://chat.acme.test/console/#conversation="+conv.ID) {
		t.Fatalf("to %v:\n%s", r.To, body)
	}

	var me struct {
		FollowEmails *bool `json:"follow_emails"`
	}
	if supervisor.do("GET", "/api/v1/me", nil, &me); me.FollowEmails == nil || !*me.FollowEmails {
		t.Fatalf("follow_emails before turning them off: %v", me.FollowEmails)
	}
	if st := supervisor.do("PATCH", "/api/v1/me", map[string]any{"follow_emails": false}, &me); st != 200 || me.FollowEmails == nil || *me.FollowEmails {
		t.Fatalf("turning them off: %d %v", st, me.FollowEmails)
	}
	if u, _ := ts.Store.FindUser(t.Context(), b.account.ID, b.supervisor.ID); !u.FollowEmailsOff || u.MentionEmailsOff {
		t.Fatalf("stored: follow off %v, mention off %v", u.FollowEmailsOff, u.MentionEmailsOff)
	}
}
