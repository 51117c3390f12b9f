package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/server"
)

// pageBeacon sends one page beacon, as the loader or the frame would, and
// returns the status and body (a heartbeat's may carry an invitation).
func pageBeacon(t *testing.T, ts *testServer, accountID, pv, kind, url, detail string) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"account": accountID, "pv": pv, "kind": kind, "url": url, "detail": detail})
	resp, err := http.Post(ts.url+"/widget/beacon", "text/plain", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func TestAnAgentInvitesAVisitorOnTheSite(t *testing.T) {
	ts := startServer(t, t.TempDir())
	a, b := seedBrand(t, ts, "Alpha"), seedBrand(t, ts, "Beta")
	pageBeacon(t, ts, a.account.ID, "pvalpha001", "load", "https://alpha.example/boots/ridge", "Ridge boots")
	pageBeacon(t, ts, a.account.ID, "pvalpha002", "load", "https://alpha.example/tents?card=4111111111111111", "Tents")
	pageBeacon(t, ts, b.account.ID, "pvbeta0001", "load", "https://beta.example/secret-launch", "Beta's secret launch")
	agent := ts.login(t, a.agent)

	// The list: the brand's own pages, newest first, with their titles.
	var list struct{ Visitors []parley.LiveVisitor }
	if st := agent.do("GET", "/api/v1/visitors", nil, &list); st != 200 || len(list.Visitors) != 2 {
		t.Fatalf("visitors: %d %+v", st, list.Visitors)
	}
	byPV := map[string]parley.LiveVisitor{}
	for _, v := range list.Visitors {
		byPV[v.PV] = v
	}
	if v := byPV["pvalpha002"]; strings.Contains(v.URL, "4111111111111111") || !strings.Contains(v.URL, "1111") {
		t.Fatalf("the card number in a URL is shown: %q", v.URL)
	}
	if v := byPV["pvalpha001"]; v.Title != "Ridge boots" || v.URL != "https://alpha.example/boots/ridge" || v.Chatting || v.Invitation != nil {
		t.Fatalf("the boots page: %+v", v)
	}

	// Not online: the visitor would answer someone who takes no conversations.
	if st, raw := agent.raw("POST", "/api/v1/visitors/pvalpha001/invite", map[string]any{"text": "Hi"}); st != 409 || errorCode(raw) != parley.ECONFLICT || !strings.Contains(string(raw), "online") {
		t.Fatalf("an agent who is not online: %d %s", st, raw)
	}
	online(t, ts, a.agent)

	// Refused: another brand's visitor, no text, an API key (the
	// conversation would be no one's), a visitor in a conversation.
	for name, c := range map[string]struct {
		who    *client
		pv     string
		body   map[string]any
		status int
	}{
		"another brand's":  {agent, "pvbeta0001", map[string]any{"text": "Hi"}, 404},
		"gone":             {agent, "pvnobody01", map[string]any{"text": "Hi"}, 404},
		"no text":          {agent, "pvalpha001", map[string]any{"text": "  "}, 400},
		"too long":         {agent, "pvalpha001", map[string]any{"text": strings.Repeat("x", 201)}, 400},
		"an API key":       {ts.withKey(t, a.apiKey), "pvalpha001", map[string]any{"text": "Hi"}, 403},
		"a visitor itself": {ts.newVisitor(t, a.account.ID).client, "pvalpha001", map[string]any{"text": "Hi"}, 403},
	} {
		if st, raw := c.who.raw("POST", "/api/v1/visitors/"+c.pv+"/invite", c.body); st != c.status {
			t.Fatalf("%s: %d %s", name, st, raw)
		}
	}
	pageBeacon(t, ts, a.account.ID, "pvalpha002", "heartbeat", "https://alpha.example", "chat")
	if st, raw := agent.raw("POST", "/api/v1/visitors/pvalpha002/invite", map[string]any{"text": "Hi"}); st != 409 || errorCode(raw) != parley.ECONFLICT {
		t.Fatalf("a visitor in a conversation: %d %s", st, raw)
	}

	// The invitation: on the list, then to the page with its next heartbeat.
	var inv parley.Invitation
	if st := agent.do("POST", "/api/v1/visitors/pvalpha001/invite", map[string]any{"text": "Those run small: want a hand with the size?"}, &inv); st != 201 ||
		!parley.HasIDPrefix(inv.ID, "inv") || inv.AgentID != a.agent.ID {
		t.Fatalf("invite: %d %+v", st, inv)
	}
	if st, raw := agent.raw("POST", "/api/v1/visitors/pvalpha001/invite", map[string]any{"text": "Hi again"}); st != 409 {
		t.Fatalf("invited twice: %d %s", st, raw)
	}
	agent.do("GET", "/api/v1/visitors", nil, &list)
	for _, v := range list.Visitors {
		if v.PV == "pvalpha001" && (v.Invitation == nil || v.Invitation.AgentName != a.agent.Name) {
			t.Fatalf("the list: %+v", v)
		}
	}
	st, raw := pageBeacon(t, ts, a.account.ID, "pvalpha001", "heartbeat", "https://alpha.example", "")
	var hb struct{ Invitation map[string]string }
	json.Unmarshal(raw, &hb)
	if st != 200 || hb.Invitation["id"] != inv.ID || hb.Invitation["text"] != inv.Text || hb.Invitation["agent_name"] != a.agent.Name || strings.Contains(string(raw), a.agent.ID) {
		t.Fatalf("the heartbeat's answer: %d %s", st, raw)
	}
	if st, _ := pageBeacon(t, ts, a.account.ID, "pvalpha002", "heartbeat", "https://alpha.example", "chat"); st != 204 {
		t.Fatalf("a page without an invitation: %d", st)
	}
	waitEvents(t, ts, a.account.ID, parley.EventVisitorInvited, 1)

	// The visitor answers: the conversation is the agent's, and opens with
	// the invitation. The same invitation answers nothing twice.
	v := ts.newVisitor(t, a.account.ID)
	var conv parley.Conversation
	if st := v.do("POST", "/api/v1/conversations", map[string]any{"invitation": inv.ID}, &conv); st != 201 ||
		conv.State != parley.StateAssigned || conv.AssigneeID != a.agent.ID || conv.LastSeq != 1 {
		t.Fatalf("answered: %d %+v", st, conv)
	}
	msgs, _ := ts.Store.ListMessages(t.Context(), a.account.ID, conv.ID, 0, 10)
	if len(msgs) < 1 || msgs[0].Notice == nil || msgs[0].Notice.Code != parley.NoticeInvitation || msgs[0].Text != inv.Text || msgs[0].Notice.Args["name"] != a.agent.Name {
		t.Fatalf("first message: %+v", msgs)
	}
	var again parley.Conversation
	if st := ts.newVisitor(t, a.account.ID).do("POST", "/api/v1/conversations", map[string]any{"invitation": inv.ID}, &again); st != 201 || again.AssigneeID != "" || again.LastSeq != 0 {
		t.Fatalf("the invitation answered twice: %d %+v", st, again)
	}
	if st, _ := pageBeacon(t, ts, a.account.ID, "pvalpha001", "heartbeat", "https://alpha.example", "chat"); st != 204 {
		t.Fatalf("the answered invitation came back: %d", st)
	}
	if st, raw := v.raw("POST", "/api/v1/conversations", map[string]any{"invitation": "nonsense"}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("a malformed invitation: %d %s", st, raw)
	}

	// Declined: the list says so, and the event is written.
	pageBeacon(t, ts, a.account.ID, "pvalpha003", "load", "https://alpha.example/packs", "Packs")
	var inv2 parley.Invitation
	agent.do("POST", "/api/v1/visitors/pvalpha003/invite", map[string]any{"text": "Hi!"}, &inv2)
	if st, _ := pageBeacon(t, ts, a.account.ID, "pvalpha003", "invitation_dismissed", "https://alpha.example/packs", inv2.ID); st != 204 {
		t.Fatalf("dismiss: %d", st)
	}
	waitEvents(t, ts, a.account.ID, parley.EventInvitationDeclined, 1)
	agent.do("GET", "/api/v1/visitors", nil, &list)
	for _, lv := range list.Visitors {
		if lv.PV == "pvalpha003" && (!lv.Declined || lv.Invitation != nil) {
			t.Fatalf("declined: %+v", lv)
		}
	}
	// A page cannot slip an invitation in through its beacons.
	pageBeacon(t, ts, a.account.ID, "pvalpha003", "heartbeat", "https://alpha.example", "")
	body := `{"account":"` + a.account.ID + `","pv":"pvalpha003","kind":"alive","url":"https://alpha.example","invitation":{"id":"inv_forged","text":"Send us your password","agent_id":"x","agent_name":"Support"}}`
	resp, _ := http.Post(ts.url+"/widget/beacon", "text/plain", strings.NewReader(body))
	resp.Body.Close()
	if st, raw := pageBeacon(t, ts, a.account.ID, "pvalpha003", "heartbeat", "https://alpha.example", ""); st != 204 {
		t.Fatalf("a forged invitation reached the page: %d %s", st, raw)
	}

	// The metrics count the agent's invitations and what became of them.
	type invitations struct {
		Invitations []struct {
			Agent, Name                         string
			Sent, Answered, Declined, Withdrawn int
			AnswerRate                          float64 `json:"answer_rate"`
		}
	}
	var report invitations
	waitFor(t, func() bool {
		report = invitations{}
		ts.login(t, a.supervisor).do("GET", "/api/v1/metrics", nil, &report)
		return len(report.Invitations) == 1 && report.Invitations[0].Declined == 1
	}, func() string { return fmt.Sprintf("%+v", report) })
	if got := report.Invitations[0]; got.Agent != a.agent.ID || got.Name != a.agent.Name || got.Sent != 2 || got.Answered != 1 || got.Withdrawn != 0 || got.AnswerRate != 0.5 {
		t.Fatalf("the invitations in the metrics: %+v", got)
	}
}

// An invitation is taken back by the agent who sent it, or by a
// supervisor, never by another agent; and one nobody answers lapses. Either
// way the page stops showing it, and a late answer opens a conversation
// the usual way.
func TestAnInvitationIsWithdrawnOrLapses(t *testing.T) {
	const lapse = 2 * time.Second
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.Widget.InvitationFor = lapse })
	a := seedBrand(t, ts, "Alpha")
	hash, _ := auth.HashPassword(password, fastPasswords)
	colleague := &parley.User{AccountID: a.account.ID, Email: "colleague@alpha.test", Name: "Colleague", Role: parley.RoleAgent, MaxConcurrent: 5, Active: true, PasswordHash: hash}
	if err := ts.Store.CreateUser(t.Context(), colleague); err != nil {
		t.Fatal(err)
	}
	agent := ts.login(t, a.agent)
	online(t, ts, a.agent)
	heartbeat := func(pv string) string { return invitationAtHeartbeat(t, ts, a.account.ID, pv) }
	invite := func(pv string) parley.Invitation {
		t.Helper()
		inv := inviteToChat(t, ts, agent, a.account.ID, pv)
		if got := inv.Until.Sub(inv.At); got != lapse {
			t.Fatalf("it lapses %v after it was sent, want %v", got, lapse)
		}
		return inv
	}
	path := func(pv string) string { return "/api/v1/visitors/" + pv + "/invite" }

	// Withdrawn: not by a colleague, by the agent who sent it.
	inv := invite("pvalpha101")
	if st, raw := ts.login(t, colleague).raw("DELETE", path("pvalpha101"), nil); st != 403 || errorCode(raw) != parley.EFORBIDDEN {
		t.Fatalf("a colleague withdrew it: %d %s", st, raw)
	}
	if st, raw := agent.raw("DELETE", path("pvalpha101"), nil); st != 204 {
		t.Fatalf("withdraw: %d %s", st, raw)
	}
	if id := heartbeat("pvalpha101"); id != "" {
		t.Fatalf("the page still gets %s", id)
	}
	if st, raw := agent.raw("DELETE", path("pvalpha101"), nil); st != 404 || errorCode(raw) != parley.ENOTFOUND {
		t.Fatalf("withdrawn twice: %d %s", st, raw)
	}
	ev := waitEvents(t, ts, a.account.ID, parley.EventInvitationWithdrawn, 1)
	if !strings.Contains(string(ev[0].Data), inv.ID) || !strings.Contains(string(ev[0].Data), `"by":"`+a.agent.ID+`"`) {
		t.Fatalf("the event: %s", ev[0].Data)
	}
	// An answer on its way opens the usual way: queued, not the agent's.
	var conv parley.Conversation
	if st := ts.newVisitor(t, a.account.ID).do("POST", "/api/v1/conversations", map[string]any{"invitation": inv.ID}, &conv); st != 201 || conv.AssigneeID != "" || conv.LastSeq != 0 {
		t.Fatalf("answered after the withdrawal: %d %+v", st, conv)
	}
	// A supervisor may take back an agent's.
	invite("pvalpha102")
	if st, raw := ts.login(t, a.supervisor).raw("DELETE", path("pvalpha102"), nil); st != 204 {
		t.Fatalf("the supervisor withdraws: %d %s", st, raw)
	}

	// Lapsed: off the page and the list, and the visitor may be invited
	// again.
	inv = invite("pvalpha103")
	waitFor(t, func() bool {
		pageBeacon(t, ts, a.account.ID, "pvalpha103", "alive", "https://alpha.example/boots", "")
		return heartbeat("pvalpha103") == ""
	})
	var list struct{ Visitors []parley.LiveVisitor }
	agent.do("GET", "/api/v1/visitors", nil, &list)
	for _, v := range list.Visitors {
		if v.PV == "pvalpha103" && v.Invitation != nil {
			t.Fatalf("the list keeps the lapsed invitation: %+v", v)
		}
	}
	if st := ts.newVisitor(t, a.account.ID).do("POST", "/api/v1/conversations", map[string]any{"invitation": inv.ID}, &conv); st != 201 || conv.AssigneeID != "" {
		t.Fatalf("answered after it lapsed: %d %+v", st, conv)
	}
	if st, raw := agent.raw("DELETE", path("pvalpha103"), nil); st != 404 {
		t.Fatalf("withdrew a lapsed invitation: %d %s", st, raw)
	}
	invite("pvalpha103")
}

