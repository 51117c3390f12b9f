package server_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

// A brand's rules triage for it: a visitor asking for a refund is labelled,
// raised, routed to billing and told so — once, however often they ask; an
// enterprise customer's conversation opens urgent; a disabled rule does
// nothing. Each match is an automation.applied event saying what each
// action did. Bad rules are refused, naming the part, and change nothing.
func TestRulesTriageConversations(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	var billing parley.Skill
	admin.do("POST", "/api/v1/skills", map[string]any{"name": "billing"}, &billing)
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "billing"}, {"name": "vip"}}}, nil)
	rules := []map[string]any{
		{"name": "Refunds", "event": "visitor_message",
			"conditions": []map[string]any{{"field": "message", "operator": "matches", "value": `\brefund`}},
			"actions": []map[string]any{{"type": "add_label", "value": "billing"}, {"type": "set_priority", "value": "5"},
				{"type": "set_skill", "value": billing.ID}, {"type": "send_message", "value": "Our billing team will answer you."}}},
		{"name": "Enterprise", "event": "conversation_opened",
			"conditions": []map[string]any{{"field": "visitor.attributes.plan", "operator": "equals", "value": "Enterprise"}},
			"actions":    []map[string]any{{"type": "set_priority", "value": "10"}, {"type": "add_label", "value": "vip"}}},
		{"name": "Greetings", "event": "visitor_message", "disabled": true,
			"conditions": []map[string]any{{"field": "message", "operator": "contains", "value": "hello"}},
			"actions":    []map[string]any{{"type": "add_label", "value": "vip"}}},
	}
	var saved struct {
		AutomationRules []parley.AutomationRule `json:"automation_rules"`
	}
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}, &saved)
	if len(saved.AutomationRules) != 3 || !saved.AutomationRules[2].Disabled {
		t.Fatalf("saved rules: %+v", saved.AutomationRules)
	}

	big := ts.newVisitor(t, b.account.ID)
	big.do("PATCH", "/api/v1/consumers/me", map[string]any{"attributes": map[string]string{"plan": "enterprise"}}, nil)
	bigConv := big.open(t)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, bigConv.ID)
		return c.Priority == 10 && len(c.Labels) == 1 && c.Labels[0] == "vip"
	})

	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	say := func(text string) {
		t.Helper()
		if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": text}, nil); st != 201 {
			t.Fatalf("send %q: %d", text, st)
		}
	}
	say("hello there")
	say("I would like a REFUND please")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID)
		return c.Skill == billing.ID && c.Priority == 5 && len(c.Labels) == 1 && c.Labels[0] == "billing" && c.State == parley.StateQueued
	})
	say("refund, I said")
	applied := waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 3) // Enterprise, Refunds twice
	var second parley.AutomationApplied
	json.Unmarshal(applied[2].Data, &second)
	if second.Rule != "Refunds" || len(second.Actions) != 4 || !strings.HasSuffix(second.Actions[0], "unchanged") ||
		!strings.HasSuffix(second.Actions[2], "unchanged") || !strings.Contains(second.Actions[3], "sent before") {
		t.Fatalf("the second match: %+v", second)
	}
	replies := 0
	for _, m := range mustMessages(t, ts, b.account.ID, conv.ID) {
		if m.Text == "Our billing team will answer you." {
			replies++
		}
	}
	if replies != 1 {
		t.Fatalf("the auto-reply was sent %d times", replies)
	}
	for _, e := range applied {
		if strings.Contains(string(e.Data), "Greetings") {
			t.Fatal("a disabled rule ran")
		}
	}

	// Bad rules: refused, naming the part; nothing changes.
	bad := []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"automation_rules": []map[string]any{{"name": "x", "event": "visitor_message",
			"actions": []map[string]any{{"type": "set_skill", "value": parley.NewID("skl")}}}}}, "automation_rules[0].actions[0].value: skill"},
		{map[string]any{"automation_rules": []map[string]any{{"name": "x", "event": "visitor_message",
			"conditions": []map[string]any{{"field": "message", "operator": "matches", "value": "(("}},
			"actions":    []map[string]any{{"type": "set_priority", "value": "1"}}}}}, "automation_rules[0].conditions[0].value is not a valid pattern"},
		{map[string]any{"labels": []map[string]any{{"name": "vip"}}}, "automation_rules[0].actions[0].value: \\\"billing\\\" is not one of"},
	}
	for _, tc := range bad {
		st, raw := admin.raw("PATCH", "/api/v1/account-settings", tc.body)
		if st != 400 || !strings.Contains(string(raw), tc.want) {
			t.Fatalf("%v: %d %s", tc.body, st, raw)
		}
	}
	acc, _ := ts.Store.FindAccount(t.Context(), b.account.ID)
	if len(acc.Settings.AutomationRules) != 3 || len(acc.Settings.Labels) != 2 {
		t.Fatalf("refused changes changed the account: %d rules, %d labels", len(acc.Settings.AutomationRules), len(acc.Settings.Labels))
	}
	agent := ts.login(t, b.agent)
	if st, _ := agent.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": []any{}}); st != 403 {
		t.Fatal("an agent changed the rules")
	}
}

