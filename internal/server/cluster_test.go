package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/email/mailbox"
	"github.com/parleychat/parley/internal/natstest"
	"github.com/parleychat/parley/internal/routing"
	"github.com/parleychat/parley/internal/server"
)

// startCluster starts two nodes of one installation: one PostgreSQL
// database, one NATS subject prefix, one secret, each node with its own
// data dir (and nothing in it that matters).
func startCluster(t *testing.T, tweak ...func(*server.Config)) (a, b *testServer) {
	t.Helper()
	natsURL := natstest.URL(t)
	var p [6]byte
	rand.Read(p[:])
	db, prefix := migratedPostgres(t), "parleytest"+hex.EncodeToString(p[:])
	node := func(c *server.Config) {
		c.DatabaseURL, c.NATSURL, c.NATSPrefix = db, natsURL, prefix
		c.Secret = "a cluster's shared secret, 32+ characters long"
	}
	tweak = append(tweak, node)
	return startServer(t, t.TempDir(), tweak...), startServer(t, t.TempDir(), tweak...)
}

// TestAVisitorOnOneNodeAndAnAgentOnAnotherConverse: the cluster shape end
// to end — the visitor's messages, written by node A, reach the agent
// connected to node B through NATS, and the agent's answers come back;
// node B's router assigns a visitor who arrived at node A.
func TestAVisitorOnOneNodeAndAnAgentOnAnotherConverse(t *testing.T) {
	nodeA, nodeB := startCluster(t)
	brand := seedBrand(t, nodeA, "Acme")
	setAutoAssign(t, nodeA, brand, true)

	agent := online(t, nodeB, brand.agent)
	agent.send(`{"type":"subscribe_inbox","id":"in"}`)
	agent.next(reply("in"))

	v := nodeA.newVisitor(t, brand.account.ID) // a token node A signed, used on node B below
	conv := v.open(t)
	f := agent.next(func(f frame) bool { return f.Type == "conversation" && f.Event == parley.EventConversationAssigned })
	var assigned parley.Conversation
	json.Unmarshal(f.Conversation, &assigned)
	if assigned.ID != conv.ID || assigned.AssigneeID != brand.agent.ID {
		t.Fatalf("node B assigned %s to %q", assigned.ID, assigned.AssigneeID)
	}

	visitor := connect(t, nodeA, v.token, nil)
	visitor.subscribe(conv.ID, 0)
	agent.subscribe(conv.ID, 0)
	from := func(kind parley.SenderKind) func(frame) bool {
		return func(f frame) bool {
			return f.Type == "message" && f.ConversationID == conv.ID && f.msg(t).SenderKind == kind
		}
	}
	visitor.sendText(conv.ID, "v-1", "my card has not arrived")
	question := agent.next(from(parley.SenderConsumer)).msg(t)
	if question.Text != "my card has not arrived" {
		t.Fatalf("agent on node B got %+v", question)
	}
	agent.sendText(conv.ID, "a-1", "It is on its way")
	if m := visitor.next(from(parley.SenderAgent)).msg(t); m.Text != "It is on its way" || m.Seq != question.Seq+1 {
		t.Fatalf("visitor on node A got %+v after seq %d", m, question.Seq)
	}

	// The visitor moves to node B (a load balancer without sticky
	// sessions) and resumes from the last seq it saw: nothing missed.
	elsewhere := connect(t, nodeB, v.token, nil)
	if missed := elsewhere.subscribe(conv.ID, question.Seq); len(missed) != 1 || missed[0].Text != "It is on its way" {
		t.Fatalf("resync on node B: %+v", missed)
	}
}

