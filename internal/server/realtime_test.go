package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/server"
)

// agentWS connects a logged-in agent over WebSocket with its session cookie.
func agentWS(t testing.TB, ts *testServer, u *parley.User) *wsClient {
	t.Helper()
	return sessionWS(t, ts, ts.login(t, u))
}

// sessionWS connects over WebSocket with the session of a logged-in client.
func sessionWS(t testing.TB, ts *testServer, c *client) *wsClient {
	t.Helper()
	return connect(t, ts, "", sessionCookie(ts, c))
}

// sessionCookie is the header that carries a logged-in client's session.
func sessionCookie(ts *testServer, c *client) http.Header {
	req, _ := http.NewRequest("GET", ts.url, nil)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		if ck.Name == auth.SessionCookie {
			h.Set("Cookie", ck.Name+"="+ck.Value)
		}
	}
	return h
}

func TestTwoConsumersAndAnAgentConverse(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v1, v2 := ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID)
	conv1, conv2 := v1.open(t), v2.open(t)

	c1 := connect(t, ts, v1.token, nil)
	c1tab := connect(t, ts, v1.token, nil) // the same visitor in a second tab
	c2 := connect(t, ts, v2.token, nil)
	agent := agentWS(t, ts, b.agent)
	c1.subscribe(conv1.ID, 0)
	c1tab.subscribe(conv1.ID, 0)
	c2.subscribe(conv2.ID, 0)
	agent.subscribe(conv1.ID, 0)
	agent.subscribe(conv2.ID, 0)

	// Each party sends concurrently; each conversation gets 3 × 10 messages.
	const each = 10
	var wg sync.WaitGroup
	for _, s := range []struct {
		c    *wsClient
		conv string
		who  string
	}{{c1, conv1.ID, "v1"}, {c2, conv2.ID, "v2"}, {agent, conv1.ID, "a1"}, {agent, conv2.ID, "a2"}, {c1tab, conv1.ID, "v1tab"}, {c2, conv2.ID, "v2b"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("%s-%d", s.who, i)
				s.c.send(map[string]any{"type": "send", "id": id, "conversation_id": s.conv, "client_id": id,
					"message": map[string]any{"type": "text", "text": "hello " + id}})
			}
		}()
	}
	wg.Wait()

	// Every party sees every message of its conversations exactly once, in seq order.
	expectSeqs := func(c *wsClient, convID string, n int) {
		t.Helper()
		for want := int64(1); want <= int64(n); want++ {
			f := c.next(func(f frame) bool { return f.Type == "message" && f.ConversationID == convID })
			if m := f.msg(t); m.Seq != want {
				t.Fatalf("conversation %s: got seq %d, want %d", convID, m.Seq, want)
			}
		}
	}
	expectSeqs(c1, conv1.ID, 3*each)
	expectSeqs(c1tab, conv1.ID, 3*each)
	expectSeqs(c2, conv2.ID, 3*each)
	expectSeqs(agent, conv1.ID, 3*each)
	expectSeqs(agent, conv2.ID, 3*each)

	// No party received anything extra: a ping is the next message-or-other frame.
	for _, c := range []*wsClient{c1, c1tab, c2} {
		c.send(`{"type":"ping","id":"p"}`)
		for {
			f := c.next(func(frame) bool { return true })
			if f.Type == "message" {
				t.Fatalf("extra message frame: %s", f.raw)
			}
			if f.Type == "pong" {
				break
			}
		}
	}
	// Visitor 1 never saw visitor 2's conversation.
	msgs, _ := ts.Store.ListMessages(t.Context(), b.account.ID, conv2.ID, 0, 100)
	if len(msgs) != 3*each {
		t.Fatalf("conversation 2 stored %d messages", len(msgs))
	}
}

