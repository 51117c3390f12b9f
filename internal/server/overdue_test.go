package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/server"
)

// TestAWaitPastTheReplyTargetIsReported: with a reply target, a visitor
// who waits on the agent past it is reported once per message waiting
// (conversation.reply_overdue, for webhooks and the Activity), the
// supervisor's overview counts it against the agent, and the agent's
// answer ends it. A second watch — a node taking over — reports nothing
// again.
func TestAWaitPastTheReplyTargetIsReported(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.StatusTick = 50 * time.Millisecond })
	b := seedBrand(t, ts, "Acme")
	setReplyTarget(t, ts, b, 1)
	online(t, ts, b.agent)
	agent := ts.login(t, b.agent)
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	say := func(text string) {
		t.Helper()
		if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": text}, nil); st != 201 {
			t.Fatalf("send: %d", st)
		}
	}
	say("Is my order on its way?")
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	reports := func() []conversation.ReplyOverdue {
		var out []conversation.ReplyOverdue
		for _, e := range waitEventsNow(ts, b.account.ID, parley.EventReplyOverdue) {
			var r conversation.ReplyOverdue
			json.Unmarshal(e.Data, &r)
			out = append(out, r)
		}
		return out
	}
	waitFor(t, func() bool { return len(reports()) == 1 })
	first := reports()[0]
	if first.ConversationID != conv.ID || first.AssigneeID != b.agent.ID || first.TargetSeconds != 1 || first.MessageSeq == 0 {
		t.Fatalf("report: %+v", first)
	}
	overdue := func() int { return overdueOf(t, ts, b, b.agent.ID) }
	if n := overdue(); n != 1 {
		t.Fatalf("overview: %d overdue", n)
	}
	// Another message waits: a second report, and the first is not repeated.
	say("Hello?")
	waitFor(t, func() bool { return len(reports()) == 2 })
	if r := reports(); r[0].MessageSeq == r[1].MessageSeq {
		t.Fatalf("the same wait reported twice: %+v", r)
	}
	// A node taking over finds it reported.
	if err := conversation.NewOverdueWatch(ts.Store).Sweep(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(reports()); n != 2 {
		t.Fatalf("%d reports after another watch's round", n)
	}
	// Answered: no longer overdue.
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Yes, it left today."}, nil)
	if n := overdue(); n != 0 {
		t.Fatalf("overview after the answer: %d overdue", n)
	}
}

// TestRaisedConversationsHaveTighterReplyTargets: with an hour for normal
// conversations and a second for urgent ones, only the urgent wait is
// reported and counted, with its own target; targets out of order or
// range are refused by name.
func TestRaisedConversationsHaveTighterReplyTargets(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.StatusTick = 50 * time.Millisecond })
	b := seedBrand(t, ts, "Acme")
	admin := ts.withKey(t, b.apiKey)
	for _, bad := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"response_target_seconds": 600, "response_target_high_seconds": 900}, "response_target_high_seconds (900) is longer than the normal target (600)"},
		{map[string]any{"response_target_seconds": 600, "response_target_high_seconds": 300, "response_target_urgent_seconds": 400}, "response_target_urgent_seconds (400) is longer than the high target (300)"},
		{map[string]any{"response_target_urgent_seconds": 90000}, "response_target_urgent_seconds must be from 0"},
	} {
		if st, raw := admin.raw("PATCH", "/api/v1/account-settings", bad.body); st != 400 || !strings.Contains(string(raw), bad.want) {
			t.Errorf("%v: %d %s", bad.body, st, raw)
		}
	}
	var saved struct {
		Normal int `json:"response_target_seconds"`
		Urgent int `json:"response_target_urgent_seconds"`
	}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"response_target_seconds": 3600, "response_target_urgent_seconds": 1}, &saved); st != 200 || saved.Normal != 3600 || saved.Urgent != 1 {
		t.Fatalf("save: %d %+v", st, saved)
	}
	online(t, ts, b.agent)
	agent := ts.login(t, b.agent)
	normal, urgent := waitingOn(t, ts, b, agent, 0), waitingOn(t, ts, b, agent, parley.PriorityUrgent)
	waitFor(t, func() bool { return len(waitEventsNow(ts, b.account.ID, parley.EventReplyOverdue)) == 1 })
	var r conversation.ReplyOverdue
	json.Unmarshal(waitEventsNow(ts, b.account.ID, parley.EventReplyOverdue)[0].Data, &r)
	if r.ConversationID != urgent.ID || r.TargetSeconds != 1 {
		t.Fatalf("reported: %+v (urgent %s, normal %s)", r, urgent.ID, normal.ID)
	}
	if n := overdueOf(t, ts, b, b.agent.ID); n != 1 {
		t.Fatalf("overview: %d overdue, want the urgent one", n)
	}
}

