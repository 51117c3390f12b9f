package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/bot/demo"
	"github.com/parleychat/parley/internal/server"
)

// withDemoBot gives a brand the demo bot (and the skill it hands off to).
func withDemoBot(t testing.TB, ts *testServer, b brand) *parley.Skill {
	t.Helper()
	admin := ts.withKey(t, b.apiKey)
	var general parley.Skill
	if st := admin.do("POST", "/api/v1/skills", map[string]any{"name": "general"}, &general); st != 201 {
		t.Fatalf("skill: %d", st)
	}
	req, _ := http.NewRequest("POST", ts.url+"/api/v1/bot/import?file=northwind.yaml", strings.NewReader(string(demo.Northwind)))
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("Authorization", "Bearer "+b.apiKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("import: %d %s", res.StatusCode, body)
	}
	return &general
}

// nextBot waits for the next message from the bot in a conversation.
// chatting is a new visitor of the account with a conversation open and
// its socket subscribed to it.
func chatting(t testing.TB, ts *testServer, accountID string) (*parley.Conversation, *wsClient) {
	t.Helper()
	v := ts.newVisitor(t, accountID)
	conv := v.open(t)
	ws := connect(t, ts, v.token, nil)
	ws.subscribe(conv.ID, 0)
	return conv, ws
}

func nextBot(t testing.TB, c *wsClient, convID string) parley.Message {
	t.Helper()
	f := c.next(func(f frame) bool {
		return f.Type == "message" && f.ConversationID == convID && strings.Contains(string(f.Message), `"sender_kind":"bot"`)
	})
	return f.msg(t)
}

func TestTheBotAnswersFromTheKnowledgeBaseThenHandsOffWithTheTranscript(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Northwind")
	general := withDemoBot(t, ts, b)
	setAutoAssign(t, ts, b, true)
	// The agent has the skill the bot hands off to, and is online.
	admin := ts.withKey(t, b.apiKey)
	admin.do("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"skills": []string{general.ID}}, nil)
	agent := online(t, ts, b.agent)
	agent.send(`{"type":"subscribe_inbox","id":"in"}`)
	agent.next(reply("in"))

	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	if conv.State != parley.StateBot {
		t.Fatalf("a new conversation of a brand with a bot is %s", conv.State)
	}
	ws := connect(t, ts, v.token, nil)
	ws.subscribe(conv.ID, 0)

	ws.sendText(conv.ID, "q1", "How long does delivery take?")
	answer := nextBot(t, ws, conv.ID)
	if !strings.Contains(answer.HTML, "<strong>Standard delivery</strong>") || answer.SenderName != "Northwind Assistant" {
		t.Fatalf("answer: %+v", answer)
	}
	prompt := nextBot(t, ws, conv.ID)
	if prompt.Text != "Did this help?" || prompt.Type != parley.MessageQuickReplies || len(prompt.Choices) != 3 {
		t.Fatalf("feedback prompt: %+v", prompt)
	}
	ws.sendText(conv.ID, "q2", "Yes")
	if m := nextBot(t, ws, conv.ID); !strings.Contains(m.Text, "Glad I could help") {
		t.Fatalf("after yes: %+v", m)
	}

	ws.sendText(conv.ID, "q3", "I want to talk to a human")
	if m := nextBot(t, ws, conv.ID); !strings.Contains(m.Text, "connecting you with a member of our team") {
		t.Fatalf("handoff message: %+v", m)
	}
	f := agent.next(func(f frame) bool { return f.Type == "conversation" && f.Event == parley.EventConversationAssigned })
	var assigned parley.Conversation
	json.Unmarshal(f.Conversation, &assigned)
	if assigned.ID != conv.ID || assigned.AssigneeID != b.agent.ID || assigned.Skill != general.ID {
		t.Fatalf("assigned %+v", assigned)
	}
	// The agent sees the whole transcript and, as a note, why and what the bot understood.
	agentREST := ts.login(t, b.agent)
	var page struct{ Messages []parley.Message }
	agentREST.do("GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, &page)
	var transcript []string
	for _, m := range page.Messages {
		transcript = append(transcript, string(m.SenderKind)+": "+m.Text)
	}
	joined := strings.Join(transcript, "\n")
	for _, want := range []string{"consumer: How long does delivery take?", "bot: **Standard delivery**", "consumer: I want to talk to a human", "bot: I'm connecting you"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("transcript lacks %q:\n%s", want, joined)
		}
	}
	var notes struct{ Notes []parley.Note }
	agentREST.do("GET", "/api/v1/conversations/"+conv.ID+"/notes", nil, &notes)
	if len(notes.Notes) != 1 || notes.Notes[0].Text != "Handed over by the bot: the visitor asked for a person. Detected: Delivery times and costs" {
		t.Fatalf("notes: %+v", notes.Notes)
	}
	var events struct{ Events []parley.Event }
	sup := ts.login(t, b.supervisor)
	waitFor(t, func() bool {
		sup.do("GET", "/api/v1/events?types=bot.answered,bot.feedback,bot.handoff,bot.missed", nil, &events)
		return len(events.Events) == 3
	})
	var types []string
	for _, e := range events.Events {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "bot.answered,bot.feedback,bot.handoff" {
		t.Fatalf("bot events %v", types)
	}
}

func TestTurningTheBotOffHandsItsConversationsToPeople(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, b)
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	admin := ts.withKey(t, b.apiKey)
	var doc struct {
		Version int64           `json:"version"`
		Config  json.RawMessage `json:"config"`
	}
	admin.do("GET", "/api/v1/bot", nil, &doc)
	off := strings.Replace(string(doc.Config), `"enabled":true`, `"enabled":false`, 1)
	if off == string(doc.Config) {
		t.Fatalf("config %s", doc.Config)
	}
	// A stale version is refused; the right one saves.
	req, _ := http.NewRequest("PUT", ts.url+"/api/v1/bot", strings.NewReader(off))
	req.Header.Set("Authorization", "Bearer "+b.apiKey)
	req.Header.Set("If-Match", strconv.FormatInt(doc.Version+5, 10))
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 409 {
		t.Fatalf("stale save: %d", res.StatusCode)
	}
	req, _ = http.NewRequest("PUT", ts.url+"/api/v1/bot", strings.NewReader(off))
	req.Header.Set("Authorization", "Bearer "+b.apiKey)
	req.Header.Set("If-Match", strconv.FormatInt(doc.Version, 10))
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 200 {
		t.Fatalf("save: %d", res.StatusCode)
	}
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "where is my parcel"}, nil)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(context.Background(), b.account.ID, conv.ID)
		return c.State == parley.StateQueued
	})
	if next := v.open(t); next.State != parley.StateQueued {
		t.Fatalf("with the bot off a conversation starts %s", next.State)
	}
}