// An invitation promises the visitor a person: when its agent stops taking
// conversations (away, offline, signed out), the page stops showing it, and
// an answer already on its way waits in the queue rather than on them.
func TestAnInvitationEndsWhenItsAgentLeaves(t *testing.T) {
	ts := startServer(t, t.TempDir())
	a := seedBrand(t, ts, "Alpha")
	agent := ts.login(t, a.agent)
	ws := online(t, ts, a.agent)
	presence := func(state string) {
		t.Helper()
		ws.send(`{"type":"presence","id":"p-` + state + `","state":"` + state + `"}`)
		if f := ws.next(reply("p-" + state)); f.Type != "presence_set" {
			t.Fatalf("presence %s: %s", state, f.raw)
		}
	}
	heartbeat := func(pv string) string { return invitationAtHeartbeat(t, ts, a.account.ID, pv) }
	invite := func(pv string) parley.Invitation { return inviteToChat(t, ts, agent, a.account.ID, pv) }

	// Away: the next heartbeat takes it off the page, and the log says why.
	inv := invite("pvalpha201")
	presence("away")
	if id := heartbeat("pvalpha201"); id != "" {
		t.Fatalf("the page still shows %q after its agent went away", id)
	}
	ev := waitEvents(t, ts, a.account.ID, parley.EventInvitationWithdrawn, 1)
	var data map[string]string
	json.Unmarshal(ev[0].Data, &data)
	if data["invitation"] != inv.ID || data["agent_id"] != a.agent.ID || data["reason"] != "agent_unavailable" || data["by"] != "" {
		t.Fatalf("the event: %s", ev[0].Data)
	}
	var list struct{ Visitors []parley.LiveVisitor }
	agent.do("GET", "/api/v1/visitors", nil, &list)
	for _, v := range list.Visitors {
		if v.PV == "pvalpha201" && v.Invitation != nil {
			t.Fatalf("the list keeps it: %+v", v)
		}
	}

	// Offline before the page's next heartbeat: the visitor's answer opens
	// the conversation with the agent's words, in the queue.
	presence("online")
	inv = invite("pvalpha202")
	presence("offline")
	var conv parley.Conversation
	if st := ts.newVisitor(t, a.account.ID).do("POST", "/api/v1/conversations", map[string]any{"invitation": inv.ID}, &conv); st != 201 ||
		conv.State != parley.StateQueued || conv.AssigneeID != "" || conv.LastSeq != 1 {
		t.Fatalf("answered after its agent left: %d %+v", st, conv)
	}
}