func TestReconnectResyncsWithoutGapOrDuplicate(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	sender := connect(t, ts, v.token, nil)

	agent := agentWS(t, ts, b.agent)
	agent.subscribe(conv.ID, 0)
	const total = 60
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= total; i++ {
			id := fmt.Sprintf("m%d", i)
			sender.send(map[string]any{"type": "send", "id": id, "conversation_id": conv.ID, "client_id": id,
				"message": map[string]any{"type": "text", "text": id}})
		}
	}()
	// The agent reads part of the stream, then its connection drops.
	seen := map[int64]int{}
	var last int64
	for i := 0; i < 20; i++ {
		m := agent.next(ofType("message")).msg(t)
		seen[m.Seq]++
		last = m.Seq
	}
	agent.ws.CloseNow()
	<-done

	// Reconnect and resync from the last seq seen.
	again := agentWS(t, ts, b.agent)
	for _, m := range again.subscribe(conv.ID, last) {
		seen[m.Seq]++
	}
	// Whatever was not in the backfill arrives live.
	for len(seen) < total {
		m := again.next(ofType("message")).msg(t)
		seen[m.Seq]++
	}
	for seq := int64(1); seq <= total; seq++ {
		if seen[seq] != 1 {
			t.Fatalf("seq %d seen %d times (want exactly once)", seq, seen[seq])
		}
	}
}

func TestResendWithSameClientIDStoresOnce(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	c := connect(t, ts, v.token, nil)
	first := c.sendText(conv.ID, "same-id", "hello")
	// The client lost the ack and resends, possibly on a new connection.
	c2 := connect(t, ts, v.token, nil)
	second := c2.sendText(conv.ID, "same-id", "hello")
	if first.Duplicate || !second.Duplicate {
		t.Fatalf("duplicate flags: first %v, second %v", first.Duplicate, second.Duplicate)
	}
	if first.Seq != second.Seq || first.MessageID != second.MessageID {
		t.Fatalf("acks differ: %s vs %s", first.raw, second.raw)
	}
	msgs, _ := ts.Store.ListMessages(t.Context(), b.account.ID, conv.ID, 0, 10)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	// The same over REST: 200 with the original.
	var out struct {
		Message   parley.Message `json:"message"`
		Duplicate bool           `json:"duplicate"`
	}
	if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"client_id": "same-id", "text": "hello"}, &out); st != 200 || !out.Duplicate || out.Message.ID != first.MessageID {
		t.Fatalf("REST resend: status %d, %+v", st, out)
	}
}

func TestTypingAndReceiptsReachTheOtherSide(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	vis := connect(t, ts, v.token, nil)
	agent := agentWS(t, ts, b.agent)
	vis.subscribe(conv.ID, 0)
	agent.subscribe(conv.ID, 0)

	vis.send(map[string]any{"type": "typing", "conversation_id": conv.ID, "typing": true})
	f := agent.next(ofType("typing"))
	if !strings.Contains(string(f.Typing), `"typing":true`) || !strings.Contains(string(f.Typing), `"side":"consumer"`) {
		t.Fatalf("typing frame: %s", f.raw)
	}
	ack := agent.sendText(conv.ID, "a1", "How can I help?")
	vis.next(ofType("message"))
	vis.send(map[string]any{"type": "receipt", "conversation_id": conv.ID, "kind": "read", "seq": ack.Seq})
	r := agent.next(ofType("receipt"))
	if !strings.Contains(string(r.Receipt), `"kind":"read"`) || !strings.Contains(string(r.Receipt), fmt.Sprintf(`"seq":%d`, ack.Seq)) {
		t.Fatalf("receipt frame: %s", r.raw)
	}
	// The typist does not get their own indicator: the next frame after a ping is the pong.
	vis.send(`{"type":"ping","id":"p1"}`)
	if f := vis.next(func(f frame) bool { return f.Type == "typing" || f.Type == "pong" }); f.Type != "pong" {
		t.Fatalf("typist got %s", f.raw)
	}
	got, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID)
	if got.ConsumerReadSeq != ack.Seq {
		t.Fatalf("consumer_read_seq = %d, want %d", got.ConsumerReadSeq, ack.Seq)
	}
	// Another visitor of the same brand cannot mark this conversation
	// delivered or read.
	other := connect(t, ts, ts.newVisitor(t, b.account.ID).token, nil)
	other.send(map[string]any{"type": "receipt", "id": "r1", "conversation_id": conv.ID, "kind": "delivered", "seq": ack.Seq})
	if f := other.next(ofType("error")); f.ID != "r1" || f.Code != parley.ENOTFOUND {
		t.Fatalf("another visitor's receipt: %s", f.raw)
	}
	if got, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID); got.ConsumerDeliveredSeq != 0 {
		t.Fatalf("consumer_delivered_seq = %d after another visitor's receipt, want 0", got.ConsumerDeliveredSeq)
	}
}