func TestBotConfigurationErrorsArePreciseAndChangeNothing(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, b)
	admin := ts.withKey(t, b.apiKey)
	var before struct{ Version int64 }
	admin.do("GET", "/api/v1/bot", nil, &before)
	send := func(ctype, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", ts.url+"/api/v1/bot/import?file=mine.yaml", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+b.apiKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct{ Error map[string]any }
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out.Error
	}
	st, e := send("application/yaml", "enabled: true\nintents:\n  - name: x\n    phrases: []\n    answer: y\n")
	if st != 400 || e["code"] != "invalid" || e["field"] != "intents[0].phrases" || e["line"] != float64(4) ||
		e["message"] != `mine.yaml:4: intents[0].phrases: intent "x" has no training phrases` {
		t.Fatalf("empty intent: %d %v", st, e)
	}
	if st, e := send("text/plain", "x"); st != 400 || !strings.Contains(fmt.Sprint(e["message"]), "Content-Type") {
		t.Fatalf("wrong type: %d %v", st, e)
	}
	huge := "enabled: true\n# " + strings.Repeat("x", 5<<20) + "\n"
	if st, e := send("application/yaml", huge); st != 413 || e["code"] != "too_large" {
		t.Fatalf("huge file: %d %v", st, e)
	}
	var after struct{ Version int64 }
	admin.do("GET", "/api/v1/bot", nil, &after)
	if after.Version != before.Version {
		t.Fatalf("refused imports changed the version %d → %d", before.Version, after.Version)
	}
	// The test box answers on the saved bot, with its confidence.
	var out struct {
		Classification struct {
			Band       string
			Label      string
			Confidence float64
		}
		Messages []struct{ Text, HTML string }
	}
	admin.do("POST", "/api/v1/bot/test", map[string]any{"text": "can I pay with paypal?"}, &out)
	if out.Classification.Band != "answer" || out.Classification.Label != "article:payment" || out.Classification.Confidence < 0.6 || !strings.Contains(out.Messages[0].HTML, "PayPal") {
		t.Fatalf("test box: %+v", out)
	}
}

// verifySignature checks a Standard Webhooks signature, written from the
// specification independently of internal/outbound.
func verifySignature(secret string, h http.Header, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("timestamp %q", h.Get("webhook-timestamp"))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if v, s, ok := strings.Cut(sig, ","); ok && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no valid signature in %q", h.Get("webhook-signature"))
}