// TestOneNodeAnswersEachQuestionToTheBot: every node hears of a visitor's
// message, but only the node that stored it runs the bot's turn — an
// external bot is called once per question, not once per node.
func TestOneNodeAnswersEachQuestionToTheBot(t *testing.T) {
	nodeA, nodeB := startCluster(t, func(c *server.Config) { c.AllowPrivateOutbound = true })
	brand := seedBrand(t, nodeA, "Acme")
	var calls atomic.Int32
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct{ Text string }
		json.NewDecoder(r.Body).Decode(&req)
		json.NewEncoder(w).Encode(map[string]any{"messages": []map[string]any{{"text": "You said: " + req.Text}}})
	}))
	defer ext.Close()
	if st, raw := nodeB.withKey(t, brand.apiKey).raw("PUT", "/api/v1/bot", map[string]any{"enabled": true, "external": map[string]any{"url": ext.URL, "timeout_ms": 2000}}); st != 200 {
		t.Fatalf("save: %d %s", st, raw)
	}
	// Node A hears of the bot over NATS: a conversation opened there
	// before that would start with people.
	waitFor(t, func() bool { return nodeA.Bot.Enabled(context.Background(), brand.account.ID) })
	v := nodeA.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	if conv.State != parley.StateBot {
		t.Fatalf("the conversation starts %s, not with the bot", conv.State)
	}
	onA, onB := connect(t, nodeA, v.token, nil), connect(t, nodeB, v.token, nil) // two tabs, two nodes
	onA.subscribe(conv.ID, 0)
	onB.subscribe(conv.ID, 0)
	for i, q := range []string{"hello bot", "and again"} {
		sender := []*wsClient{onA, onB}[i] // the first question stored by node A, the second by node B
		sender.sendText(conv.ID, fmt.Sprintf("q%d", i), q)
		for _, tab := range []*wsClient{onA, onB} {
			if m := nextBot(t, tab, conv.ID); m.Text != "You said: "+q {
				t.Fatalf("answer: %+v", m)
			}
		}
	}
	// Both answers are in; had the other node also run a turn, its call
	// would have been made before its (refused) write.
	msgs, _ := nodeA.Store.ListMessages(context.Background(), brand.account.ID, conv.ID, 0, 100)
	bots := 0
	for _, m := range msgs {
		if m.SenderKind == parley.SenderBot {
			bots++
		}
	}
	if n := calls.Load(); n != 2 || bots != 2 {
		t.Fatalf("the external bot was called %d times and answered %d times for 2 questions", n, bots)
	}
}