// invitationAtHeartbeat is the ID of the invitation a page's heartbeat
// brings back ("" when its answer is 204, none).
func invitationAtHeartbeat(t *testing.T, ts *testServer, accountID, pv string) string {
	t.Helper()
	st, raw := pageBeacon(t, ts, accountID, pv, "heartbeat", "https://alpha.example", "")
	var hb struct{ Invitation map[string]string }
	if st == 200 {
		json.Unmarshal(raw, &hb)
	} else if st != 204 {
		t.Fatalf("heartbeat: %d %s", st, raw)
	}
	return hb.Invitation["id"]
}

// inviteToChat loads a page and has agent invite its visitor, checking the
// page's next heartbeat brings the invitation.
func inviteToChat(t *testing.T, ts *testServer, agent *client, accountID, pv string) parley.Invitation {
	t.Helper()
	pageBeacon(t, ts, accountID, pv, "load", "https://alpha.example/boots", "Boots")
	var inv parley.Invitation
	if st := agent.do("POST", "/api/v1/visitors/"+pv+"/invite", map[string]any{"text": "Need a hand?"}, &inv); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	if invitationAtHeartbeat(t, ts, accountID, pv) != inv.ID {
		t.Fatal("the page does not get the invitation")
	}
	return inv
}

// TestTheVisitorListSaysWhoIsOnThePage: a chat window's heartbeat carries
// its visitor token, and the agents' list names the contact on that page
// — by the token alone: a consumer written into the beacon's body, or
// another brand's token, names no one.
func TestTheVisitorListSaysWhoIsOnThePage(t *testing.T) {
	ts := startServer(t, t.TempDir())
	a, b := seedBrand(t, ts, "Alpha"), seedBrand(t, ts, "Beta")
	zoe := ts.newVisitor(t, a.account.ID)
	zoe.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Zoe", "email": "zoe@example.test"}, nil)
	anon := ts.newVisitor(t, a.account.ID)
	other := ts.newVisitor(t, b.account.ID)
	heartbeat := func(pv, token string, extra map[string]string) {
		t.Helper()
		body := map[string]string{"account": a.account.ID, "pv": pv, "kind": "heartbeat", "url": "", "detail": ""}
		for k, v := range extra {
			body[k] = v
		}
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", ts.url+"/widget/beacon", strings.NewReader(string(raw)))
		req.Header.Set("Content-Type", "text/plain")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("heartbeat of %s: %d", pv, resp.StatusCode)
		}
	}
	for _, pv := range []string{"pvzoe00001", "pvanon0001", "pvforged01", "pvbeta0001", "pvbadtoken"} {
		pageBeacon(t, ts, a.account.ID, pv, "load", "https://alpha.example/"+pv, "Alpha")
	}
	heartbeat("pvzoe00001", zoe.token, nil)
	heartbeat("pvanon0001", anon.token, nil)
	heartbeat("pvforged01", "", map[string]string{"consumer": zoe.consumer.ID})
	heartbeat("pvbeta0001", other.token, nil)
	heartbeat("pvbadtoken", zoe.token+"x", nil)

	var list struct{ Visitors []parley.LiveVisitor }
	if st := ts.login(t, a.agent).do("GET", "/api/v1/visitors", nil, &list); st != 200 || len(list.Visitors) != 5 {
		t.Fatalf("visitors: %d %+v", st, list.Visitors)
	}
	got := map[string]string{}
	for _, v := range list.Visitors {
		if v.Visitor != nil {
			got[v.PV] = v.Visitor.ID + " " + v.Visitor.Name + " " + v.Visitor.Email
		}
	}
	want := map[string]string{"pvzoe00001": zoe.consumer.ID + " Zoe zoe@example.test", "pvanon0001": anon.consumer.ID + "  "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("who is on which page: %v, want %v", got, want)
	}
}