func TestExternalBotIsSignedAndPeopleTakeOverWhenItFails(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.AllowPrivateOutbound = true })
	b := seedBrand(t, ts, "Acme")
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	fail := make(chan bool, 10)
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifySignature(secret, r.Header, body); err != nil {
			http.Error(w, err.Error(), 401)
			return
		}
		if <-fail {
			http.Error(w, "down", 500)
			return
		}
		var req struct{ Text string }
		json.Unmarshal(body, &req)
		json.NewEncoder(w).Encode(map[string]any{"messages": []map[string]any{{"text": "You said: " + req.Text, "choices": []string{"More"}}}})
	}))
	defer ext.Close()
	admin := ts.withKey(t, b.apiKey)
	if st, raw := admin.raw("PUT", "/api/v1/bot", map[string]any{"enabled": true, "secret": secret, "external": map[string]any{"url": ext.URL, "timeout_ms": 2000}}); st != 200 {
		t.Fatalf("save: %d %s", st, raw)
	}
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	ws := connect(t, ts, v.token, nil)
	ws.subscribe(conv.ID, 0)
	fail <- false
	ws.sendText(conv.ID, "e1", "hello bot")
	if m := nextBot(t, ws, conv.ID); m.Text != "You said: hello bot" || len(m.Choices) != 1 {
		t.Fatalf("external reply: %+v", m)
	}
	fail <- true
	ws.sendText(conv.ID, "e2", "and again")
	if m := nextBot(t, ws, conv.ID); !strings.Contains(m.Text, "connecting you") {
		t.Fatalf("fallback: %+v", m)
	}
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(context.Background(), b.account.ID, conv.ID)
		return c.State == parley.StateQueued
	})
}

func TestOutboundCallsToPrivateAddressesAreRefusedByDefault(t *testing.T) {
	ts := startServer(t, t.TempDir()) // no AllowPrivateOutbound
	b := seedBrand(t, ts, "Acme")
	called := make(chan struct{}, 1)
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called <- struct{}{} }))
	defer ext.Close()
	admin := ts.withKey(t, b.apiKey)
	url := strings.Replace(ext.URL, "http://", "https://", 1)
	// Saving a private or plain-HTTP destination is refused, naming the field.
	for _, u := range []string{url, "http://hooks.example.com/bot"} {
		st, raw := admin.raw("PUT", "/api/v1/bot", map[string]any{"enabled": true, "external": map[string]any{"url": u}})
		if st != 400 || !strings.Contains(string(raw), `"field":"external.url"`) {
			t.Fatalf("saving %s: %d %s", u, st, raw)
		}
	}
	// A name can resolve to a private address after it was saved: the
	// dialled address is checked too. (Stored directly, as if it had.)
	if _, err := ts.Store.PutBot(context.Background(), b.account.ID, []byte(`{"enabled":true,"external":{"url":"`+url+`","timeout_ms":2000}}`), 0); err != nil {
		t.Fatal(err)
	}
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "hi"}, nil)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(context.Background(), b.account.ID, conv.ID)
		return c.State == parley.StateQueued
	})
	select {
	case <-called:
		t.Fatal("the external bot on a loopback address was called")
	default:
	}
	events, _ := ts.Store.ListEvents(context.Background(), b.account.ID, parley.EventFilter{Types: []string{parley.EventBotHandoff}})
	if len(events) != 1 || !strings.Contains(string(events[0].Data), "private, loopback or link-local") {
		t.Fatalf("handoff events: %+v", events)
	}
}