// An admin writes a rule in the console's Admin tab — a condition on the
// message, a label and a reply — and it triages the next visitor who asks.
func TestAnAdminWritesARuleInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "billing"}},
		"conversation_fields": []map[string]any{{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Damaged"}}}}, nil)
	admin := adminTab(t, ts, brand)
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-form [name=rulename]"), "Refunds"))
	admin.press(".auto-add-condition")
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-condition [name=value]"), "refund"))
	// And at least one of two more: "where" or "when".
	admin.press(".auto-add-any-condition")
	admin.press(".auto-add-any-condition")
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-any-conditions .auto-condition:nth-of-type(1) [name=value]"), "where"),
		chromedp.SendKeys(chromedp.CSS(".auto-any-conditions .auto-condition:nth-of-type(2) [name=value]"), "when"))
	// The first action row is there already: add the label; then a reply.
	admin.do(chromedp.SetValue(chromedp.CSS(".auto-action [name=type]"), "add_label"))
	admin.press(".auto-add-action")
	admin.do(chromedp.SetValue(chromedp.CSS(".auto-action:nth-of-type(2) [name=type]"), "send_message"))
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector(".auto-action:nth-of-type(2) [name=type]").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-action:nth-of-type(2) input[name=value]"), "Billing will answer you."))
	admin.press(".auto-form button[type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent`),
			"When the visitor writes and the message contains “refund”, and either the message contains “where” or the message contains “when”: add the label billing, then reply “Billing will answer you.”")
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})

	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Where is my refund?"}, nil)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		ms := mustMessages(t, ts, brand.account.ID, conv.ID)
		return len(c.Labels) == 1 && ms[len(ms)-1].Text == "Billing will answer you."
	})
	if acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID); len(acc.Settings.AutomationRules[0].Conditions) != 1 || len(acc.Settings.AutomationRules[0].AnyConditions) != 2 {
		t.Fatalf("the rule saved: %+v", acc.Settings.AutomationRules[0])
	}
	// Turned off from the list, it leaves the next conversation alone.
	admin.press(".auto-rules button")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return len(acc.Settings.AutomationRules) == 1 && acc.Settings.AutomationRules[0].Disabled
	})

	// A second rule: enterprise customers go to the agent by name.
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-form [name=rulename]"), "Enterprise"))
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector(".auto-form");
		f.querySelector("[name=event]").value = "conversation_opened";
		const type = f.querySelector(".auto-action [name=type]");
		type.value = "assign_agent"; type.dispatchEvent(new Event("change"));
		const who = f.querySelector(".auto-action [name=value]");
		who.value = [...who.options].find(o => o.text === `+strconv.Quote(brand.agent.Name)+`).value;
	})()`)); err != nil {
		t.Fatal(err)
	}
	admin.press(".auto-form button[type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent`), "When a conversation opens: assign to "+brand.agent.Name)
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})
	acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
	if r := acc.Settings.AutomationRules; len(r) != 2 || r[1].Actions[0].Type != parley.RuleAssignAgent || r[1].Actions[0].Value != brand.agent.ID {
		t.Fatalf("rules: %+v", r)
	}

	// A third that acts when any of its conditions holds: an upset visitor,
	// or one who says it is urgent.
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-form [name=rulename]"), "Urgent or upset"))
	admin.press(".auto-add-condition")
	admin.press(".auto-add-condition")
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector(".auto-form");
		f.querySelector("[name=match]").value = "any";
		const [first, second] = f.querySelectorAll(".auto-condition");
		const field = first.querySelector("[name=field]");
		field.value = "sentiment"; field.dispatchEvent(new Event("change"));
		second.querySelector("[name=value]").value = "urgent";
		const type = f.querySelector(".auto-action [name=type]");
		type.value = "set_priority"; type.dispatchEvent(new Event("change"));
		f.querySelector(".auto-action [name=value]").value = "10";
	})()`)); err != nil {
		t.Fatal(err)
	}
	admin.press(".auto-form button[type=submit]")
	want := "When the visitor writes and either how the message sounds is “negative” or the message contains “urgent”: set the priority Urgent."
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent`), want)
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})
	urgent := ts.newVisitor(t, brand.account.ID)
	urgentConv := urgent.open(t)
	urgent.do("POST", "/api/v1/conversations/"+urgentConv.ID+"/messages", map[string]any{"text": "It is urgent, my flight leaves tonight"}, nil)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, urgentConv.ID)
		return c.Priority == 10
	})
	acc, _ = ts.Store.FindAccount(t.Context(), brand.account.ID)
	if r := acc.Settings.AutomationRules; len(r) != 3 || r[2].Match != parley.RuleMatchAny || len(r[2].Conditions) != 2 {
		t.Fatalf("the third rule: %+v", r)
	}

	// A fourth on the details an agent records: the brand's fields are
	// among what a condition looks at.
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-form [name=rulename]"), "Damaged goods"))
	admin.press(".auto-add-condition")
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector(".auto-form");
		f.querySelector("[name=event]").value = "fields_changed";
		const c = f.querySelector(".auto-condition");
		c.querySelector("[name=field]").value = "fields.reason";
		c.querySelector("[name=operator]").value = "equals";
		c.querySelector("[name=value]").value = "Damaged";
		const type = f.querySelector(".auto-action [name=type]");
		type.value = "add_label"; type.dispatchEvent(new Event("change"));
	})()`)); err != nil {
		t.Fatal(err)
	}
	admin.press(".auto-form button[type=submit]")
	want = "When someone records the details and the detail “Reason” is “Damaged”: add the label billing."
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent`), want)
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})

	// A fifth on the visitor's rating: choosing the rating sets "is at
	// most 2", and notify names the person to call on.
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-form [name=rulename]"), "Bad rating"))
	admin.press(".auto-add-condition")
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector(".auto-form");
		f.querySelector("[name=event]").value = "conversation_rated";
		const field = f.querySelector(".auto-condition [name=field]");
		field.value = "rating"; field.dispatchEvent(new Event("change"));
		const type = f.querySelector(".auto-action [name=type]");
		type.value = "notify"; type.dispatchEvent(new Event("change"));
		const who = f.querySelector(".auto-action [name=value]");
		who.value = [...who.options].find(o => o.text === `+strconv.Quote(brand.supervisor.Name)+`).value;
	})()`)); err != nil {
		t.Fatal(err)
	}
	admin.press(".auto-form button[type=submit]")
	want = "When the visitor rates it and the rating (1 to 5) is at most “2”: notify " + brand.supervisor.Name + "."
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent`), want)
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})
	acc, _ = ts.Store.FindAccount(t.Context(), brand.account.ID)
	if r := acc.Settings.AutomationRules; len(r) != 5 || r[4].Event != parley.RuleOnConversationRated || r[4].Conditions[0] != (parley.RuleCondition{Field: "rating", Operator: "at_most", Value: "2"}) ||
		r[4].Actions[0] != (parley.RuleAction{Type: parley.RuleNotify, Value: brand.supervisor.ID}) {
		t.Fatalf("the fifth rule: %+v", r)
	}

	// A sixth when a person takes a conversation: the agent condition
	// chooses the person from the team.
	admin.do(chromedp.SendKeys(chromedp.CSS(".auto-form [name=rulename]"), "Trainee"))
	admin.press(".auto-add-condition")
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector(".auto-form");
		f.querySelector("[name=event]").value = "conversation_assigned";
		const field = f.querySelector(".auto-condition [name=field]");
		field.value = "agent"; field.dispatchEvent(new Event("change"));
		const who = f.querySelector(".auto-condition [name=who]");
		who.value = [...who.options].find(o => o.text === `+strconv.Quote(brand.agent.Name)+`).value;
		const type = f.querySelector(".auto-action [name=type]");
		type.value = "add_label"; type.dispatchEvent(new Event("change"));
	})()`)); err != nil {
		t.Fatal(err)
	}
	if hidden := evalIn[bool](t, admin.ctx, `document.querySelector(".auto-condition [name=value]").hidden && !document.querySelector(".auto-condition [name=who]").hidden`); !hidden {
		t.Fatal("the agent condition shows a text box instead of the team")
	}
	admin.press(".auto-form button[type=submit]")
	want = "When a person takes it and the person it is assigned to is “" + brand.agent.Name + "”: add the label billing."
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent`), want)
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})
	acc, _ = ts.Store.FindAccount(t.Context(), brand.account.ID)
	if r := acc.Settings.AutomationRules; len(r) != 6 || r[5].Event != parley.RuleOnConversationAssigned ||
		r[5].Conditions[0] != (parley.RuleCondition{Field: "agent", Operator: "equals", Value: brand.agent.ID}) {
		t.Fatalf("the sixth rule: %+v", r)
	}
	if problems := accessibilityProblems(t, admin.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the rules: %s", strings.Join(problems, "\n"))
	}
}

