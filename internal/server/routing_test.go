package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/server"
)

// online connects a user over the protocol and sets them online.
func online(t *testing.T, ts *testServer, u *parley.User) *wsClient {
	t.Helper()
	c := agentWS(t, ts, u)
	c.send(`{"type":"presence","id":"on","state":"online"}`)
	if f := c.next(reply("on")); f.Type != "presence_set" {
		t.Fatalf("presence: %s", f.raw)
	}
	return c
}

func setAutoAssign(t *testing.T, ts *testServer, b brand, on bool) {
	t.Helper()
	a, _ := ts.Store.FindAccount(context.Background(), b.account.ID)
	a.Settings.AutoAssign = on
	if err := ts.Store.UpdateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func TestAnOnlineAgentIsAssignedWaitingVisitors(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, b, true)
	agent := online(t, ts, b.agent)
	agent.send(`{"type":"subscribe_inbox","id":"in"}`)
	agent.next(reply("in"))
	conv := ts.newVisitor(t, b.account.ID).open(t)
	f := agent.next(func(f frame) bool { return f.Type == "conversation" && f.Event == parley.EventConversationAssigned })
	var c parley.Conversation
	json.Unmarshal(f.Conversation, &c)
	if c.ID != conv.ID || c.AssigneeID != b.agent.ID {
		t.Fatalf("assigned %s to %s", c.ID, c.AssigneeID)
	}
	// Going offline puts it back in the queue.
	agent.send(`{"type":"presence","id":"off","state":"offline"}`)
	agent.next(reply("off"))
	waitFor(t, func() bool {
		got, _ := ts.Store.FindConversation(context.Background(), b.account.ID, conv.ID)
		return got.State == parley.StateQueued
	})
}

func TestAcceptAndTransferRules(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	ctx := context.Background()
	other := &parley.User{AccountID: b.account.ID, Email: "second@acme.test", Name: "Second Agent", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true, PasswordHash: b.agent.PasswordHash}
	ts.Store.CreateUser(ctx, other)
	conv := ts.newVisitor(t, b.account.ID).open(t)
	first, second, sup := ts.login(t, b.agent), ts.login(t, other), ts.login(t, b.supervisor)
	path := "/api/v1/conversations/" + conv.ID

	if st, raw := first.raw("POST", path+"/accept", nil); st != 200 {
		t.Fatalf("accept: %d %s", st, raw)
	}
	if st, raw := second.raw("POST", path+"/accept", nil); st != 409 || errorCode(raw) != parley.ECONFLICT {
		t.Fatalf("accepting a taken conversation: %d %s", st, raw)
	}
	if st, _ := second.raw("POST", path+"/transfer", map[string]any{"agent_id": other.ID}); st != 403 {
		t.Fatalf("another agent transferred it: %d", st)
	}
	unchanged := func() {
		t.Helper()
		c, _ := ts.Store.FindConversation(ctx, b.account.ID, conv.ID)
		if c.State != parley.StateAssigned || c.AssigneeID != b.agent.ID {
			t.Fatalf("a refused transfer changed the conversation: %+v", c)
		}
	}
	var nobody parley.Skill
	ts.withKey(t, b.apiKey).do("POST", "/api/v1/skills", map[string]any{"name": "klingon"}, &nobody)
	if st, raw := first.raw("POST", path+"/transfer", map[string]any{"skill_id": nobody.ID}); st != 400 {
		t.Fatalf("transfer to a skill nobody has: %d %s", st, raw)
	}
	unchanged()
	if st, raw := first.raw("POST", path+"/transfer", map[string]any{"agent_id": other.ID}); st != 409 {
		t.Fatalf("transfer to an offline agent: %d %s", st, raw)
	}
	unchanged()
	if st, _ := first.raw("POST", path+"/transfer", map[string]any{"skill_id": nobody.ID, "agent_id": other.ID}); st != 400 {
		t.Fatalf("both targets: %d", st)
	}
	online(t, ts, other)
	var moved parley.Conversation
	if st := first.do("POST", path+"/transfer", map[string]any{"agent_id": other.ID}, &moved); st != 200 || moved.AssigneeID != other.ID {
		t.Fatalf("transfer to an online agent: %d %+v", st, moved)
	}
	// A supervisor may transfer anyone's conversation, back to the queue by skill.
	skill := &parley.Skill{AccountID: b.account.ID, Name: "vip"}
	ts.Store.CreateSkill(ctx, skill)
	b.agent.Skills = []string{skill.ID}
	ts.Store.UpdateUser(ctx, b.agent)
	if st := sup.do("POST", path+"/transfer", map[string]any{"skill_id": skill.ID}, &moved); st != 200 || moved.State != parley.StateQueued || moved.Skill != skill.ID {
		t.Fatalf("supervisor transfer to a skill: %+v", moved)
	}
	// The visitor was told, in order, as system messages.
	want := []string{b.agent.Name + " joined the conversation", "Second Agent joined the conversation", "You are being transferred to another agent"}
	waitFor(t, func() bool {
		var got []string
		for _, m := range mustMessages(t, ts, b.account.ID, conv.ID) {
			if m.SenderKind == parley.SenderSystem {
				got = append(got, m.Text)
			}
		}
		return strings.Join(got, "|") == strings.Join(want, "|")
	})
}

