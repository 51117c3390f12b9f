package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// engagementBrand is a brand with three engagements: "boots" routes to
// the Fit skill, "sale" goes the usual way, "old" is paused.
func engagementBrand(t *testing.T, ts *testServer) (brand, *parley.Skill) {
	t.Helper()
	b := seedBrand(t, ts, "Acme")
	admin := ts.withKey(t, b.apiKey)
	var fit parley.Skill
	if st := admin.do("POST", "/api/v1/skills", map[string]any{"name": "Fit"}, &fit); st != 201 {
		t.Fatalf("skill: %d", st)
	}
	if st, raw := admin.raw("PUT", "/api/v1/widget-settings", map[string]any{"engagements": []map[string]any{
		{"id": "boots", "name": "Boots sizing", "url_pattern": "/boots*", "delay_seconds": 5, "text": "Not sure of your size? Ask us.",
			"skill": fit.ID, "audience": "returning", "min_pages": 2, "repeat": "visit", "when_available": true},
		{"id": "sale", "url_pattern": "*", "text": "The sale ends tonight."},
		{"id": "old", "name": "Summer", "url_pattern": "*", "text": "Summer is here.", "paused": true},
	}}); st != 200 {
		t.Fatalf("engagements: %d %s", st, raw)
	}
	return b, &fit
}

func TestAnsweringAnEngagementStartsItsConversation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b, fit := engagementBrand(t, ts)

	// The page learns the live engagements, without the staff's names.
	resp, err := http.Get(ts.url + "/widget/config?account=" + b.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var cfg struct{ Engagements []parley.Engagement }
	decodeJSON(t, raw, &cfg)
	if len(cfg.Engagements) != 2 || cfg.Engagements[0].ID != "boots" || cfg.Engagements[0].Audience != "returning" ||
		cfg.Engagements[0].MinPages != 2 || cfg.Engagements[0].Repeat != "visit" || !cfg.Engagements[0].WhenAvailable ||
		strings.Contains(string(raw), "Boots sizing") || strings.Contains(string(raw), "Summer") {
		t.Fatalf("public engagements: %s", raw)
	}

	// Over the socket: the conversation is the engagement's, goes to its
	// skill (past the bot), and opens with the brand's words.
	v := ts.newVisitor(t, b.account.ID)
	ws := connect(t, ts, v.token, nil)
	ws.send(map[string]any{"type": "open", "id": "o", "engagement": "boots"})
	var conv parley.Conversation
	decodeJSON(t, ws.next(reply("o")).Conversation, &conv)
	if conv.Engagement != "boots" || conv.Skill != fit.ID || conv.State != parley.StateQueued || conv.LastSeq != 1 {
		t.Fatalf("opened: %+v", conv)
	}
	msgs := ws.subscribe(conv.ID, 0)
	if len(msgs) != 1 || msgs[0].SenderKind != parley.SenderSystem || msgs[0].Text != "Not sure of your size? Ask us." ||
		msgs[0].Notice == nil || msgs[0].Notice.Code != parley.NoticeEngagement || msgs[0].Notice.Args["name"] != "Boots sizing" {
		t.Fatalf("first message: %+v", msgs)
	}
	if ack := ws.sendText(conv.ID, "c1", "Do the Ridge boots run small?"); ack.Seq != 2 {
		t.Fatalf("the visitor's answer: %s", ack.raw)
	}
	opened := waitEvents(t, ts, b.account.ID, parley.EventConversationOpened, 1)
	if !strings.Contains(string(opened[0].Data), `"engagement":"boots"`) {
		t.Fatalf("conversation.opened: %s", opened[0].Data)
	}

	// Over REST (a first file): the same; an engagement the brand has
	// removed since is let go, and the visitor's conversation opens.
	for id, want := range map[string]string{"sale": "sale", "gone": ""} {
		var c parley.Conversation
		if st := ts.newVisitor(t, b.account.ID).do("POST", "/api/v1/conversations", map[string]any{"engagement": id}, &c); st != 201 ||
			c.Engagement != want || (want != "") != (c.LastSeq == 1) || c.Skill != "" {
			t.Fatalf("REST open with %q: %d %+v", id, st, c)
		}
	}

	// Refused: a malformed ID, and staff claiming an engagement.
	if st, raw := ts.newVisitor(t, b.account.ID).raw("POST", "/api/v1/conversations", map[string]any{"engagement": "Bad ID!"}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("malformed engagement: %d %s", st, raw)
	}
	if st, raw := ts.withKey(t, b.apiKey).raw("POST", "/api/v1/conversations", map[string]any{"consumer_id": v.consumer.ID, "engagement": "sale"}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("staff with an engagement: %d %s", st, raw)
	}
}

