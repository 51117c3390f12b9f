package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// TestATranscriptReadsAsTheConversationWent: the agent downloads the
// conversation as text — the visitor's and the agent's lines, the notes
// in their place when asked for — and the visitor their own, without the
// notes (asking for them is refused).
func TestATranscriptReadsAsTheConversationWent(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	agent := ts.login(t, brand.agent)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Where is order 1042?"}, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "Carrier lost it"}, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "It ships again today.\nSorry!"}, nil)
	path := "/api/v1/conversations/" + conv.ID + "/transcript"

	st, raw := agent.raw("GET", path+"?notes=1", nil)
	text := string(raw)
	if st != 200 {
		t.Fatalf("transcript: status %d %s", st, raw)
	}
	order := []string{"Visitor: Where is order 1042?", "Note from " + brand.agent.Name + ": Carrier lost it", brand.agent.Name + ": It ships again today.\n    Sorry!"}
	at := 0
	for _, want := range order {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Fatalf("the transcript lacks %q after position %d:\n%s", want, at, text)
		}
		at += i + len(want)
	}
	req, _ := http.NewRequest("GET", ts.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+v.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
		res.Header.Get("Content-Disposition") != `attachment; filename="conversation-`+conv.ID+`.txt"` {
		t.Fatalf("the visitor's transcript: %d %v", res.StatusCode, res.Header)
	}
	if strings.Contains(string(body), "Carrier lost it") || !strings.Contains(string(body), "It ships again today.") {
		t.Fatalf("the visitor's transcript:\n%s", body)
	}
	if st, _ := v.raw("GET", path+"?notes=1", nil); st != 403 {
		t.Fatalf("a visitor asking for the notes: status %d", st)
	}
}

// TestTheInboxLoadsMore: a list longer than a page (100) shows its first
// page and "Load more", which brings the rest and goes away.
func TestTheInboxLoadsMore(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ctx := t.Context()
	for range 105 {
		c := &parley.Consumer{AccountID: brand.account.ID}
		if err := ts.Store.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
		conv, err := ts.Store.OpenConversation(ctx, brand.account.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Store.CloseConversation(ctx, brand.account.ID, conv.ID, parley.ConversationClose{Reason: "resolved"}); err != nil {
			t.Fatal(err)
		}
	}
	agent := consoleLogin(t, ts, brand.agent, "[data-tab=closed]")
	agent.press("[data-tab=closed]")
	count := func() int { return evalIn[int](t, agent.ctx, `document.querySelectorAll(".items li").length`) }
	waitFor(t, func() bool {
		return count() == 100 && evalIn[bool](t, agent.ctx, `!document.querySelector(".more").hidden`)
	})
	agent.press(".more")
	waitFor(t, func() bool { return count() == 105 })
	if !evalIn[bool](t, agent.ctx, `document.querySelector(".more").hidden`) {
		t.Fatal("Load more is still offered with nothing more to load")
	}
}