// Out of hours, a rule answers at once that people will reply when they
// are back; within them (no hours: always), it stays quiet.
func TestARuleAnswersOutOfHours(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	const closedText = "We are closed; we answer from 9:00."
	hours := func(value string) []map[string]any {
		return []map[string]any{{"field": "business_hours", "operator": "equals", "value": value}}
	}
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{
		"business_hours": map[string]any{"time_zone": "UTC", "days": map[string]any{}}, // never open
		"automation_rules": []map[string]any{
			{"name": "Out of hours", "event": "conversation_opened", "conditions": hours("closed"),
				"actions": []map[string]any{{"type": "send_message", "value": closedText}}},
			// Checked after the first: once it has acted, the first was
			// checked for the same conversation.
			{"name": "In hours", "event": "conversation_opened", "conditions": hours("open"),
				"actions": []map[string]any{{"type": "set_priority", "value": "2"}}},
		},
	}, nil)
	said := func(convID string) bool {
		for _, m := range mustMessages(t, ts, b.account.ID, convID) {
			if m.Text == closedText {
				return true
			}
		}
		return false
	}
	night := ts.newVisitor(t, b.account.ID).open(t)
	waitFor(t, func() bool { return said(night.ID) })
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"business_hours": nil}, nil)
	day := ts.newVisitor(t, b.account.ID).open(t)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, day.ID)
		return c.Priority == 2
	})
	if said(day.ID) {
		t.Fatal("the out-of-hours reply went out within the hours")
	}
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, night.ID); c.Priority != 0 {
		t.Fatal("the in-hours rule acted out of hours")
	}
}

