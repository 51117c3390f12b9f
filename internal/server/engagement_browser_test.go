package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// An admin sets up an invitation in the console; a visitor two pages into
// their visit sees it, answers it, and starts its conversation, which
// opens with the invitation in the widget and in the agent's console; the
// dashboard counts it.
func TestAVisitorAnswersAnInvitationTheAdminSetUp(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	api := ts.withKey(t, brand.apiKey)
	var fit parley.Skill
	if st := api.do("POST", "/api/v1/skills", map[string]any{"name": "Fit"}, &fit); st != 201 {
		t.Fatalf("skill: %d", st)
	}
	// A probe on every page, a second after load: where it shows, the
	// boots invitation (no delay) was not due.
	if st, raw := api.raw("PUT", "/api/v1/widget-settings", map[string]any{"engagements": []map[string]any{
		{"id": "probe", "url_pattern": "*", "delay_seconds": 1, "text": "Need a hand?"}}}); st != 200 {
		t.Fatalf("probe: %d %s", st, raw)
	}
	if st := api.do("PATCH", "/api/v1/users/"+brand.agent.ID, map[string]any{"skills": []string{fit.ID}}, nil); st != 200 {
		t.Fatalf("the agent's skill: %d", st)
	}

	// The admin adds the invitation in Admin → Engagements.
	admin := adminTab(t, ts, brand)
	admin.do(chromedp.WaitVisible(chromedp.CSS(".engagement-list li"))) // the probe
	admin.do(
		chromedp.SetValue(chromedp.CSS(".engagement-form [name=ename]"), "Boots sizing"),
		chromedp.SetValue(chromedp.CSS(".engagement-form [name=text]"), "Not sure of your size? Ask us."),
		chromedp.SetValue(chromedp.CSS(".engagement-form [name=pattern]"), "/boots*"),
		chromedp.SetValue(chromedp.CSS(".engagement-form [name=delay]"), "0"),
		chromedp.SetValue(chromedp.CSS(".engagement-form [name=minPages]"), "2"),
		chromedp.SetValue(chromedp.CSS(".engagement-form [name=repeat]"), "visit"),
		chromedp.SetValue(chromedp.CSS(".engagement-form [name=skill]"), fit.ID),
	)
	admin.press(".engagement-form [name=available]")
	admin.press(".engagement-form [type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".engagement-list").textContent`), "Boots sizing")
	})
	if got := evalIn[string](t, admin.ctx, `document.querySelector(".engagement-list li:last-child").textContent`); !strings.Contains(got,
		"on /boots* after 0 s, from page 2 of the visit, to every visitor, once a visit, only while someone can answer, conversations to Fit: “Not sure of your size? Ask us.”") {
		t.Fatalf("the list says %q", got)
	}
	admin.shot("engagement-added")
	acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
	boots := acc.Settings.Widget.EngagementByID("boots-sizing")
	if boots == nil || boots.MinPages != 2 || boots.Repeat != "visit" || !boots.WhenAvailable || boots.Skill != fit.ID || boots.DelaySeconds != 0 {
		t.Fatalf("saved: %+v", acc.Settings.Widget.Engagements)
	}
	if problems := accessibilityProblems(t, admin.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the admin page with engagements: %s", strings.Join(problems, "\n"))
	}

	// Someone with Fit is online: the invitation may show.
	agent := agentWS(t, ts, brand.agent)
	agent.send(map[string]any{"type": "presence", "id": "p", "state": "online"})
	agent.next(reply("p"))

	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/boots/ridge": ""})
	teaser := chromedp.Search("div.t.o span")
	teaserText := func(b *browser) string {
		s, _ := chromedp.Run(b.ctx, chromedp.Text(teaser))
		return s
	}
	v := newBrowser(t)
	// The visit's first page: not yet (the probe shows instead).
	v.do(chromedp.Navigate(page+"/boots/ridge"), chromedp.WaitVisible(teaser))
	if got := teaserText(v); got != "Need a hand?" {
		t.Fatalf("on the first page: %q", got)
	}
	// The second: the invitation.
	v.do(chromedp.Navigate(page+"/boots/ridge"), chromedp.WaitVisible(teaser))
	if got := teaserText(v); got != "Not sure of your size? Ask us." {
		t.Fatalf("on the second page: %q", got)
	}
	v.shot("invitation")
	v.do(chromedp.Click(teaser))
	frame := v.frame()
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".msg.answering")?.textContent || ""`) != ""
	})
	if got := evalIn[string](t, frame, `document.querySelector(".msg.answering .who").textContent`); got != "Acme" {
		t.Fatalf("the invitation is said by %q", got)
	}
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Do the Ridge boots run small?\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine[data-seq='2']"))); err != nil {
		t.Fatal(err)
	}
	// The stored copy takes the place of the one shown: said once, first.
	order := `[...document.querySelectorAll(".log .msg")].filter(m => !m.classList.contains("system")).map(m => (m.dataset.seq || "-") + ":" + m.querySelector(".text").textContent).join("|")`
	want := "1:Not sure of your size? Ask us.|2:Do the Ridge boots run small?"
	waitFor(t, func() bool { return evalIn[string](t, frame, order) == want }, func() string { return evalIn[string](t, frame, order) })
	convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 10})
	if len(convs) != 1 || convs[0].Engagement != "boots-sizing" || convs[0].Skill != fit.ID {
		t.Fatalf("conversations: %+v", convs)
	}
	v.shot("answered")
	// After a reload, from history, in the same order.
	v.leaveFrames()
	v.do(chromedp.Navigate(page+"/boots/ridge"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame = v.frame()
	waitFor(t, func() bool { return evalIn[string](t, frame, order) == want }, func() string { return evalIn[string](t, frame, order) })

	// The agent reads what the visitor answered.
	agentUI := consoleLogin(t, ts, brand.agent, ".items")
	agentUI.openFirst("queued")
	agentUI.do(chromedp.WaitVisible(chromedp.CSS(".messages li.engagement")))
	if got := evalIn[string](t, agentUI.ctx, `document.querySelector(".messages li.engagement").textContent`); !strings.Contains(got, "Invitation the visitor answered · Boots sizing") ||
		!strings.Contains(got, "Not sure of your size? Ask us.") {
		t.Fatalf("the console shows %q", got)
	}
	agentUI.shot("console")

	// The dashboard counts it.
	waitEvents(t, ts, brand.account.ID, parley.EventEngagementClicked, 1)
	admin.press("[data-tab=dash]")
	row := `[...document.querySelectorAll(".dash-engagements tbody tr")].map(r => [...r.children].map(c => c.textContent).join(",")).join("|")`
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, row), "Boots sizing,1,1,0,1,100%,100%,—")
	}, func() string { return evalIn[string](t, admin.ctx, row) })
	admin.shot("dashboard")
}

// An agent sees a visitor browsing, invites them from the console's
// Visitors tab, and the visitor's answer is the agent's conversation.
func TestAnAgentInvitesABrowsingVisitorFromTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/tents/alpine": ""})
	v := newBrowser(t)
	v.do(chromedp.Navigate(page+"/tents/alpine"), chromedp.WaitVisible(launcher))

	agent := consoleLogin(t, ts, brand.agent, "[data-tab=visitors]")
	agent.press("[data-tab=visitors]")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".visitor-list tbody tr button")))
	// The chat window has its visitor token from the start, and its
	// heartbeat says whose page it is: anonymous until they say.
	rowText := `document.querySelector(".visitor-list tbody tr").textContent`
	waitFor(t, func() bool { return strings.HasPrefix(evalIn[string](t, agent.ctx, rowText), "Anonymous visitor") },
		func() string { return evalIn[string](t, agent.ctx, rowText) })
	if got := evalIn[string](t, agent.ctx, rowText); !strings.Contains(got, "Brand page") ||
		!strings.Contains(got, "/tents/alpine") || !strings.Contains(got, "Browsing") {
		t.Fatalf("the visitor list shows %q", got)
	}
	if problems := accessibilityProblems(t, agent.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the visitor list: %s", strings.Join(problems, "\n"))
	}
	agent.press(".visitor-list tbody tr button")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".invite-form")),
		chromedp.SetValue(chromedp.CSS(".invite-form [name=text]"), "Planning a trip? I can help you pick a tent."))
	agent.press(".invite-form [type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".visitor-list").textContent`), "Invited by agent of Acme")
	})
	agent.shot("invited")

	// Within a heartbeat, the page shows it; the visitor answers.
	teaser := chromedp.Search("div.t.o span")
	v.do(chromedp.WaitVisible(teaser))
	if got, _ := chromedp.Run(v.ctx, chromedp.Text(teaser)); got != "agent of Acme: Planning a trip? I can help you pick a tent." {
		t.Fatalf("the teaser says %q", got)
	}
	v.shot("invitation")
	v.do(chromedp.Click(teaser))
	frame := v.frame()
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".msg.answering .who")?.textContent || ""`) == "agent of Acme"
	})
	// Sent once stored (the agent's "joined" notice may come before it).
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Yes, a two-person tent for the Alps\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine[data-seq]"))); err != nil {
		t.Fatal(err)
	}
	convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 10})
	if len(convs) != 1 || convs[0].AssigneeID != brand.agent.ID || convs[0].State != parley.StateAssigned {
		t.Fatalf("conversations: %+v", convs)
	}
	v.shot("answered")

	// The agent has it in Mine, opening with their invitation.
	agent.openFirst("mine")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".messages li.engagement")))
	if got := evalIn[string](t, agent.ctx, `document.querySelector(".messages li.engagement").textContent`); !strings.Contains(got, "Invitation from agent of Acme, answered") {
		t.Fatalf("the console shows %q", got)
	}
	// The list says the visitor is in a conversation.
	agent.press("[data-tab=visitors]")
	firstRow := `[...document.querySelectorAll(".visitor-list tbody tr:first-child td")].map((td) => td.textContent).join("|")`
	waitFor(t, func() bool {
		row := evalIn[string](t, agent.ctx, firstRow)
		return strings.HasPrefix(row, "Anonymous visitor|") && strings.Contains(row, "In a conversation")
	}, func() string { return evalIn[string](t, agent.ctx, firstRow) })

	// The supervisor's dashboard counts the agent's invitation, answered.
	sup := consoleLogin(t, ts, brand.supervisor, "[data-tab=dash]")
	sup.press("[data-tab=dash]")
	row := `[...document.querySelectorAll(".dash-invitations tbody tr")].map(r => [...r.children].map(c => c.textContent).join(",")).join("|")`
	waitFor(t, func() bool { return evalIn[string](t, sup.ctx, row) == "agent of Acme,1,1,0,0,100%" },
		func() string { return evalIn[string](t, sup.ctx, row) })
}

// The agent thinks better of an invitation and withdraws it from the
// Visitors tab: the page takes it away at the frame's next heartbeat.
func TestAWithdrawnInvitationLeavesThePage(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/tents/alpine": ""})
	v := newBrowser(t)
	v.do(chromedp.Navigate(page+"/tents/alpine"), chromedp.WaitVisible(launcher))
	// The agent is at the console, online, as one who invites is.
	agent := consoleLogin(t, ts, brand.agent, "[data-tab=visitors]")
	waitFor(t, func() bool { return ts.Routing.Presence(brand.account.ID, brand.agent.ID) == "online" })
	api := ts.login(t, brand.agent)
	var list struct{ Visitors []parley.LiveVisitor }
	waitFor(t, func() bool {
		api.do("GET", "/api/v1/visitors", nil, &list)
		return len(list.Visitors) == 1
	})
	if st := api.do("POST", "/api/v1/visitors/"+list.Visitors[0].PV+"/invite", map[string]any{"text": "Need a tent?"}, nil); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	teaser := chromedp.Search("div.t.o span")
	v.do(chromedp.WaitVisible(teaser))

	agent.press("[data-tab=visitors]")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".visitor-list button.withdraw")))
	agent.press(".visitor-list button.withdraw")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".visitors-status").textContent`), "Invitation withdrawn.") &&
			strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".visitor-list").textContent`), "Browsing")
	})
	// The teaser lives in the widget's closed shadow root: DevTools
	// pierces it. It goes at the frame's next heartbeat (10 s at most).
	v.do(chromedp.WaitNotPresent(chromedp.Search("div.t.o")))
	v.shot("withdrawn")
}

// Engagements for a browser's first visit, for its later ones, and once
// per visitor: a second tab of the same browser is a second visit.
func TestEngagementsTellNewVisitorsFromReturningOnes(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	if st, raw := ts.withKey(t, brand.apiKey).raw("PUT", "/api/v1/widget-settings", map[string]any{"engagements": []map[string]any{
		{"id": "tip", "url_pattern": "/tips", "text": "A tip, once per visitor", "repeat": "visitor"},
		{"id": "hello", "url_pattern": "*", "text": "Welcome!", "audience": "new"},
		{"id": "back", "url_pattern": "*", "text": "Welcome back!", "audience": "returning"},
	}}); st != 200 {
		t.Fatalf("engagements: %d %s", st, raw)
	}
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/tips": ""})
	teaser := chromedp.Search("div.t.o span")
	says := func(ctx context.Context) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(page+"/tips"), chromedp.WaitVisible(teaser)); err != nil {
			t.Fatal(err)
		}
		s, _ := chromedp.Run(ctx, chromedp.Text(teaser))
		return s
	}
	b := newBrowser(t)
	if got := says(b.ctx); got != "A tip, once per visitor" {
		t.Fatalf("first page of the first visit: %q", got)
	}
	if got := says(b.ctx); got != "Welcome!" {
		t.Fatalf("second page of the first visit: %q", got)
	}
	tab, cancel := chromedp.NewContext(b.ctx) // the same browser: a new visit
	defer cancel()
	if got := says(tab); got != "Welcome back!" {
		t.Fatalf("the second visit: %q", got)
	}
}