func TestInboxSeesConversationChanges(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Other")
	agent := agentWS(t, ts, b.agent)
	agent.send(`{"type":"subscribe_inbox","id":"in"}`)
	agent.next(reply("in"))
	ts.newVisitor(t, other.account.ID).open(t) // another brand's: must not show
	conv := ts.newVisitor(t, b.account.ID).open(t)
	f := agent.next(ofType("conversation"))
	if f.Event != parley.EventConversationOpened || !strings.Contains(string(f.Conversation), conv.ID) {
		t.Fatalf("inbox frame: %s", f.raw)
	}
	vis := connect(t, ts, ts.newVisitor(t, b.account.ID).token, nil)
	vis.send(`{"type":"subscribe_inbox","id":"x"}`)
	if f := vis.next(reply("x")); f.Code != parley.EFORBIDDEN {
		t.Fatalf("consumer inbox: %s", f.raw)
	}
}

func TestSlowClientIsDisconnected(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.QueueSize = 4
		// Big messages fill the kernel's socket buffers in a few hundred sends.
		c.MaxMessageChars, c.MaxFrameBytes = 60000, 256<<10
	})
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)

	// A client that never reads: it subscribes, then stops reading its socket.
	slow, err := dialWS(t, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow.send(map[string]any{"type": "auth", "token": v.token})
	slow.send(map[string]any{"type": "subscribe", "conversation_id": conv.ID, "after_seq": 0})
	slow.next(ofType("subscribed"))
	stalled := stallReads(slow)

	// Once the kernel's buffers are full, the queue overflows.
	agent := agentWS(t, ts, b.agent)
	body := strings.Repeat("x", 60000)
	for i := 0; ; i++ {
		agent.sendText(conv.ID, fmt.Sprint(i), body)
		if ts.slowDisconnects() > 0 {
			break
		}
		if i > 20000 {
			t.Fatal("the slow client was never disconnected")
		}
	}
	close(stalled)
	// The close code is 4008 when the server could still write a close
	// frame; a socket stuck mid-frame is simply dropped.
	if code := slow.waitClosed(); code != 4008 && code != -1 {
		t.Fatalf("slow client closed with %d, want 4008 or a dropped connection", code)
	}
	// It reconnects and resyncs everything.
	again := connect(t, ts, v.token, nil)
	got := again.subscribe(conv.ID, 0)
	last, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID)
	if int64(len(got)) != last.LastSeq {
		t.Fatalf("resync after slow disconnect: %d messages, want %d", len(got), last.LastSeq)
	}
}