// The conversation's Activity says, in words, what a rule did to it and
// what people did after: the answer to "why did this go to billing?".
func TestTheActivitySaysWhatARuleDid(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{
		"labels": []map[string]any{{"name": "billing"}},
		"automation_rules": []map[string]any{{"name": "Refunds", "event": "visitor_message",
			"conditions": []map[string]any{{"field": "message", "operator": "contains", "value": "refund"}},
			"actions":    []map[string]any{{"type": "add_label", "value": "billing"}}}},
	}, nil)
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "a refund please"}, nil)
	waitEvents(t, ts, brand.account.ID, parley.EventAutomationApplied, 1)
	sup := ts.login(t, brand.supervisor)
	sup.do("PUT", "/api/v1/conversations/"+conv.ID+"/priority", map[string]any{"priority": 10}, nil)
	var act struct{ Events []parley.Event }
	sup.do("GET", "/api/v1/conversations/"+conv.ID+"/activity", nil, &act)
	var types []string
	for _, e := range act.Events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "conversation.opened,conversation.labeled,automation.applied,conversation.prioritized" {
		t.Fatalf("activity: %s", got)
	}

	b := consoleLogin(t, ts, brand.agent, ".items li")
	b.openFirst("queued")
	b.press(".show-activity")
	lines := func() string {
		return evalIn[string](t, b.ctx, `[...document.querySelectorAll(".activity li")].map((li) => li.textContent).join(" | ")`)
	}
	waitFor(t, func() bool {
		l := lines()
		return strings.Contains(l, "+billing by a rule") && strings.Contains(l, "Rule “Refunds”: add_label billing: done") &&
			strings.Contains(l, "Priority Normal → Urgent by supervisor of Acme")
	}, lines)
}

// TestRulesAssignAnAccountManagerAndCloseSpam: a rule gives enterprise
// customers' conversations to their account manager while she is online
// (and leaves them in the queue, saying why, when she is not); another
// closes spam. Rules naming someone not of the brand, or closing before
// their last action, are refused.
func TestRulesAssignAnAccountManagerAndCloseSpam(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Other")
	admin := ts.login(t, b.admin)
	enterprise := map[string]any{"name": "Enterprise to Ann", "event": "conversation_opened",
		"conditions": []map[string]any{{"field": "visitor.attributes.plan", "operator": "equals", "value": "enterprise"}},
		"actions":    []map[string]any{{"type": "assign_agent", "value": b.agent.ID}}}
	spam := map[string]any{"name": "Spam", "event": "visitor_message",
		"conditions": []map[string]any{{"field": "message", "operator": "matches", "value": `(?i)crypto\s+giveaway`}},
		"actions":    []map[string]any{{"type": "close", "value": "spam"}}}
	for name, bad := range map[string]struct {
		rule map[string]any
		want string
	}{
		"someone of another brand": {map[string]any{"name": "x", "event": "conversation_opened", "actions": []map[string]any{{"type": "assign_agent", "value": other.agent.ID}}}, "actions[0].value"},
		"close, then more":         {map[string]any{"name": "x", "event": "visitor_message", "actions": []map[string]any{{"type": "close", "value": "spam"}, {"type": "set_priority", "value": "5"}}}, "close must be the last"},
	} {
		st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": []map[string]any{bad.rule}})
		if st != 400 || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("%s: %d %s", name, st, raw)
		}
	}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": []map[string]any{enterprise, spam}}); st != 200 {
		t.Fatalf("rules: %d %s", st, raw)
	}
	open := func(plan string) *parley.Conversation {
		v := ts.newVisitor(t, b.account.ID)
		v.do("PATCH", "/api/v1/consumers/me", map[string]any{"attributes": map[string]string{"plan": plan}}, nil)
		return v.open(t)
	}
	stateOf := func(id string) *parley.Conversation {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, id)
		return c
	}
	// Ann is not online: the rule says so and the conversation waits.
	waiting := open("enterprise")
	applied := waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 1)
	if !strings.Contains(string(applied[0].Data), "skipped: not online") || stateOf(waiting.ID).State != parley.StateQueued {
		t.Fatalf("with Ann offline: %s, %s", applied[0].Data, stateOf(waiting.ID).State)
	}
	// Online: the next enterprise conversation is hers at once (auto-assign is off).
	ann := online(t, ts, b.agent)
	defer ann.ws.CloseNow()
	mine := open("enterprise")
	waitFor(t, func() bool {
		c := stateOf(mine.ID)
		return c.State == parley.StateAssigned && c.AssigneeID == b.agent.ID
	})
	if c := stateOf(open("free").ID); c.State != parley.StateQueued {
		t.Fatalf("a free plan's conversation: %s", c.State)
	}

	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Join our CRYPTO   giveaway now"}, nil)
	waitFor(t, func() bool {
		c := stateOf(conv.ID)
		return c.State == parley.StateClosed && c.CloseReason == "spam" && c.ClosedBy == "automation"
	})
}