// TestAnAgentIsOnlineForTheWholeCluster: whether an agent is online is a
// question about every node: the widget served by node A offers live chat
// while the only agent is connected to node B, and an agent who moves from
// node B to node A keeps their conversations when node B's grace period
// for them ends.
func TestAnAgentIsOnlineForTheWholeCluster(t *testing.T) {
	nodeA, nodeB := startCluster(t, func(c *server.Config) {
		c.Routing = routing.Config{Grace: 2 * time.Second, Tick: 50 * time.Millisecond}
	})
	brand := seedBrand(t, nodeA, "Acme")
	setAutoAssign(t, nodeA, brand, true)
	agentsOnline := func(ts *testServer) bool {
		resp, err := http.Get(ts.url + "/widget/availability?account=" + brand.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a map[string]bool
		json.NewDecoder(resp.Body).Decode(&a)
		return a["agents_online"]
	}
	if agentsOnline(nodeA) || agentsOnline(nodeB) {
		t.Fatal("agents online before anyone logged in")
	}
	first := online(t, nodeB, brand.agent)
	waitFor(t, func() bool { return agentsOnline(nodeA) })

	second := &parley.User{AccountID: brand.account.ID, Email: "second@acme.test", Name: "Second", Role: parley.RoleAgent, MaxConcurrent: 5, Active: true, PasswordHash: brand.agent.PasswordHash}
	if err := nodeA.Store.CreateUser(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	assignedTo := func(convID string) string {
		c, _ := nodeA.Store.FindConversation(context.Background(), brand.account.ID, convID)
		if c.State != parley.StateAssigned {
			return ""
		}
		return c.AssigneeID
	}
	conv1 := nodeA.newVisitor(t, brand.account.ID).open(t)
	waitFor(t, func() bool { return assignedTo(conv1.ID) == brand.agent.ID })
	secondOnB := online(t, nodeB, second)
	conv2 := nodeA.newVisitor(t, brand.account.ID).open(t)
	waitFor(t, func() bool { return assignedTo(conv2.ID) == second.ID })

	// The first agent's console reconnects to node A, then its socket on
	// node B closes; the second agent leaves node B altogether, a moment
	// later. Once node B has put the second agent's conversation back in
	// the queue (its grace period is over), the first agent's, which
	// started earlier, is over too: their conversation must still be theirs.
	online(t, nodeA, brand.agent)
	first.ws.CloseNow()
	secondOnB.ws.CloseNow()
	waitFor(t, func() bool { return assignedTo(conv2.ID) != second.ID })
	requeued, _ := nodeA.Store.ListEvents(context.Background(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventConversationRequeued}, Limit: 100})
	for _, e := range requeued {
		if e.ConversationID == conv1.ID {
			t.Fatalf("the agent who moved to node A lost their conversation to the queue: %s", e.Data)
		}
	}
	if got := assignedTo(conv1.ID); got != brand.agent.ID {
		t.Fatalf("the agent who moved to node A lost their conversation (now %q)", got)
	}
}

// TestAPageViewsBeaconsMayReachAnyNode: behind a load balancer without
// sticky sessions, one page view's beacons land on several nodes. The node
// that took its load judges it on all of them: a widget seen on node B is
// not reported by node A as never shown.
func TestAPageViewsBeaconsMayReachAnyNode(t *testing.T) {
	nodeA, nodeB := startCluster(t, func(c *server.Config) {
		c.Widget.VisibleTimeout, c.Widget.SweepInterval = 2*time.Second, 50*time.Millisecond
	})
	brand := seedBrand(t, nodeA, "Acme")
	beacon := func(ts *testServer, pv, kind string) {
		t.Helper()
		body := fmt.Sprintf(`{"account":%q,"pv":%q,"kind":%q,"url":"https://shop.example/"}`, brand.account.ID, pv, kind)
		resp, err := http.Post(ts.url+"/widget/beacon", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("beacon %s: status %d", kind, resp.StatusCode)
		}
	}
	// Page view 1 loads through node A; its launcher is reported visible,
	// and the page alive, through node B.
	beacon(nodeA, "pvsplit1", "load")
	beacon(nodeB, "pvsplit1", "visible")
	beacon(nodeB, "pvsplit1", "alive")
	// Page view 2, loaded after it through node A, never shows its launcher:
	// once node A reports it, page view 1's time has passed too.
	beacon(nodeA, "pvsplit2", "load")
	beacon(nodeA, "pvsplit2", "alive")
	suspected := func() map[string]int {
		events, _ := nodeA.Store.ListEvents(context.Background(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventWidgetSuspected}, Limit: 100})
		by := map[string]int{}
		for _, e := range events {
			var d struct{ PV string }
			json.Unmarshal(e.Data, &d)
			by[d.PV]++
		}
		return by
	}
	waitFor(t, func() bool { return suspected()["pvsplit2"] > 0 })
	if got := suspected(); got["pvsplit1"] != 0 || got["pvsplit2"] != 1 {
		t.Fatalf("suspected page views: %v; want only pvsplit2, once", got)
	}
	loaded, _ := nodeA.Store.ListEvents(context.Background(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventWidgetLoaded}, Limit: 100})
	if len(loaded) != 2 {
		t.Fatalf("%d widget.loaded events for 2 page loads", len(loaded))
	}
}

// TestLoggingOutOnOneNodeClosesTheSessionsSocketsOnEvery: a session ended
// (logout) or an agent deactivated through node A closes their sockets on
// node B too.
func TestLoggingOutOnOneNodeClosesTheSessionsSocketsOnEvery(t *testing.T) {
	nodeA, nodeB := startCluster(t)
	brand := seedBrand(t, nodeA, "Acme")
	c := nodeA.login(t, brand.agent)
	req, _ := http.NewRequest("GET", nodeA.url, nil)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		h.Set("Cookie", ck.Name+"="+ck.Value)
	}
	ws := connect(t, nodeB, "", h) // the same session, on the other node
	if st, _ := c.raw("POST", "/api/v1/auth/logout", nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	if code := ws.waitClosed(); code != 4001 {
		t.Fatalf("the logged-out session's socket on node B closed with %d, want 4001", code)
	}

	supervisorOnB := agentWS(t, nodeB, brand.supervisor)
	if st, _ := nodeA.withKey(t, brand.apiKey).raw("PATCH", "/api/v1/users/"+brand.supervisor.ID, map[string]any{"active": false}); st != 200 {
		t.Fatalf("deactivate: %d", st)
	}
	if code := supervisorOnB.waitClosed(); code != 4001 {
		t.Fatalf("the deactivated supervisor's socket on node B closed with %d, want 4001", code)
	}
}