func TestBadFramesGetTypedErrorsAndChangeNothing(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.MaxMessageChars = 100 })
	b := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Other")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	otherConv := ts.newVisitor(t, other.account.ID).open(t)
	c := connect(t, ts, v.token, nil)

	send := func(text string) string {
		return fmt.Sprintf(`{"type":"send","id":"x","conversation_id":%q,"client_id":"c","message":{"type":"text","text":%q}}`, conv.ID, text)
	}
	cases := []struct {
		name  string
		frame []byte
		code  string
	}{
		{"malformed JSON", []byte(`{"type":"send",`), parley.EINVALID},
		{"not an object", []byte(`[1,2]`), parley.EINVALID},
		{"unknown frame type", []byte(`{"type":"teleport","id":"x"}`), parley.EINVALID},
		{"unknown field", []byte(`{"type":"ping","id":"x","colour":"red"}`), parley.EINVALID},
		{"no type", []byte(`{"id":"x"}`), parley.EINVALID},
		{"over the size limit", []byte(send(strings.Repeat("é", 101))), parley.ETOOLARGE},
		{"invalid UTF-8", append([]byte(`{"type":"ping","id":"`), 0xff, '"', '}'), parley.EINVALID},
		{"NUL byte", []byte(send("a\u0000b")), parley.EINVALID},
		{"empty text", []byte(send("   ")), parley.EINVALID},
		{"rich message from a consumer", []byte(fmt.Sprintf(`{"type":"send","id":"x","conversation_id":%q,"message":{"type":"card","card":{"title":"t"}}}`, conv.ID)), parley.EINVALID},
		{"another account's conversation", []byte(fmt.Sprintf(`{"type":"send","id":"x","conversation_id":%q,"client_id":"z","message":{"type":"text","text":"hi"}}`, otherConv.ID)), parley.ENOTFOUND},
		{"subscribe to another account's conversation", []byte(fmt.Sprintf(`{"type":"subscribe","id":"x","conversation_id":%q}`, otherConv.ID)), parley.ENOTFOUND},
		{"seq in the future", []byte(fmt.Sprintf(`{"type":"subscribe","id":"x","conversation_id":%q,"after_seq":99}`, conv.ID)), parley.EINVALID},
		{"receipt in the future", []byte(fmt.Sprintf(`{"type":"receipt","id":"x","conversation_id":%q,"kind":"read","seq":5}`, conv.ID)), parley.EINVALID},
		{"typing in another account", []byte(fmt.Sprintf(`{"type":"typing","id":"x","conversation_id":%q,"typing":true}`, otherConv.ID)), parley.ENOTFOUND},
		{"second auth", []byte(`{"type":"auth","id":"x","token":"t"}`), parley.ECONFLICT},
		{"wrong field type", []byte(`{"type":"subscribe","id":"x","conversation_id":"c","after_seq":"ten"}`), parley.EINVALID},
	}
	before, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.send(tc.frame)
			f := c.next(ofType("error"))
			if f.Code != tc.code || f.Message == nil && !strings.Contains(string(f.raw), `"message"`) {
				t.Fatalf("got %s, want code %s", f.raw, tc.code)
			}
		})
	}
	c.t = t
	// The connection is still open and works.
	c.send(`{"type":"ping","id":"still"}`)
	c.next(reply("still"))
	after, _ := ts.Store.ListEvents(t.Context(), b.account.ID, parley.EventFilter{Limit: 1000})
	if len(after) != len(before) {
		t.Fatalf("bad frames wrote %d events", len(after)-len(before))
	}
	msgs, _ := ts.Store.ListMessages(t.Context(), other.account.ID, otherConv.ID, 0, 10)
	if len(msgs) != 0 {
		t.Fatalf("another account's conversation got %d messages", len(msgs))
	}
}

func TestAuthenticationFailuresCloseTheConnection(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	cases := map[string]string{
		"garbage token":    `{"type":"auth","token":"not-a-token"}`,
		"wrong API key":    `{"type":"auth","token":"key_06h2a3mvmwf8gbtcxfan8kvkew.nope"}`,
		"no credentials":   `{"type":"auth"}`,
		"not auth first":   `{"type":"ping"}`,
		"malformed":        `{"type":`,
		"revoked-like key": fmt.Sprintf(`{"type":"auth","token":%q}`, b.apiKey+"x"),
	}
	for name, first := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := dialWS(t, ts, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.send(first)
			if f := c.next(ofType("error")); f.Code != parley.EUNAUTHORIZED && f.Code != parley.EINVALID {
				t.Fatalf("error frame %s", f.raw)
			}
			if code := c.waitClosed(); code != 4001 {
				t.Fatalf("closed with %d, want 4001", code)
			}
		})
	}
	t.Run("foreign origin", func(t *testing.T) {
		_, err := dialWS(t, ts, http.Header{"Origin": {"https://evil.example"}})
		if err == nil {
			t.Fatal("a page on another origin opened a WebSocket")
		}
	})
	t.Run("API key works", func(t *testing.T) {
		connect(t, ts, b.apiKey, nil)
	})
}

var _ = websocket.StatusNormalClosure