// TestARuleRaisesUpsetVisitors: "when the visitor sounds upset, raise the
// priority and label it" — a rule on the message's sentiment. A calm
// question in another conversation is left alone, and the upset one is
// labelled once however many angry messages follow.
func TestARuleRaisesUpsetVisitors(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "upset"}}}, nil)
	rules := []map[string]any{{"name": "Upset visitors", "event": "visitor_message",
		"conditions": []map[string]any{{"field": "sentiment", "operator": "equals", "value": "negative"}},
		"actions":    []map[string]any{{"type": "set_priority", "value": "8"}, {"type": "add_label", "value": "upset"}}}}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}); st != 200 {
		t.Fatalf("saving the rule: %d %s", st, raw)
	}
	bad := []map[string]any{{"name": "Wrong", "event": "conversation_opened",
		"conditions": []map[string]any{{"field": "sentiment", "operator": "equals", "value": "negative"}},
		"actions":    []map[string]any{{"type": "add_label", "value": "upset"}}}}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": bad}); st != 400 || !strings.Contains(string(raw), "visitor_message") {
		t.Fatalf("sentiment on conversation_opened: %d %s", st, raw)
	}

	calm, upset := ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID)
	calmConv, upsetConv := calm.open(t), upset.open(t)
	say := func(v *visitor, conv *parley.Conversation, text string) {
		t.Helper()
		if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": text}, nil); st != 201 {
			t.Fatalf("send %q: %d", text, st)
		}
	}
	say(calm, calmConv, "Where is my parcel? I ordered it on Monday.")
	say(upset, upsetConv, "WHY is my order STILL not here??? This is ridiculous")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, upsetConv.ID)
		return c.Priority == 8 && len(c.Labels) == 1 && c.Labels[0] == "upset"
	})
	say(upset, upsetConv, "You guys are useless.")
	applied := waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 2)
	for _, e := range applied {
		if e.ConversationID != upsetConv.ID {
			t.Fatalf("the rule ran on the calm conversation: %s", e.Data)
		}
	}
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, calmConv.ID); c.Priority != 0 || len(c.Labels) != 0 {
		t.Fatalf("the calm visitor's conversation: priority %d, labels %v", c.Priority, c.Labels)
	}
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, upsetConv.ID); len(c.Labels) != 1 {
		t.Fatalf("labels after two upset messages: %v", c.Labels)
	}
}

// TestTheInboxMarksAnUpsetVisitor: in Chromium, the queue shows "Upset"
// beside the visitor whose last message sounds it, and not beside a calm
// one; the mark passes the accessibility check.
func TestTheInboxMarksAnUpsetVisitor(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	for _, text := range []string{"Where is my parcel? I ordered it on Monday.", "This is ridiculous. Worst service ever!!"} {
		v := ts.newVisitor(t, b.account.ID)
		conv := v.open(t)
		if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": text}, nil); st != 201 {
			t.Fatalf("send: %d", st)
		}
	}
	console := consoleLogin(t, ts, b.agent, ".app")
	waitFor(t, func() bool { return evalIn[int](t, console.ctx, `document.querySelectorAll(".items li").length`) == 2 })
	marked := evalIn[[]string](t, console.ctx, `[...document.querySelectorAll(".items li")].filter((li) => li.querySelector(".mood-upset")).map((li) => li.querySelector(".preview").textContent)`)
	if len(marked) != 1 || !strings.HasPrefix(marked[0], "This is ridiculous") {
		t.Fatalf("marked upset: %q", marked)
	}
	console.shot("upset")
	if problems := accessibilityProblems(t, console.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("accessibility: %s", strings.Join(problems, "\n"))
	}
}

// A rule acts on the details people record: an agent who marks a
// conversation "Damaged" has it labelled returns and raised, even after
// the close (the label; the rest is skipped on a closed conversation).
// A rule cannot read a field the brand does not have, and a field a rule
// reads cannot be removed from under it.
func TestARuleActsOnTheDetailsAnAgentRecords(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	fields := []map[string]any{{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Damaged"}}}
	rule := map[string]any{"name": "Damaged goods", "event": "fields_changed",
		"conditions": []map[string]any{{"field": "fields.reason", "operator": "equals", "value": "damaged"}},
		"actions":    []map[string]any{{"type": "add_label", "value": "returns"}, {"type": "set_priority", "value": "5"}}}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "returns"}},
		"conversation_fields": fields, "automation_rules": []map[string]any{rule}}); st != 200 {
		t.Fatalf("settings: %d %s", st, raw)
	}
	for name, bad := range map[string]map[string]any{
		"an unknown field": {"automation_rules": []map[string]any{{"name": "x", "event": "fields_changed",
			"conditions": []map[string]any{{"field": "fields.colour", "operator": "is_set"}}, "actions": []map[string]any{{"type": "set_priority", "value": "1"}}}}},
		"an option the list lacks": {"automation_rules": []map[string]any{{"name": "x", "event": "fields_changed",
			"conditions": []map[string]any{{"field": "fields.reason", "operator": "equals", "value": "Boredom"}}, "actions": []map[string]any{{"type": "set_priority", "value": "1"}}}}},
		"the field a rule reads, removed": {"conversation_fields": []map[string]any{}},
	} {
		if st, raw := admin.raw("PATCH", "/api/v1/account-settings", bad); st != 400 || !strings.Contains(string(raw), "conversation field") && !strings.Contains(string(raw), "one of Sizing, Damaged") {
			t.Errorf("%s: %d %s", name, st, raw)
		}
	}

	agent := ts.login(t, b.agent)
	conv := ts.newVisitor(t, b.account.ID).open(t)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	set := func(id, reason string) {
		t.Helper()
		if st, raw := agent.raw("PATCH", "/api/v1/conversations/"+id+"/fields", map[string]any{"reason": reason}); st != 200 {
			t.Fatalf("fields: %d %s", st, raw)
		}
	}
	set(conv.ID, "Sizing")
	set(conv.ID, "Damaged")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID)
		return slices.Contains(c.Labels, "returns") && c.Priority == 5
	})
	applied := waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 1)
	if len(applied) != 1 || !strings.Contains(string(applied[0].Data), `"on":"fields_changed"`) {
		t.Fatalf("applied: %s", applied[0].Data)
	}
	// Wrap-up after the close: labelled, not raised.
	closed := ts.newVisitor(t, b.account.ID).open(t)
	agent.do("POST", "/api/v1/conversations/"+closed.ID+"/accept", nil, nil)
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+closed.ID+"/close", map[string]any{"reason": "resolved"}); st != 200 {
		t.Fatalf("close: %d %s", st, raw)
	}
	set(closed.ID, "Damaged")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, closed.ID)
		return slices.Contains(c.Labels, "returns")
	})
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, closed.ID); c.Priority != 0 {
		t.Fatalf("a closed conversation raised: %d", c.Priority)
	}
}