// TestWaitingVisitorsGoToTheLeastLoadedAgentOfTheCluster: agents on two
// nodes share the work as if they were on one: each new visitor goes to
// the agent with the fewest conversations, whichever node either is on
// (the visitors all arrive at node A, whose router hears of them first).
func TestWaitingVisitorsGoToTheLeastLoadedAgentOfTheCluster(t *testing.T) {
	nodeA, nodeB := startCluster(t)
	brand := seedBrand(t, nodeA, "Acme")
	setAutoAssign(t, nodeA, brand, true)
	onB := &parley.User{AccountID: brand.account.ID, Email: "b@acme.test", Name: "On B", Role: parley.RoleAgent, MaxConcurrent: 5, Active: true, PasswordHash: brand.agent.PasswordHash}
	if err := nodeA.Store.CreateUser(context.Background(), onB); err != nil {
		t.Fatal(err)
	}
	online(t, nodeA, brand.agent)
	online(t, nodeB, onB)
	waitFor(t, func() bool { return nodeA.Routing.Presence(brand.account.ID, onB.ID) == routing.Online })
	// Operators see the cluster as each node does.
	waitFor(t, func() bool {
		resp, err := http.Get(nodeA.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), "parley_cluster_nodes 2") && strings.Contains(string(body), "parley_nats_connected 1")
	})
	load := map[string]int{}
	for range 4 {
		conv := nodeA.newVisitor(t, brand.account.ID).open(t)
		var who string
		waitFor(t, func() bool {
			c, _ := nodeA.Store.FindConversation(context.Background(), brand.account.ID, conv.ID)
			who = c.AssigneeID
			return c.State == parley.StateAssigned
		})
		load[who]++
	}
	if load[brand.agent.ID] != 2 || load[onB.ID] != 2 {
		t.Fatalf("loads after 4 visitors: %v; want 2 each", load)
	}
}

// TestTheLoginBudgetIsTheClusters: password guesses spread over the nodes
// of a cluster spend one budget per client address, not one per node; and
// so do the widget's beacons.
func TestTheLoginBudgetIsTheClusters(t *testing.T) {
	const budget = 10
	nodeA, nodeB := startCluster(t, func(c *server.Config) {
		c.RateLimits = &server.RateLimits{Login: server.RateLimit{Every: time.Hour, Burst: budget}, Beacons: server.RateLimit{Every: time.Hour, Burst: budget}}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} // the test is the load balancer
	})
	brand := seedBrand(t, nodeA, "Acme")
	for _, tc := range []struct {
		name, path, body string
		allowed          int // the status of a request the budget lets through
	}{
		{"login", "/api/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":"not it"}`, brand.agent.Email), 401},
		{"beacons", "/widget/beacon", `{"kind":"nonsense"}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guess := func(ts *testServer, from string) int {
				req, _ := http.NewRequest("POST", ts.url+tc.path, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", from)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			const attacker, marker = "203.0.113.7", "203.0.113.8"
			for i := range budget {
				if st := guess(nodeA, attacker); st != tc.allowed {
					t.Fatalf("request %d on node A: %d, want %d", i+1, st, tc.allowed)
				}
			}
			// A second address spends its budget on node A too, after the
			// attacker's. Once node B refuses it before it has spent the
			// budget itself, node B has heard of some of node A's marker
			// requests, and so of every attacker request before them (one
			// NATS connection keeps the order).
			for range budget {
				guess(nodeA, marker)
			}
			for tries := 1; guess(nodeB, marker) != 429; tries++ {
				if tries == budget-1 {
					t.Fatalf("node B let the marker through %d times: it hears nothing of node A's budget", tries)
				}
				time.Sleep(100 * time.Millisecond) // time for NATS to deliver, counted in tries
			}
			if st := guess(nodeB, attacker); st != 429 {
				t.Fatalf("the attacker's request %d, on node B: %d, want 429", budget+1, st)
			}
		})
	}
}