func TestEngagementTargetingAsksWhoCanAnswer(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b, fit := engagementBrand(t, ts)
	online := func(query string) (int, bool) {
		resp, err := http.Get(ts.url + "/widget/availability?account=" + b.account.ID + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct {
			AgentsOnline bool `json:"agents_online"`
		}
		json.NewDecoder(resp.Body).Decode(&a)
		return resp.StatusCode, a.AgentsOnline
	}
	// The agent is online but has no skill: someone answers the brand,
	// no one the Fit skill.
	agent := agentWS(t, ts, b.agent)
	agent.send(map[string]any{"type": "presence", "id": "p", "state": "online"})
	agent.next(reply("p"))
	waitFor(t, func() bool { _, on := online(""); return on })
	if st, on := online("&skill=" + fit.ID); st != 200 || on {
		t.Fatalf("Fit without its people: %d %v", st, on)
	}
	if st := ts.withKey(t, b.apiKey).do("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"skills": []string{fit.ID}}, nil); st != 200 {
		t.Fatalf("give the agent Fit: %d", st)
	}
	waitFor(t, func() bool { _, on := online("&skill=" + fit.ID); return on })
	if st, _ := online("&skill=billing"); st != 400 {
		t.Fatalf("a skill that is not an ID: %d", st)
	}
}

func TestEngagementsAreReported(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b, _ := engagementBrand(t, ts)
	beacon := func(kind, detail string) int {
		body := `{"account":"` + b.account.ID + `","pv":"pv` + kind[11:] + `0001","kind":"` + kind + `","url":"https://shop.example/boots","detail":"` + detail + `"}`
		resp, err := http.Post(ts.url+"/widget/beacon", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, k := range []string{"engagement_shown", "engagement_shown", "engagement_shown", "engagement_shown", "engagement_clicked", "engagement_dismissed"} {
		if st := beacon(k, "boots"); st != 204 {
			t.Fatalf("%s: %d", k, st)
		}
	}
	beacon("engagement_shown", "sale")
	// Only the brand's own engagements are counted.
	if st := beacon("engagement_shown", "made-up"); st != 400 {
		t.Fatalf("an engagement the brand does not have: %d", st)
	}
	var c parley.Conversation
	if st := ts.newVisitor(t, b.account.ID).do("POST", "/api/v1/conversations", map[string]any{"engagement": "boots"}, &c); st != 201 {
		t.Fatalf("open: %d", st)
	}
	waitEvents(t, ts, b.account.ID, parley.EventEngagementShown, 5)
	waitEvents(t, ts, b.account.ID, parley.EventEngagementDismissed, 1)
	var rep struct {
		Engagements []struct {
			ID, Name                                 string
			Shown, Clicked, Dismissed, Conversations int
			ClickRate                                float64 `json:"click_rate"`
			ConversionRate                           float64 `json:"conversion_rate"`
		}
	}
	if st := ts.login(t, b.supervisor).do("GET", "/api/v1/metrics", nil, &rep); st != 200 {
		t.Fatalf("metrics: %d", st)
	}
	if len(rep.Engagements) != 2 {
		t.Fatalf("engagements: %+v", rep.Engagements)
	}
	boots, sale := rep.Engagements[0], rep.Engagements[1]
	if boots.ID != "boots" || boots.Name != "Boots sizing" || boots.Shown != 4 || boots.Clicked != 1 || boots.Dismissed != 1 ||
		boots.Conversations != 1 || boots.ClickRate != 0.25 || boots.ConversionRate != 0.25 {
		t.Fatalf("boots: %+v", boots)
	}
	if sale.ID != "sale" || sale.Name != "sale" || sale.Shown != 1 || sale.Conversations != 0 {
		t.Fatalf("sale: %+v", sale)
	}
}