// Admins see the questions the bot missed — not understood, or its guesses
// turned down — most asked first, and a question taught to the bot leaves
// the list.
func TestAdminsSeeTheQuestionsTheBotMissed(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, b)
	admin := ts.withKey(t, b.apiKey)
	// ask says each of words in a new conversation, waiting for the bot's
	// reply to each: every reply here ends with quick replies (the
	// guesses, "Did this help?", or "Talk to a person").
	ask := func(words ...string) {
		conv, ws := chatting(t, ts, b.account.ID)
		for i, w := range words {
			ws.sendText(conv.ID, fmt.Sprintf("m%d", i), w)
			for nextBot(t, ws, conv.ID).Type != parley.MessageQuickReplies {
			}
		}
	}
	ask("Do you ship to my office?", "Something else") // the bot offers two guesses; neither is it
	ask("osifhaskdnkauer")
	ask("do you ship to my  office?", "something else")
	ask("Can I send back a gift?", "No") // answered, but it did not help
	type missed struct {
		Question, Reason, Answer string
		Count                    int
		ConversationID           string `json:"conversation_id"`
	}
	var page struct{ Items []missed }
	admin.do("GET", "/api/v1/bot/missed", nil, &page)
	if len(page.Items) != 3 ||
		page.Items[0] != (missed{Question: "do you ship to my  office?", Reason: "declined", Count: 2, ConversationID: page.Items[0].ConversationID}) ||
		page.Items[1] != (missed{Question: "Can I send back a gift?", Reason: "unhelpful", Answer: "article:returns", Count: 1, ConversationID: page.Items[1].ConversationID}) ||
		page.Items[2] != (missed{Question: "osifhaskdnkauer", Reason: "not_understood", Count: 1, ConversationID: page.Items[2].ConversationID}) ||
		page.Items[2].ConversationID == "" {
		t.Fatalf("missed questions: %+v", page.Items)
	}
	// Taught as an example question of the delivery article, it is answered and off the list.
	var doc struct {
		Version int64
		Config  map[string]any
	}
	admin.do("GET", "/api/v1/bot", nil, &doc)
	var article map[string]any
	for _, a := range doc.Config["articles"].([]any) {
		if a.(map[string]any)["id"] == "delivery" {
			article = a.(map[string]any)
		}
	}
	article["questions"] = append(article["questions"].([]any), "Do you ship to my office?")
	admin.do("PUT", "/api/v1/bot", doc.Config, nil)
	admin.do("GET", "/api/v1/bot/missed", nil, &page)
	if len(page.Items) != 2 || page.Items[0].Question != "Can I send back a gift?" || page.Items[1].Question != "osifhaskdnkauer" {
		t.Fatalf("after teaching the bot: %+v", page.Items)
	}
	// Taught as the answer it already got, an unhelpful question stays: the
	// answer is what did not help.
	article = doc.Config["articles"].([]any)[1].(map[string]any)
	article["questions"] = append(article["questions"].([]any), "can I send back a gift")
	admin.do("PUT", "/api/v1/bot", doc.Config, nil)
	admin.do("GET", "/api/v1/bot/missed", nil, &page)
	if len(page.Items) != 2 || page.Items[0].Reason != "unhelpful" {
		t.Fatalf("after teaching it the same answer: %+v", page.Items)
	}
	// Ignored, a question leaves the list whatever its case.
	doc.Config["ignored_questions"] = []string{"OSIFHASKDNKAUER"}
	admin.do("PUT", "/api/v1/bot", doc.Config, nil)
	admin.do("GET", "/api/v1/bot/missed", nil, &page)
	if len(page.Items) != 1 || page.Items[0].Question != "Can I send back a gift?" {
		t.Fatalf("after ignoring the keyboard mash: %+v", page.Items)
	}
	var tried struct{ Classification bot.Classification }
	admin.do("POST", "/api/v1/bot/test", map[string]any{"text": "do you ship to my office?"}, &tried)
	if tried.Classification.Band != bot.BandAnswer || tried.Classification.Label != "article:delivery" {
		t.Fatalf("the taught question is now %+v", tried.Classification)
	}
	if status, raw := admin.raw("GET", "/api/v1/bot/missed?limit=0", nil); status != 400 || !strings.Contains(string(raw), "limit must be a number from 1 to 100") {
		t.Fatalf("limit=0: %d %s", status, raw)
	}
}

// The check tests the saved bot, or the draft it is given, with the bot's
// own phrases; a draft that does not validate is refused as a save would be.
func TestAdminsCheckTheBotsIntents(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, b)
	admin := ts.withKey(t, b.apiKey)
	// A check trains five bots; the race detector makes that about twenty
	// times slower (0.6 s for this test without it, 8 s with), near the
	// client's usual limit on a busy machine.
	admin.http.Timeout = time.Minute
	var report bot.CheckReport
	if st := admin.do("POST", "/api/v1/bot/check", map[string]any{}, &report); st != 200 || report.Phrases < 30 || len(report.Labels) < 6 {
		t.Fatalf("check of the demo bot: %d, %d phrases, %d labels", st, report.Phrases, len(report.Labels))
	}
	for i := 1; i < len(report.Labels); i++ {
		if report.Labels[i].Accuracy < report.Labels[i-1].Accuracy {
			t.Fatalf("not weakest first: %+v", report.Labels)
		}
	}
	var doc struct{ Config map[string]any }
	admin.do("GET", "/api/v1/bot", nil, &doc)
	doc.Config["intents"] = append(doc.Config["intents"].([]any), map[string]any{"name": "hello_again", "answer": "Hi!",
		"phrases": []string{"hello", "hi there", "good morning", "hey"}})
	admin.do("POST", "/api/v1/bot/check", map[string]any{"config": doc.Config}, &report)
	var greeting *bot.LabelCheck
	for _, lc := range report.Labels {
		if lc.Label == "intent:greeting" {
			greeting = lc
		}
	}
	if greeting == nil || greeting.ConfusedWith != "intent:hello_again" {
		t.Fatalf("a draft intent overlapping the greeting is not found: %+v", greeting)
	}
	doc.Config["intents"] = append(doc.Config["intents"].([]any), map[string]any{"name": "empty", "answer": "x", "phrases": []string{}})
	if st, raw := admin.raw("POST", "/api/v1/bot/check", map[string]any{"config": doc.Config}); st != 400 || !strings.Contains(string(raw), `intent \"empty\" has no training phrases`) {
		t.Fatalf("a draft that does not validate: %d %s", st, raw)
	}
}