// TestARuleFollowsUpABadRating: Zendesk's "bad satisfaction" trigger. A
// rating of 2 or less labels the conversation and calls the supervisor in
// a note (their mentions, at once); a good rating does nothing; the
// comment a visitor adds later runs the rule again without a second note.
func TestARuleFollowsUpABadRating(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Contoso")
	admin := ts.login(t, b.admin)
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "follow-up"}}}, nil)
	rule := func(event, field, op, value, notify string) []map[string]any {
		return []map[string]any{{"name": "Bad rating", "event": event,
			"conditions": []map[string]any{{"field": field, "operator": op, "value": value}},
			"actions":    []map[string]any{{"type": "add_label", "value": "follow-up"}, {"type": "notify", "value": notify}}}}
	}
	for name, c := range map[string]struct {
		rules []map[string]any
		says  string
	}{
		"a rating on messages":     {rule("visitor_message", "rating", "at_most", "2", b.supervisor.ID), "conversation_rated"},
		"a comparison with a word": {rule("conversation_rated", "rating", "at_most", "two", b.supervisor.ID), "compares numbers"},
		"another brand's person":   {rule("conversation_rated", "rating", "at_most", "2", other.supervisor.ID), "not an active user"},
		"an unknown event":         {rule("conversation_reopened", "rating", "at_most", "2", b.supervisor.ID), "conversation_rated"},
	} {
		if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": c.rules}); st != 400 || !strings.Contains(string(raw), c.says) {
			t.Errorf("%s: %d %s", name, st, raw)
		}
	}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rule("conversation_rated", "rating", "at_most", "2", b.supervisor.ID)}); st != 200 {
		t.Fatalf("saving the rule: %d %s", st, raw)
	}

	rated := func(score int, comment string) *parley.Conversation {
		t.Helper()
		v := ts.newVisitor(t, b.account.ID)
		conv := v.open(t)
		v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Where is my parcel?"}, nil)
		if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/close", nil, nil); st != 200 {
			t.Fatalf("close: %d", st)
		}
		if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/csat", map[string]any{"score": score, "comment": comment}, nil); st != 204 {
			t.Fatalf("rate: %d", st)
		}
		if comment == "" { // a comment added afterwards, as the widget allows
			if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/csat", map[string]any{"score": score, "comment": "Nobody answered for ages."}, nil); st != 204 {
				t.Fatalf("adding a comment: %d", st)
			}
		}
		return conv
	}
	happy := rated(5, "Lovely")
	unhappy := rated(1, "I waited too long")
	later := rated(2, "")
	applied := waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 3)
	notes := func(conv *parley.Conversation) []*parley.Note {
		n, _ := ts.Store.ListNotes(t.Context(), b.account.ID, conv.ID)
		return n
	}
	waitFor(t, func() bool { return len(notes(unhappy)) == 1 && len(notes(later)) == 1 })
	for _, e := range applied {
		if e.ConversationID == happy.ID {
			t.Fatalf("the rule ran on a rating of 5: %s", e.Data)
		}
	}
	if n := notes(unhappy)[0]; n.AuthorID != "automation" || n.AuthorName != "Rule “Bad rating”" || len(n.Mentions) != 1 || n.Mentions[0] != b.supervisor.ID ||
		n.Text != "@"+b.supervisor.Name+": rated 1 of 5: “I waited too long” (Rule “Bad rating”)." {
		t.Fatalf("the note: %+v", n)
	}
	for _, conv := range []*parley.Conversation{unhappy, later} {
		if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID); len(c.Labels) != 1 || c.Labels[0] != "follow-up" {
			t.Fatalf("labels: %v", c.Labels)
		}
	}
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, happy.ID); len(c.Labels) != 0 || len(notes(happy)) != 0 {
		t.Fatalf("the happy visitor's conversation: %v, %d notes", c.Labels, len(notes(happy)))
	}
	// The comment added later ran the rule again, and said so, without a
	// second note.
	waitFor(t, func() bool {
		for _, e := range waitEventsNow(ts, b.account.ID, parley.EventAutomationApplied) {
			if e.ConversationID == later.ID && strings.Contains(string(e.Data), "unchanged: notified before") {
				return true
			}
		}
		return false
	})
	if n := notes(later); len(n) != 1 || n[0].Text != "@"+b.supervisor.Name+": rated 2 of 5 (Rule “Bad rating”)." {
		t.Fatalf("notes after the comment: %+v", n)
	}
	var me struct {
		UnreadMentions *int `json:"unread_mentions"`
	}
	if ts.login(t, b.supervisor).do("GET", "/api/v1/me", nil, &me); me.UnreadMentions == nil || *me.UnreadMentions != 2 {
		t.Fatalf("the supervisor's unread mentions: %v", me.UnreadMentions)
	}
}