// overdueOf is how many overdue conversations the supervisor's overview
// counts for an agent (-1: the agent is not listed).
func overdueOf(t *testing.T, ts *testServer, b brand, agentID string) int {
	t.Helper()
	var ov struct {
		Agents []struct {
			ID      string `json:"id"`
			Overdue int    `json:"overdue"`
		} `json:"agents"`
	}
	ts.login(t, b.supervisor).do("GET", "/api/v1/supervisor/overview", nil, &ov)
	for _, a := range ov.Agents {
		if a.ID == agentID {
			return a.Overdue
		}
	}
	return -1
}

// waitingOn opens a conversation whose visitor asked a question, which
// the agent (a logged-in client) accepted and set to priority.
func waitingOn(t *testing.T, ts *testServer, b brand, agent *client, priority int) *parley.Conversation {
	t.Helper()
	v := ts.newVisitor(t, b.account.ID)
	c := v.open(t)
	v.do("POST", "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "Where is my order?"}, nil)
	if st := agent.do("POST", "/api/v1/conversations/"+c.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	if st := agent.do("PUT", "/api/v1/conversations/"+c.ID+"/priority", map[string]any{"priority": priority}, nil); st != 200 {
		t.Fatalf("priority: %d", st)
	}
	return c
}

// TestARuleEscalatesAWaitPastTheReplyTarget: "when a visitor waits past
// the reply target, make it urgent, tell the supervisor and apologise" —
// a rule on reply_overdue, once per message that waits.
func TestARuleEscalatesAWaitPastTheReplyTarget(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.StatusTick = 50 * time.Millisecond })
	b := seedBrand(t, ts, "Acme")
	setReplyTarget(t, ts, b, 1)
	rules := []map[string]any{{"name": "Late", "event": "reply_overdue",
		"actions": []map[string]any{{"type": "set_priority", "value": "10"}, {"type": "notify", "value": b.supervisor.ID},
			{"type": "send_message", "value": "Sorry for the wait: {{agent_first_name}} is on it."}}}}
	if st, body := ts.login(t, b.admin).raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}); st != 200 {
		t.Fatalf("saving the rule: %d %s", st, body)
	}
	online(t, ts, b.agent)
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Is my order on its way?"}, nil); st != 201 {
		t.Fatalf("send: %d", st)
	}
	if st := ts.login(t, b.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID)
		return c.Priority == 10
	})
	waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 1)
	var said []string
	for _, m := range mustMessages(t, ts, b.account.ID, conv.ID) {
		said = append(said, m.Text)
	}
	if !strings.Contains(strings.Join(said, " | "), "Sorry for the wait: agent is on it.") {
		t.Fatalf("messages: %q", said)
	}
	if notes, _ := ts.Store.ListNotes(t.Context(), b.account.ID, conv.ID); len(notes) != 1 || len(notes[0].Mentions) != 1 || notes[0].Mentions[0] != b.supervisor.ID {
		t.Fatalf("notes: %+v; want one mentioning the supervisor", notes)
	}
}

// setReplyTarget gives the brand a reply target of seconds.
func setReplyTarget(t *testing.T, ts *testServer, b brand, seconds int) {
	t.Helper()
	if _, err := ts.Store.ChangeAccount(t.Context(), b.account.ID, func(a *parley.Account) error {
		a.Settings.ResponseTargetSeconds = seconds
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