// TestOneNodeOfTheClusterRunsTheChores: once the nodes hear each other,
// exactly one runs retention and the queue notices; the visitor waiting
// long is told once that they are in line.
func TestOneNodeOfTheClusterRunsTheChores(t *testing.T) {
	nodeA, nodeB := startCluster(t, func(c *server.Config) { c.QueueNoticeTick = 20 * time.Millisecond })
	waitFor(t, func() bool { return nodeA.Routing.Leads() != nodeB.Routing.Leads() },
		func() string {
			return fmt.Sprintf("A leads %v, B leads %v", nodeA.Routing.Leads(), nodeB.Routing.Leads())
		})
	brand := seedBrand(t, nodeA, "Acme")
	a, _ := nodeA.Store.FindAccount(t.Context(), brand.account.ID)
	one := 1
	a.Settings.QueueNoticeSeconds = &one
	nodeA.Store.UpdateAccount(t.Context(), a)
	conv := nodeB.newVisitor(t, brand.account.ID).open(t)
	waitFor(t, func() bool {
		for _, m := range mustMessages(t, nodeA, brand.account.ID, conv.ID) {
			if m.Notice != nil && m.Notice.Code == parley.NoticeInLine {
				return true
			}
		}
		return false
	})
}

// TestAClusterMailsEachReplyOnceAndTakesAnswersOnEveryNode: with two nodes
// sharing PostgreSQL and NATS, an agent's unread replies are mailed once
// (by the node that leads), whichever node stored them, and the visitor's
// answer by email is taken by the node that does not lead too.
func TestAClusterMailsEachReplyOnceAndTakesAnswersOnEveryNode(t *testing.T) {
	mail := mailbox.Start(t)
	nodeA, nodeB := startCluster(t, func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick = mail.URL(), "replies@parley.test", 30*time.Millisecond
		c.InboundSMTPAddr, c.InboundDomain = "127.0.0.1:0", "reply.parley.test"
	})
	waitFor(t, func() bool { return nodeA.Routing.Leads() != nodeB.Routing.Leads() })
	follower := nodeA
	if nodeA.Routing.Leads() {
		follower = nodeB
	}
	brand := seedBrand(t, nodeA, "Acme")
	if st := nodeB.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": map[string]any{"enabled": true, "delay_minutes": 0}}, nil); st != 200 {
		t.Fatalf("turning on: status %d", st)
	}
	v := nodeA.newVisitor(t, brand.account.ID)
	v.do("PATCH", "/api/v1/consumers/me", map[string]any{"email": "zoe@example.test"}, nil)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Hello?", "client_id": "c1"}, nil)
	agent := nodeB.login(t, brand.agent)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	next := func() mailbox.Received {
		t.Helper()
		select {
		case r := <-mail.Received:
			return r
		case <-time.After(waitLimit):
			t.Fatal("no email within the wait")
			return mailbox.Received{}
		}
	}
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "First reply", "client_id": "a1"}, nil)
	first := next()
	waitFor(t, func() bool {
		list, _ := nodeA.Store.ListReplyEmails(t.Context(), brand.account.ID, conv.ID)
		return len(list) == 1 && list[0].State == parley.ReplyEmailSent
	})
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Second reply", "client_id": "a2"}, nil)
	second := next()
	if !strings.Contains(string(first.Data), "First reply") || strings.Contains(string(second.Data), "First reply") || !strings.Contains(string(second.Data), "Second reply") {
		t.Fatalf("emails:\n%s\n---\n%s", first.Data, second.Data)
	}
	waitFor(t, func() bool {
		list, _ := nodeA.Store.ListReplyEmails(t.Context(), brand.account.ID, conv.ID)
		return len(list) == 2 && list[1].State == parley.ReplyEmailSent
	})
	if n := mail.Attempts(); n != 2 {
		t.Fatalf("%d emails offered to the mail server, want 2: one per reply, from one node", n)
	}

	m, _ := second.Message()
	replyTo := strings.Trim(m.Header.Get("Reply-To"), "<>")
	c, err := smtp.Dial(follower.InboundAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	answer := "From: zoe@example.test\r\nTo: " + replyTo + "\r\nMessage-ID: <cluster-answer@example.test>\r\nContent-Type: text/plain\r\n\r\nThanks, both arrived.\r\n"
	if err := c.SendMail("zoe@example.test", []string{replyTo}, strings.NewReader(answer)); err != nil {
		t.Fatalf("the node that does not lead refused the answer: %v", err)
	}
	msgs := mustMessages(t, nodeA, brand.account.ID, conv.ID)
	if last := msgs[len(msgs)-1]; last.SenderKind != parley.SenderConsumer || last.Text != "Thanks, both arrived." {
		t.Fatalf("last message: %+v", last)
	}
}

