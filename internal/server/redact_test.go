package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

// TestStaffRemoveWhatAMessageSaid: an agent removes a message the masking
// missed; the visitor's window and every console hear it at once, the
// history and the transcript say who removed it, and it cannot be removed
// twice or from a system line.
func TestStaffRemoveWhatAMessageSaid(t *testing.T) {
	ts := startServer(t, t.TempDir())
	acme := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, acme.account.ID)
	conv := v.open(t)
	vws := connect(t, ts, v.token, nil)
	vws.subscribe(conv.ID, 0)
	sent := vws.sendText(conv.ID, "c-1", "my passport is X1234567")
	agent := ts.login(t, acme.agent)
	aws := sessionWS(t, ts, agent)
	aws.subscribe(conv.ID, 0)

	var m parley.Message
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages/"+jsonNum(sent.Seq)+"/redact", nil, &m); st != 200 ||
		m.Text != "" || m.Redacted == nil || m.Redacted.By != acme.agent.ID || m.Redacted.ByName != acme.agent.Name {
		t.Fatalf("redact: %d %+v", st, m)
	}
	for who, c := range map[string]*wsClient{"visitor": vws, "agent": aws} {
		f := c.next(func(f frame) bool { return f.Type == "redacted" })
		var got parley.Message
		json.Unmarshal(f.Message, &got)
		if f.ConversationID != conv.ID || got.Seq != sent.Seq || got.Redacted == nil || strings.Contains(string(f.raw), "X1234567") {
			t.Fatalf("the %s's frame: %s", who, f.raw)
		}
	}
	msgs := mustMessages(t, ts, acme.account.ID, conv.ID)
	if msgs[0].Text != "" || msgs[0].Redacted == nil {
		t.Fatalf("stored: %+v", msgs[0])
	}
	_, transcript := agent.raw("GET", "/api/v1/conversations/"+conv.ID+"/transcript", nil)
	if strings.Contains(string(transcript), "X1234567") || !strings.Contains(string(transcript), "(removed by "+acme.agent.Name+")") {
		t.Fatalf("transcript:\n%s", transcript)
	}
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages/"+jsonNum(sent.Seq)+"/redact", nil); st != 409 {
		t.Fatalf("twice: %d %s", st, raw)
	}
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages/0/redact", nil); st != 400 || !strings.Contains(string(raw), "seq") {
		t.Fatalf("seq 0: %d %s", st, raw)
	}
	// The agent joins: a system line, which is no one's words.
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	var system int64
	waitFor(t, func() bool { // "Ann joined the conversation", which the announcer writes after the accept
		for _, m := range mustMessages(t, ts, acme.account.ID, conv.ID) {
			if m.SenderKind == parley.SenderSystem {
				system = m.Seq
			}
		}
		return system != 0
	})
	if st, _ := agent.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages/"+jsonNum(system)+"/redact", nil); system == 0 || st != 400 {
		t.Fatalf("a system line (seq %d): %d", system, st)
	}
	var audit struct {
		Entries []parley.AuditEntry `json:"entries"`
	}
	ts.withKey(t, acme.apiKey).do("GET", "/api/v1/audit-log", nil, &audit)
	found := false
	for _, e := range audit.Entries {
		found = found || (e.Action == "POST /api/v1/conversations/{id}/messages/{seq}/redact" && e.ActorID == acme.agent.ID && e.Status == 200)
	}
	if !found {
		t.Fatalf("no audit entry: %+v", audit.Entries)
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestAnAgentRemovesAMessageInTheConsole: in Chromium, Remove asks once
// more, then the message is gone from the console and from the visitor's
// chat window, which says so in the visitor's language.
func TestAnAgentRemovesAMessageInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.withKey(t, brand.apiKey).do("PUT", "/api/v1/widget-settings", map[string]any{"language": "fr", "offline_form": false}, nil)
	ts.Server.SetDemoAccount(brand.account.ID)
	console := consoleLogin(t, ts, brand.agent, ".app")

	visitor := newBrowser(t)
	visitor.do(chromedp.Navigate(ts.url+"/demo/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := visitor.frame()
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "mon passeport est X1234567\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return evalIn[bool](t, frame, `!!document.querySelector(".msg.mine[data-seq]")`) })

	console.openFirst("queued")
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `!!document.querySelector(".messages li.consumer .redact")`)
	})
	// Both clicks on the same button in one script: a redraw of the
	// messages in between (the conversation opened again, a reconnect under
	// load) would make a new one; while one is under way there is none.
	var armed string
	waitFor(t, func() bool {
		armed = evalIn[string](t, console.ctx, `(() => { const b = document.querySelector(".messages li.consumer .redact");
			if (!b) return ""; b.click(); const armed = b.textContent; b.click(); return armed })()`)
		return armed != ""
	})
	if armed != "Remove for good?" {
		t.Fatalf("the first click: %q", armed)
	}
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `(() => { const li = document.querySelector(".messages li.consumer");
			return !!li && li.textContent.includes("Message removed by `+brand.agent.Name+`") && !li.textContent.includes("X1234567") && !li.querySelector(".redact") })()`)
	})
	// The agent's own private note goes the same way.
	if st := ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+evalIn[string](t, console.ctx, `location.hash.split("=")[1]`)+"/notes", map[string]any{"text": "door code 7391"}, nil); st != 201 {
		t.Fatalf("note: %d", st)
	}
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `(() => { const b = document.querySelector(".messages li.note .redact"); if (!b) return false; b.click(); b.click(); return true })()`)
	})
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `(() => { const li = document.querySelector(".messages li.note");
			return !!li && li.textContent.includes("Note removed by `+brand.agent.Name+`") && !li.textContent.includes("7391") })()`)
	})
	// The inbox's preview of the conversation no longer quotes it.
	waitFor(t, func() bool {
		return evalIn[string](t, console.ctx, `document.querySelector(".items li[aria-current=true] .preview")?.textContent || ""`) == "Message removed"
	})
	console.shot("removed")
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `(() => { const li = document.querySelector(".msg.mine[data-seq]");
			return !!li && li.textContent.includes("Ce message a été supprimé.") && !li.textContent.includes("X1234567") })()`)
	}, func() string { return evalIn[string](t, frame, `document.querySelector(".log").textContent`) })
	visitor.shot("removed")
}