// TestARuleActsWhenAConversationCloses: a rule on conversation_closed
// reads why it closed and the details recorded, labels the conversation
// and calls the finance lead in; other closes are left alone.
func TestARuleActsWhenAConversationCloses(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "refunds"}}}, nil)
	rules := []map[string]any{{"name": "Refunds to finance", "event": "conversation_closed",
		"conditions": []map[string]any{{"field": "close_reason", "operator": "contains", "value": "refund"}},
		"actions":    []map[string]any{{"type": "add_label", "value": "refunds"}, {"type": "notify", "value": b.supervisor.ID}}}}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}); st != 200 {
		t.Fatalf("saving the rule: %d %s", st, raw)
	}
	agent := ts.login(t, b.agent)
	closed := func(reason string) *parley.Conversation {
		t.Helper()
		v := ts.newVisitor(t, b.account.ID)
		conv := v.open(t)
		v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "My parcel never came"}, nil)
		agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
		if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/close", map[string]any{"reason": reason}, nil); st != 200 {
			t.Fatalf("close: %d", st)
		}
		return conv
	}
	refund, other := closed("Refund issued"), closed("resolved")
	waitFor(t, func() bool {
		n, _ := ts.Store.ListNotes(t.Context(), b.account.ID, refund.ID)
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, refund.ID)
		return len(n) == 1 && n[0].Text == "@"+b.supervisor.Name+": it was closed (Refund issued) (Rule “Refunds to finance”)." && len(c.Labels) == 1
	})
	applied := waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 1)
	for _, e := range applied {
		if e.ConversationID == other.ID {
			t.Fatalf("the rule ran on another close: %s", e.Data)
		}
	}
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, other.ID); len(c.Labels) != 0 {
		t.Fatalf("the other conversation's labels: %v", c.Labels)
	}
}

// TestARuleWithAllAndAnyConditions: "the visitor is on the Gold plan, and
// the message says refund or chargeback" — a rule with both lists acts
// only when all of the first hold and one of the second does; saved and
// read back over REST as written.
func TestARuleWithAllAndAnyConditions(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "vip-refund"}, {"name": "silver"}}}, nil)
	rules := []map[string]any{
		{"name": "Gold refunds", "event": "visitor_message",
			"conditions":     []map[string]any{{"field": "visitor.attributes.plan", "operator": "equals", "value": "gold"}},
			"any_conditions": []map[string]any{{"field": "message", "operator": "contains", "value": "refund"}, {"field": "message", "operator": "contains", "value": "chargeback"}},
			"actions":        []map[string]any{{"type": "add_label", "value": "vip-refund"}}},
		{"name": "Silver seen", "event": "visitor_message",
			"conditions": []map[string]any{{"field": "visitor.attributes.plan", "operator": "equals", "value": "silver"}},
			"actions":    []map[string]any{{"type": "add_label", "value": "silver"}}},
	}
	var saved struct {
		AutomationRules []parley.AutomationRule `json:"automation_rules"`
	}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}, &saved); st != 200 ||
		len(saved.AutomationRules) != 2 || len(saved.AutomationRules[0].AnyConditions) != 2 || saved.AutomationRules[0].AnyConditions[1].Value != "chargeback" {
		t.Fatalf("saved: %d %+v", st, saved.AutomationRules)
	}
	rules[0]["match"] = "any"
	if st, body := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}); st != 400 || !strings.Contains(string(body), "any_conditions go with match all") {
		t.Fatalf("any_conditions with match any: %d %s", st, body)
	}

	labels := func(convID string) []string {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, convID)
		return c.Labels
	}
	visitor := func(plan string) (*visitor, string) {
		v := ts.newVisitor(t, b.account.ID)
		v.do("PATCH", "/api/v1/consumers/me", map[string]any{"attributes": map[string]string{"plan": plan}}, nil)
		return v, v.open(t).ID
	}
	gold, goldConv := visitor("gold")
	for _, text := range []string{"hello", "I want a chargeback"} {
		if st := gold.do("POST", "/api/v1/conversations/"+goldConv+"/messages", map[string]any{"text": text}, nil); st != 201 {
			t.Fatalf("send %q: %d", text, st)
		}
	}
	waitFor(t, func() bool { return slices.Equal(labels(goldConv), []string{"vip-refund"}) })
	if applied := waitEvents(t, ts, b.account.ID, parley.EventAutomationApplied, 1); len(applied) != 1 {
		t.Fatalf("applied %d times; want once (not on hello)", len(applied))
	}
	// A Silver visitor's refund: the second rule acts, after the first
	// was weighed on the same message, which leaves it alone.
	silver, silverConv := visitor("silver")
	if st := silver.do("POST", "/api/v1/conversations/"+silverConv+"/messages", map[string]any{"text": "refund please"}, nil); st != 201 {
		t.Fatalf("send: %d", st)
	}
	waitFor(t, func() bool { return len(labels(silverConv)) > 0 })
	if got := labels(silverConv); !slices.Equal(got, []string{"silver"}) {
		t.Fatalf("the Silver visitor's labels: %q; want only silver", got)
	}
}