// TestTheLeaderSetsOfflineOnlyThoseNoNodeHas: the status sweep runs on the
// node that leads, but people connect to any node. A person whose only
// console is on the other node stays online; one who left that node is
// set offline, from when they left (docs/routing.md, Agent status).
func TestTheLeaderSetsOfflineOnlyThoseNoNodeHas(t *testing.T) {
	nodeA, nodeB := startCluster(t, func(c *server.Config) {
		c.Routing = routing.Config{Grace: 300 * time.Millisecond, Tick: 20 * time.Millisecond, PeerBeat: 200 * time.Millisecond}
		c.StatusTick = 50 * time.Millisecond
	})
	waitFor(t, func() bool { return nodeA.Routing.Leads() != nodeB.Routing.Leads() })
	leader, other := nodeA, nodeB
	if nodeB.Routing.Leads() {
		leader, other = nodeB, nodeA
	}
	brand := seedBrand(t, leader, "Acme")
	stays := online(t, other, brand.agent)
	leaves := online(t, other, brand.supervisor)
	leftAt := time.Now()
	leaves.ws.CloseNow()
	status := func(u *parley.User) *parley.AgentStatus {
		spans, _ := leader.Store.AgentStatuses(t.Context(), brand.account.ID, time.Time{}, time.Time{})
		for _, s := range spans {
			if s.UserID == u.ID {
				return s
			}
		}
		return nil
	}
	waitFor(t, func() bool { s := status(brand.supervisor); return s != nil && s.Status == parley.StatusOffline })
	if s := status(brand.supervisor); s.Cause != parley.CauseDisconnected || s.Since.After(leftAt.Add(5*time.Second)) {
		t.Fatalf("the supervisor who left: %+v; want offline, disconnected, from about %v", s, leftAt)
	}
	// The sweep that set the supervisor offline judged the agent too.
	if s := status(brand.agent); s == nil || s.Status != parley.StatusOnline {
		t.Fatalf("the agent connected to the other node: %+v; want online", s)
	}
	stays.send(`{"type":"ping","id":"p"}`)
	stays.next(reply("p"))
}

// TestAnInvitationReachesThePageWhicheverNodeItTalksTo: an agent on node B
// invites a visitor whose page talks to node A; the page's heartbeat on A
// brings it, the visitor's answer on B takes it, and A stops offering it.
func TestAnInvitationReachesThePageWhicheverNodeItTalksTo(t *testing.T) {
	nodeA, nodeB := startCluster(t)
	brand := seedBrand(t, nodeA, "Acme")
	pageBeacon(t, nodeA, brand.account.ID, "pvcluster1", "load", "https://acme.example/tents", "Tents")
	agent := nodeB.login(t, brand.agent)
	online(t, nodeB, brand.agent)
	// Node A carries the invitation only while it hears the agent is online.
	waitFor(t, func() bool { return nodeA.Routing.Presence(brand.account.ID, brand.agent.ID) == routing.Online })
	var inv parley.Invitation
	waitFor(t, func() bool { // node B hears of the page through NATS
		return agent.do("POST", "/api/v1/visitors/pvcluster1/invite", map[string]any{"text": "Can I help you choose?"}, &inv) == 201
	})
	var hb struct{ Invitation map[string]string }
	waitFor(t, func() bool {
		st, raw := pageBeacon(t, nodeA, brand.account.ID, "pvcluster1", "heartbeat", "https://acme.example", "")
		hb.Invitation = nil
		json.Unmarshal(raw, &hb)
		return st == 200 && hb.Invitation["id"] == inv.ID
	})
	var c parley.Conversation
	if st := nodeB.newVisitor(t, brand.account.ID).do("POST", "/api/v1/conversations", map[string]any{"invitation": inv.ID}, &c); st != 201 || c.AssigneeID != brand.agent.ID {
		t.Fatalf("answered on node B: %d %+v", st, c)
	}
	waitFor(t, func() bool {
		st, _ := pageBeacon(t, nodeA, brand.account.ID, "pvcluster1", "heartbeat", "https://acme.example", "chat")
		return st == 204
	})
}