// TestEveryFrameKeepsAccountsApart sends every client frame type with
// account A's credentials and account B's IDs: each is refused and B's data
// never reaches A.
func TestEveryFrameKeepsAccountsApart(t *testing.T) {
	ts := startServer(t, t.TempDir())
	a := seedBrand(t, ts, "Alpha")
	b := seedBrand(t, ts, "Beta")
	bVisitor := ts.newVisitor(t, b.account.ID)
	bConv := bVisitor.open(t)
	bVisitor.do("POST", "/api/v1/conversations/"+bConv.ID+"/messages", map[string]any{"text": "B's secret"}, nil)
	var bSkill parley.Skill
	ts.withKey(t, b.apiKey).do("POST", "/api/v1/skills", map[string]any{"name": "beta"}, &bSkill)

	for _, who := range []struct {
		name  string
		token string
	}{{"visitor", ts.newVisitor(t, a.account.ID).token}, {"API key", a.apiKey}} {
		c := connect(t, ts, who.token, nil)
		cases := map[string]struct {
			frame string
			code  string // "" when the frame has no reply to check
		}{
			"auth":            {`{"type":"auth","id":"x","token":"` + bVisitor.token + `"}`, parley.ECONFLICT},
			"ping":            {`{"type":"ping","id":"x"}`, ""},
			"open":            {`{"type":"open","id":"x","skill":"` + bSkill.ID + `"}`, parley.EINVALID},
			"subscribe":       {`{"type":"subscribe","id":"x","conversation_id":"` + bConv.ID + `"}`, parley.ENOTFOUND},
			"unsubscribe":     {`{"type":"unsubscribe","id":"x","conversation_id":"` + bConv.ID + `"}`, parley.ENOTFOUND},
			"subscribe_inbox": {`{"type":"subscribe_inbox","id":"x"}`, ""},
			"send":            {`{"type":"send","id":"x","conversation_id":"` + bConv.ID + `","message":{"type":"text","text":"hi"}}`, parley.ENOTFOUND},
			"typing":          {`{"type":"typing","id":"x","conversation_id":"` + bConv.ID + `","typing":true}`, parley.ENOTFOUND},
			"receipt":         {`{"type":"receipt","id":"x","conversation_id":"` + bConv.ID + `","kind":"read","seq":1}`, parley.ENOTFOUND},
			"presence":        {`{"type":"presence","id":"x","state":"online"}`, parley.EFORBIDDEN},                                   // users only
			"viewing":         {`{"type":"viewing","id":"x","conversation_id":"` + bConv.ID + `","viewing":true}`, parley.EFORBIDDEN}, // people in the console only
		}
		if who.name == "API key" {
			// Staff may open only for a consumer, and only over REST.
			cases["open"] = struct{ frame, code string }{`{"type":"open","id":"x","skill":"` + bSkill.ID + `"}`, parley.EINVALID}
		}
		for _, typ := range realtime.FrameTypes {
			t.Run(who.name+"/"+typ, func(t *testing.T) {
				tc, ok := cases[typ]
				if !ok {
					t.Fatalf("frame type %s has no cross-account case: add one", typ)
				}
				c.t = t
				c.send(strings.Replace(tc.frame, `"id":"x"`, `"id":"`+typ+`"`, 1))
				if tc.code != "" {
					if f := c.next(reply(typ)); f.Type != "error" || f.Code != tc.code {
						t.Fatalf("got %s, want error %s", f.raw, tc.code)
					}
				}
			})
		}
		c.t = t
		// Nothing of B's reached A's connection.
		c.send(`{"type":"ping","id":"end"}`)
		c.next(reply("end"))
		for _, f := range c.pending {
			if strings.Contains(string(f.raw), "B's secret") || strings.Contains(string(f.raw), bConv.ID) && f.Type != "error" {
				t.Fatalf("A's connection got B's data: %s", f.raw)
			}
		}
	}
	msgs, _ := ts.Store.ListMessages(t.Context(), b.account.ID, bConv.ID, 0, 10)
	if len(msgs) != 1 {
		t.Fatalf("B's conversation has %d messages, want 1", len(msgs))
	}
}
