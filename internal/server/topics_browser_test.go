package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestAVisitorChoosesATopicAndMeetsItsPeople: in Chromium, the admin
// gives the Spanish team its own hours (closed today) and the chat three
// topics, in the console. A visitor who picks "Returns and refunds" chats
// at once with the returns people (past the bot); one who picks "En
// español" is told they are away and asked for an email, and their
// message waits in Spanish's queue with it. Neither can start without a
// topic.
func TestAVisitorChoosesATopicAndMeetsItsPeople(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	api := ts.withKey(t, brand.apiKey)
	var returns, spanish parley.Skill
	api.do("POST", "/api/v1/skills", map[string]any{"name": "returns"}, &returns)
	api.do("POST", "/api/v1/skills", map[string]any{"name": "spanish"}, &spanish)
	api.do("PATCH", "/api/v1/users/"+brand.agent.ID, map[string]any{"skills": []string{returns.ID, spanish.ID}}, nil)
	agent := online(t, ts, brand.agent)
	defer agent.ws.CloseNow()

	admin := adminTab(t, ts, brand)
	// Spanish's own hours: Madrid's, with no window (closed).
	line := `.skills-list li[data-id="` + spanish.ID + `"]`
	admin.press(line + ` button[aria-label="Hours of spanish"]`)
	admin.do(chromedp.WaitVisible(chromedp.CSS(".edit-hours select")))
	evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".edit-hours");
		f.own.value = "own"; f.own.dispatchEvent(new Event("change"));
		f.tz.value = "Europe/Madrid"; f.wdFrom.value = ""; f.wdTo.value = ""; return true })()`)
	admin.press(".edit-hours button[type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(`+strconv.Quote(line)+`)?.textContent || ""`), "its own hours: Monday to Sunday closed (Europe/Madrid)")
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".skills-list").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})
	if skills, _ := ts.Store.ListSkills(t.Context(), brand.account.ID); !hasOwnHours(skills, spanish.ID, "Europe/Madrid") {
		t.Fatalf("spanish's hours were not saved: %+v", skills)
	}

	// The topics, and the offline form.
	for i, topic := range [][2]string{{"Returns and refunds", returns.ID}, {"En español", spanish.ID}, {"Something else", ""}} {
		admin.press(".prechat-settings .add-topic")
		li := `.prechat-settings .topic-list li:nth-child(` + strconv.Itoa(i+1) + `)`
		admin.do(chromedp.SendKeys(chromedp.CSS(li+" [name=topicLabel]"), topic[0]))
		evalIn[bool](t, admin.ctx, `(() => { document.querySelector(`+strconv.Quote(li+" [name=topicSkill]")+`).value = `+strconv.Quote(topic[1])+`; return true })()`)
	}
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector(".prechat-settings [name=offline]").checked = true; return true })()`)
	admin.press(".prechat-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		w := acc.Settings.Widget
		return len(w.PreChat.Topics) == 3 && w.OfflineForm != nil && *w.OfflineForm
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`)
	})
	acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
	if got := acc.Settings.Widget.PreChat.Topics; got[0] != (parley.PreChatTopic{Label: "Returns and refunds", Skill: returns.ID}) ||
		got[1] != (parley.PreChatTopic{Label: "En español", Skill: spanish.ID}) || got[2] != (parley.PreChatTopic{Label: "Something else"}) {
		t.Fatalf("topics saved: %+v", got)
	}
	if acc.Settings.Widget.PreChat.Enabled {
		t.Fatal("the name and email are asked though the admin did not tick it")
	}
	admin.shot("topics")

	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	choose := func(label string) (*browser, context.Context) {
		v := newBrowser(t)
		v.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
		frame := v.frame()
		if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".prechat select[name=topic]"))); err != nil {
			v.shot("failure")
			t.Fatal(err)
		}
		if evalIn[bool](t, frame, `!document.querySelector(".composer").hidden || !document.querySelector(".prechat .f-name").hidden`) {
			t.Fatal("the composer, or the name, shows beside the topics")
		}
		// No topic: refused, said why.
		if err := chromedp.Do(frame, chromedp.Click(chromedp.CSS(".prechat .start"))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			return evalIn[string](t, frame, `document.querySelector(".prechat .form-error").textContent`) == "Please choose a topic."
		})
		v.shot("topic")
		if problems := accessibilityProblems(t, frame, axeSource(t)); len(problems) > 0 {
			t.Fatalf("the topics: %s", strings.Join(problems, "\n"))
		}
		evalIn[bool](t, frame, `(() => { const s = document.querySelector("select[name=topic]");
			s.value = [...s.options].find(o => o.text === `+strconv.Quote(label)+`).value; return true })()`)
		if err := chromedp.Do(frame, chromedp.Click(chromedp.CSS(".prechat .start"))); err != nil {
			t.Fatal(err)
		}
		return v, frame
	}
	conversationOf := func(skill string) *parley.Conversation {
		var found *parley.Conversation
		waitFor(t, func() bool {
			list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Skill: skill, Limit: 5})
			if len(list) == 1 {
				found = list[0]
			}
			return found != nil
		})
		return found
	}

	// Returns: its people are in, so the chat starts.
	v, frame := choose("Returns and refunds")
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS("#text")),
		chromedp.SendKeys(chromedp.CSS("#text"), "My parcel came back damaged\r"), chromedp.WaitVisible(chromedp.CSS(".msg.mine[data-seq]"))); err != nil {
		v.shot("failure")
		t.Fatal(err)
	}
	if c := conversationOf(returns.ID); c.State == parley.StateBot {
		t.Fatalf("the returns conversation went to the bot: %+v", c)
	}
	if problems := accessibilityProblems(t, frame, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the chat: %s", strings.Join(problems, "\n"))
	}

	// Spanish: away, so the offline form asks for an email first.
	v2, frame2 := choose("En español")
	waitFor(t, func() bool {
		return evalIn[bool](t, frame2, `!document.querySelector(".prechat .f-email").hidden && document.querySelector(".prechat").classList.length > 0 &&
			document.querySelector(".prechat .intro").textContent.startsWith("We're away")`)
	}, func() string { return evalIn[string](t, frame2, `document.querySelector(".prechat").innerText`) })
	if evalIn[bool](t, frame2, `!document.querySelector(".prechat .f-topic").hidden`) {
		t.Fatal("the topic is asked again on the offline form")
	}
	v2.shot("away")
	if problems := accessibilityProblems(t, frame2, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the offline form: %s", strings.Join(problems, "\n"))
	}
	if err := chromedp.Do(frame2, chromedp.SendKeys(chromedp.CSS(".prechat [name=email]"), "lucia@example.com"), chromedp.Click(chromedp.CSS(".prechat .start")),
		chromedp.WaitVisible(chromedp.CSS("#text")), chromedp.SendKeys(chromedp.CSS("#text"), "Hola, ¿tenéis la talla 38?\r"),
		chromedp.WaitVisible(chromedp.CSS(".msg.mine[data-seq]"))); err != nil {
		v2.shot("failure")
		t.Fatal(err)
	}
	c := conversationOf(spanish.ID)
	if consumer, _ := ts.Store.FindConsumer(t.Context(), brand.account.ID, c.ConsumerID); consumer.Email != "lucia@example.com" {
		t.Fatalf("the Spanish visitor's email: %q", consumer.Email)
	}
}

func hasOwnHours(skills []*parley.Skill, id, zone string) bool {
	for _, s := range skills {
		if s.ID == id {
			return s.Hours != nil && s.Hours.TimeZone == zone && len(s.Hours.Days) == 0
		}
	}
	return false
}