// TestARuleActsWhenAConversationIsAssigned: "when the trainee takes a
// conversation, label it, tell the supervisor, and greet the visitor by
// the agent's name" — a rule on conversation_assigned, whose agent
// condition reads who took it; a colleague's conversation is left alone.
func TestARuleActsWhenAConversationIsAssigned(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "trainee"}}}, nil)
	rules := []map[string]any{
		{"name": "Trainee", "event": "conversation_assigned",
			"conditions": []map[string]any{{"field": "agent", "operator": "equals", "value": b.agent.ID}},
			"actions": []map[string]any{{"type": "add_label", "value": "trainee"}, {"type": "notify", "value": b.supervisor.ID},
				{"type": "send_message", "value": "{{agent_first_name}} is with you now."}}},
		{"name": "Taken", "event": "conversation_assigned", "actions": []map[string]any{{"type": "set_priority", "value": "3"}}},
	}
	if st, body := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}); st != 200 {
		t.Fatalf("saving the rules: %d %s", st, body)
	}
	bad := []map[string]any{{"name": "Ping-pong", "event": "conversation_assigned", "actions": []map[string]any{{"type": "assign_agent", "value": b.supervisor.ID}}}}
	if st, body := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": bad}); st != 400 || !strings.Contains(string(body), "cannot run when a conversation is assigned") {
		t.Fatalf("assign_agent on assignment: %d %s", st, body)
	}

	take := func(who *parley.User) string {
		t.Helper()
		v := ts.newVisitor(t, b.account.ID)
		conv := v.open(t)
		v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Hello?"}, nil)
		if st, body := ts.login(t, who).raw("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil); st != 200 {
			t.Fatalf("accept: %d %s", st, body)
		}
		waitFor(t, func() bool {
			c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv.ID)
			return c.Priority == 3 // the second rule ran, so the first was weighed
		})
		return conv.ID
	}
	mine := take(b.agent)
	c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, mine)
	if !slices.Equal(c.Labels, []string{"trainee"}) {
		t.Fatalf("the trainee's conversation: labels %q", c.Labels)
	}
	var said []string
	for _, m := range mustMessages(t, ts, b.account.ID, mine) {
		said = append(said, m.Text)
	}
	if !slices.Contains(said, "agent is with you now.") {
		t.Fatalf("the visitor was not greeted by the agent's name: %q", said)
	}
	notes, _ := ts.Store.ListNotes(t.Context(), b.account.ID, mine)
	if len(notes) != 1 || !slices.Contains(notes[0].Mentions, b.supervisor.ID) {
		t.Fatalf("notes: %+v; want one mentioning the supervisor", notes)
	}
	theirs := take(b.supervisor)
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, theirs); len(c.Labels) != 0 {
		t.Fatalf("the supervisor's conversation: labels %q; want none", c.Labels)
	}
}

// TestTheConsoleSaysARuleOnOverdueRepliesNeedsATarget: a rule on
// reply_overdue in a brand without a reply target never runs, and the
// rules list says so, naming where the target is set; with one, it says
// nothing.
func TestTheConsoleSaysARuleOnOverdueRepliesNeedsATarget(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	rules := []map[string]any{{"name": "Late", "event": "reply_overdue", "actions": []map[string]any{{"type": "set_priority", "value": "10"}}}}
	if st, body := ts.login(t, b.admin).raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": rules}); st != 200 {
		t.Fatalf("saving the rule: %d %s", st, body)
	}
	admin := adminTab(t, ts, b)
	rulesText := func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".auto-rules").textContent`)
	}
	waitFor(t, func() bool {
		return strings.Contains(rulesText(), "When the visitor waits past the reply target: set the priority Urgent. It never runs until a reply target is set (Routing and hours).")
	}, rulesText)
	// With a target (the Routing and hours form), the warning goes.
	admin.do(chromedp.SetValue(chromedp.CSS(".account-settings [name=target]"), "300"))
	admin.press(".account-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), b.account.ID)
		return acc.Settings.ResponseTargetSeconds == 300 && !strings.Contains(rulesText(), "never runs")
	}, rulesText)
}
