package email_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestARatingIsAskedByEmailAfterAnUnratedClose: a conversation a person
// answered closes unrated; 30 minutes later the visitor gets five rating
// links. Opening one rates nothing (mail scanners open links); the page's
// Send records the score and the comment, once. A conversation rated in
// the chat meanwhile gets no email, and a forged link is refused.
func TestARatingIsAskedByEmailAfterAnUnratedClose(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	// Rating requests only: the agents' replies are not mailed.
	w.store.ChangeAccount(ctx, w.acc.ID, func(a *parley.Account) error {
		a.Settings.EmailReplies.Survey, a.Settings.EmailReplies.Enabled = true, false
		return nil
	})
	w.svc.PublicURL, w.svc.SurveyKey = "https://chat.acme.test", []byte("a key for rating links, 32 bytes!")
	w.svc.Rate = func(ctx context.Context, accountID, _, conversationID string, score int, comment string) error {
		return w.store.RateConversation(ctx, accountID, conversationID, score, comment)
	}
	agent := &parley.User{AccountID: w.acc.ID, Email: "ana@acme.test", Name: "Ana", Role: parley.RoleAgent, Active: true, MaxConcurrent: 5}
	w.store.CreateUser(ctx, agent)
	closeAnswered := func(conv *parley.Conversation) {
		t.Helper()
		if _, err := w.store.ClaimConversation(ctx, w.acc.ID, conv.ID, agent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.store.CloseConversation(ctx, w.acc.ID, conv.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: agent.ID}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	w.say(parley.SenderAgent, "Done: your refund left today.") // not mailed: replies are off
	closeAnswered(w.conv)
	rated, _ := w.store.OpenConversation(ctx, w.acc.ID, parley.ConversationOpen{ConsumerID: w.conv.ConsumerID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	closeAnswered(rated)
	w.store.RateConversation(ctx, w.acc.ID, rated.ID, 5, "") // in the chat window, before the email was due

	w.sweep(start.Add(time.Minute))
	w.none() // the chat window asks first
	w.sweep(start.Add(31 * time.Minute))
	h, text, html := parts(t, w.next())
	w.sweep(start.Add(40 * time.Minute))
	w.none() // one request, none for the conversation rated in the chat, no reply email
	if h["Subject"] != "How did Acme Support do?" || !strings.Contains(html, "★★★★☆ Good") {
		t.Fatalf("subject %q, html:\n%s", h["Subject"], html)
	}
	links := regexp.MustCompile(`https://chat\.acme\.test/csat/rate\?\S+`).FindAllString(text, -1)
	if len(links) != 5 {
		t.Fatalf("%d rating links, want 5:\n%s", len(links), text)
	}
	four, _ := url.Parse(links[1])
	if four.Query().Get("score") != "4" {
		t.Fatalf("second link %s, want score 4", links[1])
	}

	srv := httptest.NewServer(http.HandlerFunc(w.svc.ServeRate))
	defer srv.Close()
	get := func(q string) (int, string) {
		res, err := http.Get(srv.URL + "/csat/rate?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	post := func(v url.Values) (int, string) {
		res, err := http.PostForm(srv.URL+"/csat/rate", v)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	st, page := get(four.RawQuery)
	if st != 200 || !strings.Contains(page, `value="4" checked`) || !strings.Contains(page, "Rate your conversation with Acme Support") {
		t.Fatalf("opening the link: %d\n%s", st, page)
	}
	if c, _ := w.store.FindConversation(ctx, w.acc.ID, w.conv.ID); c.CSATScore != 0 {
		t.Fatal("opening the link rated the conversation")
	}
	token := four.Query().Get("t")
	if st, page := post(url.Values{"t": {token}, "score": {"4"}, "comment": {"Quick and kind"}}); st != 200 || !strings.Contains(page, "Thanks for your rating!") {
		t.Fatalf("sending: %d\n%s", st, page)
	}
	if c, _ := w.store.FindConversation(ctx, w.acc.ID, w.conv.ID); c.CSATScore != 4 || c.CSATComment != "Quick and kind" {
		t.Fatalf("rated %d %q", c.CSATScore, c.CSATComment)
	}
	if st, page := post(url.Values{"t": {token}, "score": {"1"}}); st != 200 || !strings.Contains(page, "already rated") {
		t.Fatalf("sending again: %d\n%s", st, page)
	}
	forged := strings.Replace(token, token[len(token)-4:], "AAAA", 1)
	if st, _ := post(url.Values{"t": {forged}, "score": {"1"}}); st != 400 {
		t.Fatalf("a forged link: status %d", st)
	}
	if c, _ := w.store.FindConversation(ctx, w.acc.ID, w.conv.ID); c.CSATScore != 4 {
		t.Fatalf("after refused sends, rated %d", c.CSATScore)
	}
}