func TestVisitorsWaitingLongAreToldTheyAreInLine(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.QueueNoticeTick = 20 * time.Millisecond })
	b := seedBrand(t, ts, "Acme")
	a, _ := ts.Store.FindAccount(context.Background(), b.account.ID)
	one := 1
	a.Settings.QueueNoticeSeconds = &one
	ts.Store.UpdateAccount(context.Background(), a)
	conv := ts.newVisitor(t, b.account.ID).open(t)
	var notice *parley.Message
	waitFor(t, func() bool {
		for _, m := range mustMessages(t, ts, b.account.ID, conv.ID) {
			if m.SenderKind == parley.SenderSystem && strings.Contains(m.Text, "in line") {
				notice = m
				return true
			}
		}
		return false
	})
	// The widget says it in the visitor's language from its code.
	if notice.Notice == nil || notice.Notice.Code != parley.NoticeInLine {
		t.Fatalf("queue notice without its code: %+v", notice)
	}
}

func TestNotesAreForStaffOnly(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	vis := connect(t, ts, v.token, nil)
	vis.subscribe(conv.ID, 0)
	agent := agentWS(t, ts, b.agent)
	agent.subscribe(conv.ID, 0)

	sup := ts.login(t, b.supervisor)
	var n parley.Note
	if st := sup.do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "Careful: VIP, offer free shipping"}, &n); st != 201 || n.AuthorName != b.supervisor.Name {
		t.Fatalf("whisper: %d %+v", st, n)
	}
	if f := agent.next(ofType("note")); !strings.Contains(string(f.raw), "free shipping") {
		t.Fatalf("agent got %s", f.raw)
	}
	// The visitor's next frame after a ping is the pong: no note came.
	vis.send(`{"type":"ping","id":"p"}`)
	if f := vis.next(func(f frame) bool { return f.Type == "note" || f.ID == "p" }); f.Type == "note" {
		t.Fatalf("the visitor got a note: %s", f.raw)
	}
	if st, _ := v.raw("GET", "/api/v1/conversations/"+conv.ID+"/notes", nil); st != 403 {
		t.Fatalf("visitor listed notes: %d", st)
	}
	// Notes are not messages: the visitor's seqs stay gap-free.
	ack := vis.sendText(conv.ID, "c1", "hello")
	if ack.Seq != 1 {
		t.Fatalf("first message has seq %d", ack.Seq)
	}
	var list struct{ Notes []parley.Note }
	ts.login(t, b.agent).do("GET", "/api/v1/conversations/"+conv.ID+"/notes", nil, &list)
	if len(list.Notes) != 1 {
		t.Fatalf("%d notes", len(list.Notes))
	}
}

