package server_test

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/server"
)

// consoleLogin opens the console in a new browser and logs u in.
func consoleLogin(t *testing.T, ts *testServer, u *parley.User, ready string) *browser {
	t.Helper()
	b := newBrowser(t)
	b.do(chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), u.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(ready)))
	return b
}

// adminTab logs the brand's admin into the console and opens the Admin
// tab, once it is drawn: the card box ticked (it is unticked until the
// settings are loaded) and the widget form, drawn last, holding the saved
// settings. By script: the tabs row still moves as the admin-only tabs
// appear, and a click by coordinates can land on a neighbour.
func adminTab(t *testing.T, ts *testServer, b brand) *browser {
	t.Helper()
	admin := consoleLogin(t, ts, b.admin, "[data-tab=admin]")
	admin.press("[data-tab=admin]")
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `!document.querySelector(".admin").hidden && document.querySelector(".masking [name=cards]").checked &&
			!!document.querySelector(".widget-settings").dataset.current`)
	})
	return admin
}

func TestVisitorGetsAKnowledgeBaseAnswerThenReachesAnAgentInChromium(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	general := withDemoBot(t, ts, brand)
	setAutoAssign(t, ts, brand, true)
	ts.withKey(t, brand.apiKey).do("PATCH", "/api/v1/users/"+brand.agent.ID, map[string]any{"skills": []string{general.ID}}, nil)
	ts.Server.SetDemoAccount(brand.account.ID)

	console := consoleLogin(t, ts, brand.agent, ".app")
	waitFor(t, func() bool { return ts.Server.Routing.Presence(brand.account.ID, brand.agent.ID) == "online" })

	visitor := newBrowser(t)
	visitor.do(chromedp.Navigate(ts.url+"/demo/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := visitor.frame()
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "How long does delivery take?\r")); err != nil {
		t.Fatal(err)
	}
	// The knowledge-base answer, rendered from Markdown, then "Did this help?".
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".msg.theirs .rich strong"))); err != nil {
		t.Fatal(err)
	}
	if got, _ := chromedp.Run(frame, chromedp.Text(chromedp.CSS(".msg.theirs .rich strong"))); got != "Standard delivery" {
		t.Fatalf("answer shows %q in bold", got)
	}
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".choices button"))); err != nil {
		t.Fatal(err)
	}
	choices := evalIn[string](t, frame, `[...document.querySelectorAll(".msg.theirs .choices button")].map(b => b.textContent).join("|")`)
	if choices != "Yes|No|Talk to a person" {
		t.Fatalf("choices %q", choices)
	}
	// The log follows the answer to its end: the quick replies are in view, not below it.
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `(() => { const log = document.querySelector(".log").getBoundingClientRect();
			const last = [...document.querySelectorAll(".msg.theirs .choices button")].pop().getBoundingClientRect();
			return last.bottom <= log.bottom + 1 && last.top >= log.top })()`)
	}, func() string {
		visitor.shot("failure")
		return "the quick replies are out of the log's view: " + evalIn[string](t, frame, `(() => { const l = document.querySelector(".log"); return l.scrollTop + " + " + l.clientHeight + " of " + l.scrollHeight })()`)
	})
	// The bot is named, and marked as a bot: visitors know no person wrote it.
	who := evalIn[string](t, frame, `document.querySelector(".msg.theirs .who").firstChild.textContent + "|" + document.querySelector(".msg.theirs .who .badge").textContent`)
	if who != "Northwind Assistant|Bot" {
		t.Fatalf("the bot is shown as %q", who)
	}
	visitor.shot("bot-answer")
	evalIn[string](t, frame, `document.querySelector("#text").value = ""`)
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "talk to a human\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "connecting you with a member of our team")
	})
	// The visitor answered: the earlier quick replies are spent.
	if n := evalIn[int](t, frame, `document.querySelectorAll(".msg.theirs .choices button:not(:disabled)").length`); n != 0 {
		t.Fatalf("%d quick replies still active after the visitor answered", n)
	}
	// Routed to the agent with the bot's skill; the console shows the transcript and why.
	var conv *parley.Conversation
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{State: parley.StateAssigned})
		if len(convs) == 1 {
			conv = convs[0]
		}
		return conv != nil
	})
	if conv.AssigneeID != brand.agent.ID || conv.Skill != general.ID {
		t.Fatalf("handed off: %+v", conv)
	}
	console.openFirst("mine")
	console.do(chromedp.WaitVisible(chromedp.CSS(".messages li.bot .rich")), chromedp.WaitVisible(chromedp.CSS(".messages li.note")))
	transcript := evalIn[string](t, console.ctx, `document.querySelector(".messages").textContent`)
	for _, want := range []string{"How long does delivery take?", "Standard delivery", "talk to a human", "Handed over by the bot: the visitor asked for a person. Detected: Delivery times and costs"} {
		if !strings.Contains(transcript, want) {
			t.Fatalf("the agent's transcript lacks %q:\n%s", want, transcript)
		}
	}
	console.shot("agent-sees-transcript")
	// Clicked again and again while it loads (40 clicks, 3 ms apart), the
	// conversation is drawn once, whole: no replay overlaps another into a
	// gap or a duplicate.
	shown := evalIn[int](t, console.ctx, `document.querySelectorAll(".messages li[data-seq]").length`)
	evalIn[bool](t, console.ctx, `(() => { const li = document.querySelector(".items li[aria-current=true]");
		for (let i = 0; i < 39; i++) setTimeout(() => li.click(), i * 3);
		// The last click draws last: what it replaced is marked old.
		setTimeout(() => { document.querySelectorAll(".messages li").forEach((m) => m.dataset.old = "1"); li.click() }, 39 * 3);
		return true })()`)
	waitFor(t, func() bool {
		return evalIn[bool](t, console.ctx, `(() => { const seqs = [...document.querySelectorAll(".messages li[data-seq]")].map((li) => li.dataset.seq);
			return !document.querySelector(".messages li[data-old]") && seqs.length === `+strconv.Itoa(shown)+` && new Set(seqs).size === seqs.length && seqs.every((s, i) => i === 0 || +s > +seqs[i-1]) })()`)
	}, func() string {
		return "after 40 clicks the conversation shows: " + evalIn[string](t, console.ctx, `document.querySelector(".messages").textContent`)
	})
	if transcript := evalIn[string](t, console.ctx, `document.querySelector(".messages").textContent`); !strings.Contains(transcript, "How long does delivery take?") {
		t.Fatalf("after 40 clicks the transcript lacks the first question:\n%s", transcript)
	}
	// The agent answers and the visitor, who met the bot, now talks to a person.
	console.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "Hi, I'm Alex. How can I help?\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "I'm Alex")
	})
	if n := evalIn[int](t, frame, `[...document.querySelectorAll(".msg.theirs")].pop().querySelectorAll(".badge").length`); n != 0 {
		t.Fatalf("the agent's message is marked as a bot's (%d badges)", n)
	}
	visitor.shot("agent-took-over")
	// The widget and the console send time-ordered client IDs (UUIDv7: the
	// milliseconds first), which the store's retry index takes cheaply.
	people := 0
	for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
		if m.SenderKind != parley.SenderConsumer && m.SenderKind != parley.SenderAgent {
			continue
		}
		people++
		if !uuidV7.MatchString(m.ClientID) {
			t.Fatalf("%s sent client ID %q, not a UUIDv7", m.SenderKind, m.ClientID)
		}
		ms, _ := strconv.ParseInt(strings.ReplaceAll(m.ClientID[:13], "-", ""), 16, 64)
		if d := time.Since(time.UnixMilli(ms)); d < 0 || d > time.Minute {
			t.Fatalf("client ID %q says %v ago", m.ClientID, d)
		}
	}
	if people != 3 {
		t.Fatalf("%d messages from the visitor and the agent, want 3", people)
	}
}

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAdminEditsAndTestsTheBotInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	// The widget speaks French; the demo bot names no language.
	ts.withKey(t, brand.apiKey).do("PUT", "/api/v1/widget-settings", map[string]any{"language": "fr"}, nil)
	admin := consoleLogin(t, ts, brand.admin, "[data-tab=botedit]")
	admin.do(chromedp.Click(chromedp.CSS("[data-tab=botedit]")), chromedp.WaitVisible(chromedp.CSS(".bot-article")))
	if n := evalIn[int](t, admin.ctx, `document.querySelectorAll(".bot-article").length`); n != 10 {
		t.Fatalf("%d articles shown, want the demo's 10", n)
	}
	// A bot without a language is offered the widget's.
	if lang := evalIn[string](t, admin.ctx, `document.querySelector(".bot-settings [name=language]").value`); lang != "fr" {
		t.Fatalf("the bot's language is offered as %q, want the widget's fr", lang)
	}
	// The console's CSP allows no inline styles: the narrow number fields
	// are narrow by class (5em: 70 px; a style attribute, blocked, left 88).
	if w := evalIn[float64](t, admin.ctx, `document.querySelector(".bot-settings [name=answer_at]").getBoundingClientRect().width`); w > 80 {
		t.Fatalf("the confidence field is %.0f px wide", w)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(".bot-settings [name=language]"), "en"))
	// Add an intent in the editor; the test box tries the draft before saving.
	admin.do(chromedp.Click(chromedp.CSS(".bot-add-intent")))
	evalIn[bool](t, admin.ctx, `(() => { const d = [...document.querySelectorAll(".bot-intent")].pop();
		d.querySelector("[name=name]").value = "loyalty";
		d.querySelector("[name=phrases]").value = "do you have a loyalty programme\nreward points\nhow do I collect points\nwhat do members get";
		d.querySelector("[name=answer]").value = "Members collect **1 point per euro**, worth a discount from 100 points.";
		return true })()`)
	admin.do(chromedp.SendKeys(chromedp.CSS(".bot-test-form input"), "how many points do members collect?\r"),
		chromedp.WaitVisible(chromedp.CSS(".bot-test-log .bot-verdict")))
	verdict := evalIn[string](t, admin.ctx, `document.querySelector(".bot-test-log .bot-verdict").textContent`)
	if !strings.HasPrefix(verdict, "answer · intent:loyalty · ") || !strings.Contains(verdict, " · answer check ") {
		t.Fatalf("test box verdict %q, want the intent and its answer check", verdict)
	}
	if got := evalIn[string](t, admin.ctx, `document.querySelector(".bot-test-log .rich strong").textContent`); got != "1 point per euro" {
		t.Fatalf("test box answer %q", got)
	}
	// Gibberish is not understood.
	admin.do(chromedp.SendKeys(chromedp.CSS(".bot-test-form input"), "osifhaskdnkauer\r"))
	waitFor(t, func() bool {
		return evalIn[int](t, admin.ctx, `document.querySelectorAll(".bot-test-log .bot-verdict").length`) == 2
	})
	if v := evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".bot-test-log .bot-verdict")].pop().textContent`); !strings.HasPrefix(v, "miss") {
		t.Fatalf("gibberish verdict %q", v)
	}
	// A guess the answer check holds back says why, under the verdict
	// (the demo's products article at about 80%, its check about 30%).
	admin.do(chromedp.SendKeys(chromedp.CSS(".bot-test-form input"), "do you have it in blue\r"))
	waitFor(t, func() bool {
		return evalIn[int](t, admin.ctx, `document.querySelectorAll(".bot-test-log .bot-verdict").length`) == 3
	})
	if held := evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".bot-test-log .bot-verdict")].pop().querySelector(".bot-held")?.textContent || ""`); !strings.HasPrefix(held, "Not answered outright: the answer check gives it ") ||
		!strings.Contains(held, "% needed; its nearest phrase is ") {
		t.Fatalf("the held-back guess says %q, want why the answer check held it", held)
	}
	// The box says how each text sounds, as a rule's sentiment reads it.
	if got := evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".bot-test-log .bot-sentiment")].map((s) => s.textContent).join(" | ")`); got != "neutral (0.00) | neutral (0.00) | neutral (0.00)" {
		t.Fatalf("sentiment lines %q", got)
	}
	admin.do(chromedp.SendKeys(chromedp.CSS(".bot-test-form input"), "this is ridiculous, worst shop ever\r"))
	waitFor(t, func() bool {
		return strings.HasPrefix(evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".bot-test-log .bot-sentiment")].pop()?.textContent || ""`), "negative (-0.")
	})
	admin.shot("bot-test-box")
	// A broken flow is refused with its place; nothing is saved.
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector(".bot-flow .bot-step [name=next]").value = "nowhere"; return true })()`)
	admin.press(".bot-save")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".bot-error").textContent`), `flows[0].steps[0].next: no step "nowhere"`)
	})
	admin.shot("bot-refused")
	if cfg, version, _ := bot.Load(t.Context(), ts.Store, brand.account.ID); version != 1 || len(cfg.Intents) != 3 {
		t.Fatalf("a refused save changed the bot: version %d, %d intents", version, len(cfg.Intents))
	}
	// Fixed, it saves as version 2 and the running bot answers with it.
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector(".bot-flow .bot-step [name=next]").value = "email"; return true })()`)
	admin.press(".bot-save")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".bot-version").textContent`), "version 2")
	})
	cfg, _, _ := bot.Load(t.Context(), ts.Store, brand.account.ID)
	if len(cfg.Intents) != 4 || cfg.Intents[3].Name != "loyalty" {
		t.Fatalf("saved intents: %+v", cfg.Intents)
	}
	conv, ws := chatting(t, ts, brand.account.ID)
	ws.sendText(conv.ID, "h1", "do you have a loyalty programme?")
	if m := nextBot(t, ws, conv.ID); !strings.Contains(m.HTML, "<strong>1 point per euro</strong>") {
		t.Fatalf("the live bot answered %+v", m)
	}
	if m := nextBot(t, ws, conv.ID); m.Text != "Did this help?" {
		t.Fatalf("the live bot's feedback question %+v", m)
	}
	// The bot's language is a setting: its own words follow it.
	admin.do(chromedp.SetValue(chromedp.CSS(".bot-settings [name=language]"), "fr"))
	admin.press(".bot-save")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".bot-version").textContent`), "version 3")
	}, func() string {
		admin.shot("failure")
		return "the editor says " + evalIn[string](t, admin.ctx, `document.querySelector(".bot-version").textContent + " / " + document.querySelector(".bot-error").textContent`)
	})
	if cfg, _, _ := bot.Load(t.Context(), ts.Store, brand.account.ID); cfg.Language != "fr" {
		t.Fatalf("saved language %q", cfg.Language)
	}
	ws.sendText(conv.ID, "h2", "are you open on sundays?")
	nextBot(t, ws, conv.ID)
	if m := nextBot(t, ws, conv.ID); m.Text != "Cela vous a-t-il aidé ?" {
		t.Fatalf("the French bot's feedback question %+v", m)
	}
}

func TestSupervisorSeesTheDashboard(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	// One conversation the bot contains, one it hands to the agent, who answers and closes; the visitor rates 5.
	v := ts.newVisitor(t, brand.account.ID)
	c1 := v.open(t)
	v.do("POST", "/api/v1/conversations/"+c1.ID+"/messages", map[string]any{"text": "How long does delivery take?"}, nil)
	waitFor(t, func() bool { return len(mustMessages(t, ts, brand.account.ID, c1.ID)) >= 3 })
	v.do("POST", "/api/v1/conversations/"+c1.ID+"/close", map[string]any{}, nil)
	c2 := v.open(t)
	v.do("POST", "/api/v1/conversations/"+c2.ID+"/messages", map[string]any{"text": "talk to a human"}, nil)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, c2.ID)
		return c.State == parley.StateQueued
	})
	agent := ts.login(t, brand.agent)
	agent.do("POST", "/api/v1/conversations/"+c2.ID+"/accept", nil, nil)
	agent.do("POST", "/api/v1/conversations/"+c2.ID+"/messages", map[string]any{"text": "Hello, Alex here."}, nil)
	agent.do("POST", "/api/v1/conversations/"+c2.ID+"/close", map[string]any{"reason": "resolved"}, nil)
	v.do("POST", "/api/v1/conversations/"+c2.ID+"/csat", map[string]any{"score": 5}, nil)

	sup := consoleLogin(t, ts, brand.supervisor, "[data-tab=dash]")
	sup.do(chromedp.Click(chromedp.CSS("[data-tab=dash]")), chromedp.WaitVisible(chromedp.CSS(".dash-tiles .tile")))
	tiles := evalIn[string](t, sup.ctx, `[...document.querySelectorAll(".dash-tiles .tile")].map(t => t.querySelector("span").textContent + "=" + t.querySelector("strong").textContent).join("|")`)
	for _, want := range []string{"conversations opened=2", "closed=2", "bot containment=50%", "CSAT=5.00 / 5"} {
		if !strings.Contains(tiles, want) {
			t.Fatalf("tiles %q lack %q", tiles, want)
		}
	}
	// A chart of counts has whole ticks.
	if ticks := evalIn[string](t, sup.ctx, `[...[...document.querySelectorAll(".dash-charts figure")].find((f) => f.querySelector("figcaption").textContent.startsWith("Conversations"))
		.querySelectorAll("text[text-anchor=end]")].map((t) => t.textContent).join(" ")`); ticks != "0 1 2 3 4" {
		t.Fatalf("the conversations chart's ticks: %q", ticks)
	}
	// Counts of one are singular: "1 rating", not "1 ratings".
	if text := evalIn[string](t, sup.ctx, `document.querySelector(".dash-tiles").innerText`); !strings.Contains(text, "1 rating\n") || !strings.Contains(text, "1 handoff\n") {
		t.Fatalf("the tiles' counts: %q", text)
	}
	if titles := evalIn[string](t, sup.ctx, `[...document.querySelectorAll(".dash-charts svg[role=img] > title")].map(t => t.textContent).join("|")`); !strings.Contains(titles, "Agents online (average)") {
		t.Fatalf("chart titles %q lack the staffing chart", titles)
	}
	if n := evalIn[int](t, sup.ctx, `document.querySelectorAll(".dash-charts svg[role=img] > title").length`); n != 5 {
		t.Fatalf("%d charts", n)
	}
	// The hours without a wait leave the waiting line blank, not at 0 s:
	// the line is drawn only where there is something to average.
	waits := evalIn[string](t, sup.ctx, `(() => {
		const fig = [...document.querySelectorAll(".dash-charts figure")].find((f) => f.querySelector("figcaption").textContent.startsWith("Waiting"));
		const buckets = fig.querySelectorAll("text.axis").length;
		return [...fig.querySelectorAll("polyline")].map((p) => p.getAttribute("points").split(" ").length).join(",") + "/" + fig.querySelectorAll("circle").length + "/" + buckets })()`)
	// Both conversations waited in the same hour: one dot per line, no line
	// across the empty hours.
	if parts := strings.Split(waits, "/"); parts[0] != "" || parts[1] == "0" {
		t.Fatalf("the waiting chart (points per line / dots / labels): %s", waits)
	}
	// The agent who handled a conversation; the supervisor, online in the
	// console and handling nothing, has a row too (time online).
	rows := evalIn[[]string](t, sup.ctx, `[...document.querySelectorAll(".dash-agents tbody tr")].map(tr => tr.textContent)`)
	var agentRow bool
	for _, r := range rows {
		agentRow = agentRow || strings.Contains(r, brand.agent.Name)
	}
	if !agentRow {
		t.Fatalf("agent rows %q lack %q", rows, brand.agent.Name)
	}
	// One agent's view: only the conversation they handled.
	evalIn[bool](t, sup.ctx, `(() => { const f = document.querySelector(".dash-form"); f.agent.value = "`+brand.agent.ID+`"; f.dispatchEvent(new Event("change")); return true })()`)
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, sup.ctx, `document.querySelector(".dash-tiles").textContent`), "1conversations opened")
	})
	sup.shot("dashboard")
	// Someone who handled nothing: no waits or times to show, and no bot
	// conversations to hand off — a dash, not "0 s" or "0%".
	evalIn[bool](t, sup.ctx, `(() => { const f = document.querySelector(".dash-form"); f.agent.value = "`+brand.supervisor.ID+`"; f.dispatchEvent(new Event("change")); return true })()`)
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, sup.ctx, `document.querySelector(".dash-tiles").textContent`), "0conversations opened")
	})
	tiles = evalIn[string](t, sup.ctx, `[...document.querySelectorAll(".dash-tiles .tile")].map(t => t.querySelector("span").textContent + "=" + t.querySelector("strong").textContent).join("|")`)
	for _, want := range []string{"time in queue=—", "first response=—", "handle time=—", "bot handoff rate=—"} {
		if !strings.Contains(tiles, want) {
			t.Fatalf("tiles %q lack %q", tiles, want)
		}
	}
}

func TestAdminWatchesWebhookDeliveriesAndRedelivers(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		fastWebhooks(c)
		c.Webhooks.Backoff = []time.Duration{time.Hour} // one retry, far away: the admin redelivers by hand
	})
	brand := seedBrand(t, ts, "Acme")
	rc, srv := newReceiver(t)
	rc.mode.Store("down")
	admin := consoleLogin(t, ts, brand.admin, "[data-tab=admin]")
	admin.do(chromedp.Click(chromedp.CSS("[data-tab=admin]")), chromedp.WaitVisible(chromedp.CSS(".new-webhook")),
		chromedp.SendKeys(chromedp.CSS(".new-webhook input[name=url]"), srv.URL),
		chromedp.SendKeys(chromedp.CSS(".new-webhook input[name=types]"), "conversation.opened"))
	admin.press(".new-webhook button")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".webhook-secret").textContent`), "whsec_")
	})
	hooks, _ := ts.Store.ListWebhooks(t.Context(), brand.account.ID)
	if len(hooks) != 1 || hooks[0].Types[0] != "conversation.opened" {
		t.Fatalf("webhooks %+v", hooks)
	}
	rc.secret.Store(hooks[0].Secret)
	ts.newVisitor(t, brand.account.ID).open(t)
	waitFor(t, func() bool {
		ds, _ := ts.Store.ListDeliveries(t.Context(), brand.account.ID, hooks[0].ID, 10)
		return len(ds) == 1 && ds[0].Attempts == 1
	})
	// The log shows the failure; the receiver is fixed; Redeliver. (The
	// list is drawn once the admin area has reloaded after the add.)
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `(() => { const b = document.querySelector(".webhooks tbody button"); b?.click(); return !!b })()`)
	})
	admin.do(chromedp.WaitVisible(chromedp.CSS(".deliveries tbody tr")))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".deliveries tbody").textContent`), "503")
	})
	rc.mode.Store("up")
	// (The log re-renders as the admin area refreshes: click by script, not by a node found earlier.)
	evalIn[bool](t, admin.ctx, `document.querySelector(".deliveries tbody button").click(), true`)
	waitFor(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.acked) == 1
	})
	// The console's log follows.
	waitFor(t, func() bool {
		evalIn[bool](t, admin.ctx, `document.querySelector(".webhooks tbody button")?.click(), true`)
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".deliveries tbody").textContent`), "delivered")
	})
	// Retention, and the audit log shows what the admin did.
	evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".account-settings"); f.retention.value = "90"; f.requestSubmit(); return true })()`)
	waitFor(t, func() bool {
		a, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return a.Settings.RetentionDays == 90
	})
	waitFor(t, func() bool {
		log := evalIn[string](t, admin.ctx, `document.querySelector(".audit tbody").textContent`)
		return strings.Contains(log, "POST /api/v1/webhooks") && strings.Contains(log, "POST /api/v1/webhook-deliveries/{id}/redeliver") && strings.Contains(log, "PUT /api/v1/account-settings")
	})
	admin.shot("webhooks-and-audit")
}

// An admin sees the question the bot missed in the Bot tab, teaches it to
// the article that answers it, saves, and the bot answers it from then on.
func TestAdminTeachesTheBotAQuestionItMissed(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	conv, ws := chatting(t, ts, brand.account.ID)
	ws.sendText(conv.ID, "q1", "Do you ship to\nmy office?") // on two lines, as Shift+Enter writes it
	if m := nextBot(t, ws, conv.ID); m.Text != "Did you mean one of these?" {
		t.Fatalf("the bot's reply %+v; the test needs a question it is unsure of", m)
	}
	ws.sendText(conv.ID, "q2", "Something else")
	nextBot(t, ws, conv.ID)
	otherConv, otherWS := chatting(t, ts, brand.account.ID)
	otherWS.sendText(otherConv.ID, "m1", "asdfgh jkl")
	if m := nextBot(t, otherWS, otherConv.ID); !strings.HasPrefix(m.Text, "Sorry, I didn't catch that.") {
		t.Fatalf("the keyboard mash got %+v", m)
	}

	admin := consoleLogin(t, ts, brand.admin, "[data-tab=botedit]")
	admin.do(chromedp.Click(chromedp.CSS("[data-tab=botedit]")), chromedp.WaitVisible(chromedp.CSS(".bot-missed-list li")))
	if qs := evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".bot-missed-list .bot-missed-question")].map((q) => q.textContent).join(" | ")`); qs != "asdfgh jkl | Do you ship to\nmy office?" {
		t.Fatalf("missed questions shown: %q", qs)
	}
	// The keyboard mash is ignored: off the list, and focus moves to the next question.
	admin.press(".bot-missed-list li button[aria-label^=Ignore]")
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `document.querySelectorAll(".bot-missed-list li").length === 1 &&
			document.activeElement === document.querySelector(".bot-missed-list li select")`)
	})
	if why := evalIn[string](t, admin.ctx, `document.querySelector(".bot-missed-list .bot-missed-count").textContent`); !strings.HasPrefix(why, "both guesses turned down · last ") {
		t.Fatalf("why it is listed: %q", why)
	}
	admin.shot("missed-question")
	// Teach needs a choice first.
	admin.press(".bot-missed-list li button")
	waitFor(t, func() bool {
		return strings.HasPrefix(evalIn[string](t, admin.ctx, `document.querySelector(".bot-missed-status").textContent`), "Choose the intent or article")
	})
	admin.do(chromedp.SetValue(chromedp.CSS(".bot-missed-list li select"), "article:delivery"))
	admin.press(".bot-missed-list li button")
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `document.querySelectorAll(".bot-missed-list li").length === 0 &&
			document.querySelector(".bot-missed-status").textContent.startsWith("Added “Do you ship to my office?” to Article: Delivery times and costs")`)
	})
	if focus := evalIn[string](t, admin.ctx, `document.activeElement.className`); focus != "bot-save" {
		t.Fatalf("after the last question, focus is on %q, want Save", focus)
	}
	if qs := evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".bot-article [name=questions]")].map((q) => q.value).join("|")`); !strings.Contains(qs, "\nDo you ship to my office?|") {
		t.Fatalf("the articles' questions: %q", qs)
	}
	if cfg, _, _ := bot.Load(t.Context(), ts.Store, brand.account.ID); len(cfg.IgnoredQuestions) != 0 {
		t.Fatalf("ignored before saving: %v", cfg.IgnoredQuestions)
	}
	admin.shot("taught")
	admin.press(".bot-save")
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `document.querySelector(".bot-version").textContent.includes("version 2") &&
			document.querySelector(".bot-missed-status").textContent === "Nothing missed lately."`)
	}, func() string {
		admin.shot("failure")
		return evalIn[string](t, admin.ctx, `document.querySelector(".bot-version").textContent + " / " + document.querySelector(".bot-missed-status").textContent`)
	})
	if cfg, _, _ := bot.Load(t.Context(), ts.Store, brand.account.ID); strings.Join(cfg.IgnoredQuestions, "|") != "asdfgh jkl" {
		t.Fatalf("ignored questions saved: %v", cfg.IgnoredQuestions)
	}
	ws.sendText(conv.ID, "q3", "Do you ship to my office?")
	if m := nextBot(t, ws, conv.ID); !strings.Contains(m.Text, "We deliver across the EU") {
		t.Fatalf("the taught bot answered %+v", m)
	}
}

// An admin builds a flow step by step — each step showing the fields its
// kind uses — runs it in the test box and saves it; flows saved through the
// editor come back as they were.
func TestAdminBuildsAFlowStepByStep(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	before, _, err := bot.Load(t.Context(), ts.Store, brand.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin := consoleLogin(t, ts, brand.admin, "[data-tab=botedit]")
	admin.do(chromedp.Click(chromedp.CSS("[data-tab=botedit]")), chromedp.WaitVisible(chromedp.CSS(".bot-flow")))
	admin.press(".bot-save")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".bot-version").textContent`), "version 2")
	})
	if after, _, _ := bot.Load(t.Context(), ts.Store, brand.account.ID); !reflect.DeepEqual(after.Flows, before.Flows) {
		t.Fatalf("the demo's flows changed by going through the editor:\n%+v\nwant\n%+v", after.Flows, before.Flows)
	}

	admin.press(".bot-add-flow")
	hidden := evalIn[string](t, admin.ctx, `(() => {
		const d = [...document.querySelectorAll(".bot-flow")].pop();
		d.querySelector("[name=flow_name]").value = "gift_wrap";
		const set = (li, v) => { for (const [k, x] of Object.entries(v)) {
			const el = li.querySelector("[name=" + k + "]");
			if (el.type === "checkbox") el.checked = x; else el.value = x;
			if (k === "kind") el.dispatchEvent(new Event("change"));
		} };
		const add = (v) => { d.querySelector(".bot-add-step").click(); set([...d.querySelectorAll(".bot-step")].pop(), v); };
		set(d.querySelector(".bot-step"), {id: "wrap", kind: "ask", text: "Shall we gift-wrap it?", choices: "Yes\nNo", attribute: "wrap", next: "route"});
		add({id: "route", kind: "branch", attribute: "wrap", cases: "Yes -> wrapped", next: "plain"});
		add({id: "wrapped", kind: "end", text: "We'll wrap it."});
		add({id: "plain", kind: "end", text: "No wrapping then.", close: true});
		// What a branch step shows: its attribute, cases and next, not text or choices.
		const route = d.querySelectorAll(".bot-step")[1];
		return [...route.querySelectorAll("label[data-field]")].filter((l) => l.hidden).map((l) => l.dataset.field).join(",") })()`)
	if hidden != "text,choices,buttons,validate,retry,url,on_error,skill,close" {
		t.Fatalf("a branch step hides %s", hidden)
	}
	// Steps move up and down; the keyboard stays on the button that moved one.
	order := `[...[...document.querySelectorAll(".bot-flow")].pop().querySelectorAll(".bot-step [name=id]")].map((el) => el.value).join(",")`
	admin.press(".bot-flow:last-of-type .bot-step:last-child button[aria-label='Move step up']")
	if got := evalIn[string](t, admin.ctx, order); got != "wrap,route,plain,wrapped" {
		t.Fatalf("after moving the last step up: %s", got)
	}
	admin.press(".bot-flow:last-of-type .bot-step:nth-child(3) button[aria-label='Move step down']")
	if got := evalIn[string](t, admin.ctx, order); got != "wrap,route,wrapped,plain" {
		t.Fatalf("after moving it down again: %s", got)
	}
	if focus := evalIn[string](t, admin.ctx, `document.activeElement.getAttribute("aria-label")`); focus != "Move step down" {
		t.Fatalf("focus on %q after a move", focus)
	}
	evalIn[bool](t, admin.ctx, `(() => { [...document.querySelectorAll(".bot-flow")].pop().scrollIntoView(); return true })()`)
	admin.shot("flow-steps")
	admin.press(".bot-add-intent")
	evalIn[bool](t, admin.ctx, `(() => { const d = [...document.querySelectorAll(".bot-intent")].pop();
		d.querySelector("[name=name]").value = "gift_wrap";
		d.querySelector("[name=phrases]").value = "can you gift wrap my order\ngift wrapping\nwrap it as a present";
		d.querySelector("[name=flow]").value = "gift_wrap";
		return d.querySelector("[name=flow]").value === "gift_wrap" })()`)
	admin.do(chromedp.SendKeys(chromedp.CSS(".bot-test-form input"), "could you gift wrap my order?\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".bot-test-log").textContent`), "Shall we gift-wrap it?")
	})
	admin.press(".bot-test-log li:last-child .bot-choices button")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".bot-test-log").textContent`), "We'll wrap it.")
	}, func() string {
		admin.shot("failure")
		return "test log: " + evalIn[string](t, admin.ctx, `document.querySelector(".bot-test-log").textContent`)
	})
	admin.shot("flow-built")
	admin.press(".bot-save")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".bot-version").textContent`), "version 3")
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".bot-version").textContent + " / " + document.querySelector(".bot-error").textContent`)
	})
	cfg, _, _ := bot.Load(t.Context(), ts.Store, brand.account.ID)
	want := bot.Flow{Name: "gift_wrap", Steps: []bot.Step{
		{ID: "wrap", Kind: bot.StepAsk, Text: "Shall we gift-wrap it?", Choices: []string{"Yes", "No"}, Attribute: "wrap", Next: "route"},
		{ID: "route", Kind: bot.StepBranch, Attribute: "wrap", Cases: []bot.Case{{Equals: "Yes", Next: "wrapped"}}, Next: "plain"},
		{ID: "wrapped", Kind: bot.StepEnd, Text: "We'll wrap it."},
		{ID: "plain", Kind: bot.StepEnd, Text: "No wrapping then.", Close: true},
	}}
	if len(cfg.Flows) != len(before.Flows)+1 || !reflect.DeepEqual(cfg.Flows[len(cfg.Flows)-1], want) {
		t.Fatalf("saved flows: %+v", cfg.Flows)
	}
	if in := cfg.Intents[len(cfg.Intents)-1]; in.Name != "gift_wrap" || in.Flow != "gift_wrap" || in.Answer != "" {
		t.Fatalf("saved intent %+v", in)
	}
}

// An admin checks the draft's intents: one written like another shows as
// taken for it, marked weak.
func TestAdminChecksTheIntentsInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Northwind")
	withDemoBot(t, ts, brand)
	admin := consoleLogin(t, ts, brand.admin, "[data-tab=botedit]")
	admin.do(chromedp.Click(chromedp.CSS("[data-tab=botedit]")), chromedp.WaitVisible(chromedp.CSS(".bot-intent")))
	admin.press(".bot-add-intent")
	evalIn[bool](t, admin.ctx, `(() => { const d = [...document.querySelectorAll(".bot-intent")].pop();
		d.querySelector("[name=name]").value = "hello_again";
		d.querySelector("[name=phrases]").value = "hello\nhi there\ngood morning\nhey";
		d.querySelector("[name=answer]").value = "Hi!";
		return true })()`)
	admin.press(".bot-check-run")
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `!document.querySelector(".bot-check-table").hidden`)
	}, func() string {
		return "no check shown: " + evalIn[string](t, admin.ctx, `document.querySelector(".bot-check-status").textContent + " / " + document.querySelector(".bot-error").textContent`)
	})
	greeting := evalIn[string](t, admin.ctx, `(() => { const tr = [...document.querySelectorAll(".bot-check-table tbody tr")].find((tr) => tr.cells[0].textContent === "Greeting");
		return tr ? tr.className + "|" + tr.cells[3].textContent : "" })()`)
	if !strings.HasPrefix(greeting, "weak|Hello again (") {
		t.Fatalf("the greeting's row: %q", greeting)
	}
	if status := evalIn[string](t, admin.ctx, `document.querySelector(".bot-check-status").textContent`); !strings.Contains(status, "phrases,") {
		t.Fatalf("status %q", status)
	}
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector(".bot-check").scrollIntoView(); return true })()`)
	admin.shot("checked")
	if _, version, _ := bot.Load(t.Context(), ts.Store, brand.account.ID); version != 1 {
		t.Fatalf("checking a draft saved it: version %d", version)
	}
}