// TestTheAuthorOrASupervisorRemovesANote: a note's words go at its
// author's or a supervisor's word, not another agent's; the consoles hear
// of it, and the transcript says who removed it.
func TestTheAuthorOrASupervisorRemovesANote(t *testing.T) {
	ts := startServer(t, t.TempDir())
	acme := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, acme.account.ID)
	conv := v.open(t)
	agent := ts.login(t, acme.agent)
	var note parley.Note
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "door code 7391"}, &note); st != 201 {
		t.Fatalf("note: %d", st)
	}
	var colleague parley.User
	if st := ts.withKey(t, acme.apiKey).do("POST", "/api/v1/users", map[string]any{"email": "cy@acme.test", "name": "Cy", "password": password, "role": "agent"}, &colleague); st != 201 {
		t.Fatalf("colleague: %d", st)
	}
	path := "/api/v1/conversations/" + conv.ID + "/notes/" + note.ID + "/redact"
	if st, raw := ts.login(t, &colleague).raw("POST", path, nil); st != 403 {
		t.Fatalf("another agent: %d %s", st, raw)
	}
	ws := sessionWS(t, ts, agent)
	ws.subscribe(conv.ID, 0)
	var got parley.Note
	if st := ts.login(t, acme.supervisor).do("POST", path, nil, &got); st != 200 || got.Text != "" || got.Redacted == nil || got.Redacted.By != acme.supervisor.ID {
		t.Fatalf("the supervisor: %d %+v", st, got)
	}
	f := ws.next(func(f frame) bool { return f.Type == "redacted" })
	if !strings.Contains(string(f.raw), `"note":`) || strings.Contains(string(f.raw), "7391") {
		t.Fatalf("the frame: %s", f.raw)
	}
	if st, _ := agent.raw("POST", path, nil); st != 409 {
		t.Fatalf("twice: %d", st)
	}
	_, transcript := agent.raw("GET", "/api/v1/conversations/"+conv.ID+"/transcript?notes=1", nil)
	if strings.Contains(string(transcript), "7391") || !strings.Contains(string(transcript), "(removed by "+acme.supervisor.Name+")") {
		t.Fatalf("transcript:\n%s", transcript)
	}
}

// TestAClosedChatShowsARemovalToo: the visitor's window still shows a
// conversation after it closed (with the rating question); a message
// removed then disappears from it at once, as it would while open, and a
// new conversation leaves the closed one behind.
func TestAClosedChatShowsARemovalToo(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	_, frame, _ := chatFromBrandPage(t, ts, brand.account.ID, "my passport is X1234567")
	list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 5})
	if len(list) != 1 {
		t.Fatalf("conversations: %d", len(list))
	}
	conv := list[0]
	// The message is stored (the window may show it before its ack).
	var seq int64
	waitFor(t, func() bool {
		for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
			if m.SenderKind == parley.SenderConsumer && strings.Contains(m.Text, "X1234567") {
				seq = m.Seq
			}
		}
		return seq > 0
	})
	api := ts.withKey(t, brand.apiKey)
	if st := api.do("POST", "/api/v1/conversations/"+conv.ID+"/close", map[string]any{}, nil); st != 200 {
		t.Fatalf("close: %d", st)
	}
	waitFor(t, func() bool { return evalIn[bool](t, frame, `!!document.querySelector(".csat")`) })
	if st, raw := ts.login(t, brand.supervisor).raw("POST", "/api/v1/conversations/"+conv.ID+"/messages/"+jsonNum(seq)+"/redact", nil); st != 200 {
		t.Fatalf("redact seq %d: %d %s", seq, st, raw)
	}
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `(() => { const li = document.querySelector(".msg.mine[data-seq]");
			return !!li && li.textContent.includes("This message was removed.") && !li.textContent.includes("X1234567") })()`)
	}, func() string { return evalIn[string](t, frame, `document.querySelector(".log").textContent`) })
}