func TestSupervisorOverview(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, b, true)
	online(t, ts, b.agent) // capacity 5
	var sk parley.Skill
	ts.withKey(t, b.apiKey).do("POST", "/api/v1/skills", map[string]any{"name": "returns"}, &sk)
	ts.newVisitor(t, b.account.ID).open(t) // assigned to the agent
	api := ts.withKey(t, b.apiKey)
	for i := 0; i < 2; i++ { // nobody has "returns": they wait
		api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": "c" + string(rune('a'+i))}, "skill": sk.ID}, nil)
	}
	var o struct {
		Queues []struct {
			SkillName string `json:"skill_name"`
			Depth     int
		}
		Agents []struct {
			ID       string
			Presence string
			Load     int
		}
	}
	waitFor(t, func() bool {
		ts.login(t, b.supervisor).do("GET", "/api/v1/supervisor/overview", nil, &o)
		for _, a := range o.Agents {
			if a.ID == b.agent.ID && a.Presence == "online" && a.Load == 1 {
				return len(o.Queues) == 1 && o.Queues[0].SkillName == "returns" && o.Queues[0].Depth == 2
			}
		}
		return false
	})
	if st, _ := ts.login(t, b.agent).raw("GET", "/api/v1/supervisor/overview", nil); st != 403 {
		t.Fatalf("an agent read the supervisor overview: %d", st)
	}
}

func TestBusinessHoursDecideWhetherVisitorsCanExpectAnAnswer(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	online(t, ts, b.agent)
	admin := ts.withKey(t, b.apiKey)
	availability := func() (online, open bool) {
		resp, err := http.Get(ts.url + "/widget/availability?account=" + b.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct{ AgentsOnline, Open bool }
		var raw map[string]bool
		json.NewDecoder(resp.Body).Decode(&raw)
		a.AgentsOnline, a.Open = raw["agents_online"], raw["open"]
		return a.AgentsOnline, a.Open
	}
	if on, open := availability(); !on || !open {
		t.Fatalf("no hours set, agent online: online=%v open=%v", on, open)
	}
	closedAllWeek := map[string]any{"auto_assign": true, "business_hours": map[string]any{"time_zone": "Europe/Paris", "days": map[string]any{}}}
	if st, raw := admin.raw("PUT", "/api/v1/account-settings", closedAllWeek); st != 200 {
		t.Fatalf("save hours: %d %s", st, raw)
	}
	if on, open := availability(); on || open {
		t.Fatalf("outside hours: online=%v open=%v, want the offline form", on, open)
	}
	allDay := map[string]any{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		allDay[d] = [][2]string{{"00:00", "24:00"}}
	}
	admin.do("PUT", "/api/v1/account-settings", map[string]any{"business_hours": map[string]any{"time_zone": "UTC", "days": allDay}}, nil)
	if on, open := availability(); !on || !open {
		t.Fatalf("inside hours: online=%v open=%v", on, open)
	}
	for name, bad := range map[string]map[string]any{
		"zone":   {"business_hours": map[string]any{"time_zone": "Nowhere/Land", "days": map[string]any{}}},
		"window": {"business_hours": map[string]any{"time_zone": "UTC", "days": map[string]any{"mon": [][2]string{{"18:00", "09:00"}}}}},
		"notice": {"queue_notice_seconds": -5},
	} {
		if st, raw := admin.raw("PUT", "/api/v1/account-settings", bad); st != 400 {
			t.Fatalf("%s: %d %s", name, st, raw)
		}
	}
	if st, _ := ts.login(t, b.agent).raw("PUT", "/api/v1/account-settings", map[string]any{}); st != 403 {
		t.Fatalf("an agent changed account settings: %d", st)
	}
}

func TestDeactivatingAnAgentEndsTheirSocketsAndRequeuesTheirWork(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, b, true)
	agent := online(t, ts, b.agent)
	conv := ts.newVisitor(t, b.account.ID).open(t)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(context.Background(), b.account.ID, conv.ID)
		return c.State == parley.StateAssigned
	})
	if st, _ := ts.withKey(t, b.apiKey).raw("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"active": false}); st != 200 {
		t.Fatalf("deactivate: %d", st)
	}
	if code := agent.waitClosed(); code != 4001 {
		t.Fatalf("the deactivated agent's socket closed with %d, want 4001", code)
	}
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(context.Background(), b.account.ID, conv.ID)
		return c.State == parley.StateQueued && c.AssigneeID == ""
	})
}

func TestRevokingAnAPIKeyEndsItsSockets(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	c := connect(t, ts, b.apiKey, nil)
	id := strings.SplitN(b.apiKey, ".", 2)[0]
	if st, _ := ts.login(t, b.admin).raw("DELETE", "/api/v1/api-keys/"+id, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	if code := c.waitClosed(); code != 4001 {
		t.Fatalf("the revoked key's socket closed with %d, want 4001", code)
	}
}

func TestLogoutEndsTheSessionsSockets(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	c := ts.login(t, b.agent)
	req, _ := http.NewRequest("GET", ts.url, nil)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		h.Set("Cookie", ck.Name+"="+ck.Value)
	}
	ws := connect(t, ts, "", h)
	other := agentWS(t, ts, b.agent) // another session of the same agent stays
	if st, _ := c.raw("POST", "/api/v1/auth/logout", nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	if code := ws.waitClosed(); code != 4001 {
		t.Fatalf("the logged-out session's socket closed with %d, want 4001", code)
	}
	other.send(`{"type":"ping","id":"still"}`)
	other.next(reply("still"))
}

// TestARaisedConversationIsServedFirst: two visitors wait; a supervisor
// raises the later one's priority (an agent cannot set a bad one, a
// visitor none at all); the agent who comes online with room for one gets
// the raised conversation, and the inbox heard of the change.
func TestARaisedConversationIsServedFirst(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, b, true)
	b.agent.MaxConcurrent = 1
	if err := ts.Store.UpdateUser(context.Background(), b.agent); err != nil {
		t.Fatal(err)
	}
	earlier := ts.newVisitor(t, b.account.ID).open(t)
	v := ts.newVisitor(t, b.account.ID)
	later := v.open(t)
	watcher := agentWS(t, ts, b.supervisor)
	watcher.send(`{"type":"subscribe_inbox","id":"in"}`)
	watcher.next(reply("in"))
	path := "/api/v1/conversations/" + later.ID + "/priority"
	if st, raw := ts.login(t, b.agent).raw("PUT", path, map[string]any{"priority": 11}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("priority 11: status %d %s", st, raw)
	}
	if st, _ := v.raw("PUT", path, map[string]any{"priority": 10}); st != 403 {
		t.Fatalf("a visitor raising their own conversation: status %d", st)
	}
	var raised parley.Conversation
	if st := ts.login(t, b.supervisor).do("PUT", path, map[string]any{"priority": 10}, &raised); st != 200 || raised.Priority != 10 {
		t.Fatalf("raise: status %d %+v", st, raised)
	}
	watcher.next(func(f frame) bool { return f.Type == "conversation" && f.Event == parley.EventConversationPriority })
	online(t, ts, b.agent)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(context.Background(), b.account.ID, later.ID)
		return c.State == parley.StateAssigned
	})
	if c, _ := ts.Store.FindConversation(context.Background(), b.account.ID, earlier.ID); c.State != parley.StateQueued {
		t.Fatalf("the earlier, lower conversation is %s", c.State)
	}
}

// TestAnIdleAgentIsSetAway: in Chromium, an Online agent who does not
// touch the console for the brand's auto-away time is set Away — the
// router's presence says so, and the console says why — and one click
// brings them back Online. Out-of-range settings are refused.
func TestAnIdleAgentIsSetAway(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"auto_away_seconds": 30})
	if st != 400 || !strings.Contains(string(raw), "auto_away_seconds") {
		t.Fatalf("30 s: status %d %s", st, raw)
	}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"auto_away_seconds": 600}, nil); st != 200 {
		t.Fatalf("10 min: status %d", st)
	}
	// Three seconds, below what the API takes, so the test does not wait a minute.
	ts.Store.ChangeAccount(t.Context(), brand.account.ID, func(a *parley.Account) error { a.Settings.AutoAwaySeconds = 3; return nil })

	b := consoleLogin(t, ts, brand.agent, ".app")
	presence := func() string { return string(ts.Routing.Presence(brand.account.ID, brand.agent.ID)) }
	waitFor(t, func() bool { return presence() == "away" }, presence)
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `!document.querySelector(".auto-away").hidden && document.querySelector(".presence").value === "away"`)
	})
	// The click is activity too: they are Online, without the notice, for
	// the next three seconds at least.
	b.press(".back-online")
	waitFor(t, func() bool {
		return presence() == "online" && evalIn[bool](t, b.ctx, `document.querySelector(".auto-away").hidden`)
	}, presence)
}
