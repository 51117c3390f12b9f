package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

var demoFields = []map[string]any{
	{"key": "order_number", "label": "Order number", "type": "text", "required": true},
	{"key": "amount", "label": "Amount", "type": "number"},
	{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Delivery", "Damaged"}},
	{"key": "refund", "label": "Refund issued", "type": "checkbox"},
	{"key": "follow_up", "label": "Follow up on", "type": "date"},
}

func TestConversationFieldsAreDefinedFilledAndRequired(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.withKey(t, b.apiKey)
	for name, bad := range map[string][]map[string]any{
		"key":          {{"key": "Order Number", "label": "x", "type": "text"}},
		"twice":        {{"key": "a", "label": "x", "type": "text"}, {"key": "a", "label": "y", "type": "text"}},
		"type":         {{"key": "a", "label": "x", "type": "colour"}},
		"no label":     {{"key": "a", "label": " ", "type": "text"}},
		"list":         {{"key": "a", "label": "x", "type": "list"}},
		"options":      {{"key": "a", "label": "x", "type": "text", "options": []string{"y"}}},
		"option twice": {{"key": "a", "label": "x", "type": "list", "options": []string{"y", "y"}}},
	} {
		if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"conversation_fields": bad}); st != 400 || errorCode(raw) != parley.EINVALID {
			t.Fatalf("%s: %d %s", name, st, raw)
		}
	}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"conversation_fields": demoFields}); st != 200 {
		t.Fatalf("fields: %d %s", st, raw)
	}
	agent := ts.login(t, b.agent)
	var settings struct {
		ConversationFields []parley.ConversationField `json:"conversation_fields"`
	}
	if st := agent.do("GET", "/api/v1/account-settings", nil, &settings); st != 200 || len(settings.ConversationFields) != 5 {
		t.Fatalf("the agent reads the definitions: %d %+v", st, settings)
	}

	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	path := "/api/v1/conversations/" + conv.ID + "/fields"
	var c parley.Conversation
	if st := agent.do("PATCH", path, map[string]any{"order_number": " A-1042 ", "amount": 19.99, "reason": "Sizing", "refund": true, "follow_up": "2026-12-03"}, &c); st != 200 ||
		c.Fields["order_number"] != "A-1042" || c.Fields["amount"] != "19.99" || c.Fields["refund"] != "true" || c.Fields["follow_up"] != "2026-12-03" || c.Fields["reason"] != "Sizing" {
		t.Fatalf("set: %d %+v", st, c.Fields)
	}
	// Cleared by null or "", the others stay.
	c = parley.Conversation{} // decoding into a map adds to it
	if st := agent.do("PATCH", path, map[string]any{"amount": nil, "refund": ""}, &c); st != 200 || len(c.Fields) != 3 || c.Fields["order_number"] != "A-1042" {
		t.Fatalf("cleared: %d %+v", st, c.Fields)
	}
	// A card number typed in a text field is masked like a message.
	if st := agent.do("PATCH", path, map[string]any{"order_number": "paid with 4111 1111 1111 1111"}, &c); st != 200 || strings.Contains(c.Fields["order_number"], "4111 1111 1111 1111") {
		t.Fatalf("masked: %d %+v", st, c.Fields)
	}
	for name, bad := range map[string]map[string]any{
		"unknown key": {"colour": "red"},
		"number":      {"amount": "twelve"},
		"option":      {"reason": "Boredom"},
		"checkbox":    {"refund": "maybe"},
		"date":        {"follow_up": "03/12/2026"},
		"long text":   {"order_number": strings.Repeat("x", 501)},
		"object":      {"order_number": map[string]any{"a": 1}},
		"nothing":     {},
	} {
		if st, raw := agent.raw("PATCH", path, bad); st != 400 || errorCode(raw) != parley.EINVALID {
			t.Fatalf("%s: %d %s", name, st, raw)
		}
	}
	// Visitors neither set nor see them.
	if st, _ := v.raw("PATCH", path, map[string]any{"order_number": "mine"}); st != 403 {
		t.Fatalf("a visitor set a field: %d", st)
	}
	var seen map[string]any
	v.do("GET", "/api/v1/conversations/"+conv.ID, nil, &seen)
	if _, ok := seen["fields"]; ok {
		t.Fatalf("the visitor sees the fields: %v", seen)
	}
	// Another brand's conversation is not found.
	other := seedBrand(t, ts, "Other")
	if st, _ := ts.login(t, other.agent).raw("PATCH", path, map[string]any{"order_number": "x"}); st != 404 {
		t.Fatalf("another brand's agent: %d", st)
	}
	waitEvents(t, ts, b.account.ID, parley.EventConversationFields, 3)

	// Required to close: a person must fill it in; the visitor need not.
	second := v.open(t)
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+second.ID+"/close", map[string]any{"reason": "resolved"}); st != 400 || !strings.Contains(string(raw), "Order number") {
		t.Fatalf("closed without the order number: %d %s", st, raw)
	}
	agent.do("PATCH", "/api/v1/conversations/"+second.ID+"/fields", map[string]any{"order_number": "A-2000"}, nil)
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+second.ID+"/close", map[string]any{"reason": "resolved"}); st != 200 {
		t.Fatalf("close: %d %s", st, raw)
	}
	third := v.open(t)
	if st, raw := v.raw("POST", "/api/v1/conversations/"+third.ID+"/close", map[string]any{"reason": "ended_by_visitor"}); st != 200 {
		t.Fatalf("the visitor ends theirs: %d %s", st, raw)
	}
	// A closed conversation takes its details after (wrap-up).
	if st := agent.do("PATCH", "/api/v1/conversations/"+second.ID+"/fields", map[string]any{"reason": "Delivery"}, &c); st != 200 || c.Fields["reason"] != "Delivery" {
		t.Fatalf("after the close: %d %+v", st, c.Fields)
	}
	// The inbox keeps the conversations whose fields hold a value, and a
	// search by staff finds a value; visitors can do neither.
	list := func(as *client, query string) []string {
		t.Helper()
		var page struct {
			Conversations []parley.Conversation `json:"conversations"`
		}
		if st, raw := as.raw("GET", "/api/v1/conversations?"+query, nil); st != 200 {
			t.Fatalf("%s: %d %s", query, st, raw)
		} else if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range page.Conversations {
			ids = append(ids, c.ID)
		}
		return ids
	}
	for query, want := range map[string][]string{
		"field[reason]=Delivery":                            {second.ID},
		"field[reason]=Delivery&field[order_number]=A-2000": {second.ID},
		"field[reason]=Delivery&field[order_number]=A-1042": nil,
		"field[reason]=Sizing":                              {conv.ID},
		"field[reason]=Sizing&state=closed":                 nil,
		"q=a-2000":                                          {second.ID},
		"q=order_number":                                    nil,
	} {
		if got := list(agent, query); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
	if got := list(v.client, "q=A-2000"); len(got) != 0 {
		t.Errorf("a visitor's search finds a field's value: %v", got)
	}
	if st, raw := v.raw("GET", "/api/v1/conversations?field[reason]=Delivery", nil); st != 403 || errorCode(raw) != parley.EFORBIDDEN {
		t.Errorf("a visitor filters by a field: %d %s", st, raw)
	}
	for _, bad := range []string{"field[colour]=red", "field[reason]=Boredom", "field[refund]=maybe", "field[reason]=", "field[]=x", "field[reason=Sizing", "field[reason]=Sizing&field[reason]=Delivery"} {
		if st, raw := agent.raw("GET", "/api/v1/conversations?"+bad, nil); st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), "field[") {
			t.Errorf("%s: %d %s", bad, st, raw)
		}
	}

	// The metrics count conversations by each option of a list or
	// checkbox field, as it is now: the first conversation's refund was
	// cleared, and text, numbers and dates are never counted.
	var report struct {
		Fields []struct {
			Key, Label, Value string
			Conversations     int
			Closed            int
		}
	}
	if st := ts.login(t, b.supervisor).do("GET", "/api/v1/metrics", nil, &report); st != 200 {
		t.Fatalf("metrics: %d", st)
	}
	var rows []string
	for _, f := range report.Fields {
		rows = append(rows, fmt.Sprintf("%s %s=%s %d/%d", f.Label, f.Key, f.Value, f.Conversations, f.Closed))
	}
	if got := strings.Join(rows, "; "); got != "Reason reason=Delivery 1/1; Reason reason=Sizing 1/0" {
		t.Errorf("metrics by field: %s", got)
	}

	// The export carries them, a JSON object per conversation.
	day := time.Now().UTC()
	st, raw := admin.raw("GET", "/api/v1/exports/conversations?format=csv&from="+day.AddDate(0, 0, -1).Format(time.DateOnly)+"&to="+day.AddDate(0, 0, 1).Format(time.DateOnly), nil)
	if lines := strings.Split(string(raw), "\n"); st != 200 || !strings.HasSuffix(lines[0], ",labels,engagement,fields") ||
		!strings.Contains(string(raw), `"{""order_number"":""A-2000"",""reason"":""Delivery""}"`) {
		t.Fatalf("export: %d %s", st, raw)
	}
}

// An admin defines the fields in the console; an agent fills them in
// beside the conversation and cannot close it before the required one.
func TestAnAgentRecordsConversationFieldsInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"client_id": "c1", "type": "text", "text": "My boots came in the wrong size"}, nil)

	admin := adminTab(t, ts, brand)
	row := func(i int, label, typ, options string, required bool) {
		admin.press(".add-field-def")
		sel := fmt.Sprintf(".field-defs tbody tr:nth-child(%d) ", i)
		admin.do(chromedp.WaitVisible(chromedp.CSS(sel + "[name=label]")))
		admin.do(chromedp.SendKeys(chromedp.CSS(sel+"[name=label]"), label), chromedp.SetValue(chromedp.CSS(sel+"[name=type]"), typ))
		if options != "" {
			admin.do(chromedp.SendKeys(chromedp.CSS(sel+"[name=options]"), options))
		}
		if required {
			admin.press(sel + "[name=required]")
		}
	}
	row(1, "Order number", "text", "", true)
	row(2, "Reason", "list", "Sizing, Delivery, Damaged", false)
	row(3, "Refund issued", "checkbox", "", false)
	admin.press(".fields-form [type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return len(acc.Settings.ConversationFields) == 3
	})
	acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
	if f := acc.Settings.ConversationFields; f[0].Key != "order_number" || !f[0].Required || f[1].Key != "reason" || len(f[1].Options) != 3 || f[2].Type != "checkbox" {
		t.Fatalf("saved: %+v", f)
	}

	agent := consoleLogin(t, ts, brand.agent, ".items")
	agent.openFirst("queued")
	agent.press(".accept")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".conv-fields [name=order_number]")))
	if problems := accessibilityProblems(t, agent.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the conversation with its fields: %s", strings.Join(problems, "\n"))
	}
	// Closing first: refused, and the required field gets the focus.
	waitFor(t, func() bool {
		return evalIn[string](t, agent.ctx, `document.querySelector(".conv-state").textContent`) != "queued"
	})
	agent.press(".close")
	waitFor(t, func() bool {
		return evalIn[string](t, agent.ctx, `document.activeElement.name || ""`) == "order_number" &&
			strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".toast").textContent`), "Fill in Order number first")
	})
	agent.do(chromedp.SendKeys(chromedp.CSS(".conv-fields [name=order_number]"), "A-1042\t"),
		chromedp.SetValue(chromedp.CSS(".conv-fields [name=reason]"), "Sizing"))
	evalIn[bool](t, agent.ctx, `document.querySelector(".conv-fields [name=reason]").dispatchEvent(new Event("change")), true`)
	agent.press(".conv-fields [name=refund_issued]")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.Fields["order_number"] == "A-1042" && c.Fields["reason"] == "Sizing" && c.Fields["refund_issued"] == "true"
	}, func() string {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return fmt.Sprintf("%v; %s", c.Fields, evalIn[string](t, agent.ctx, `document.querySelector(".conv-fields-status").textContent`))
	})
	agent.shot("fields")

	// Another of the agent's conversations, for another reason: the
	// inbox's details filter and its search tell the two apart.
	other := ts.newVisitor(t, brand.account.ID).open(t)
	api := ts.login(t, brand.agent)
	if st, raw := api.raw("POST", "/api/v1/conversations/"+other.ID+"/accept", nil); st != 200 {
		t.Fatalf("accept: %d %s", st, raw)
	}
	api.do("PATCH", "/api/v1/conversations/"+other.ID+"/fields", map[string]any{"order_number": "B-7", "reason": "Delivery"}, nil)
	listed := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".items li")].map((li) => li.dataset.id).sort().join(" ")`)
	}
	both := strings.Join(slices.Sorted(slices.Values([]string{conv.ID, other.ID})), " ")
	agent.do(chromedp.Click(chromedp.CSS("[data-tab=mine]")))
	waitFor(t, func() bool { return listed() == both }, listed)
	agent.do(chromedp.SetValue(chromedp.CSS(".field-filter"), `["reason","Sizing"]`))
	evalIn[bool](t, agent.ctx, `document.querySelector(".field-filter").dispatchEvent(new Event("change")), true`)
	waitFor(t, func() bool { return listed() == conv.ID }, listed)
	if got := evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".field-filter option")].map((o) => o.textContent).join("|")`); got != "Any details|Reason: Sizing|Reason: Delivery|Reason: Damaged|Refund issued: yes" {
		t.Fatalf("the details filter offers %q", got)
	}
	agent.do(chromedp.SetValue(chromedp.CSS(".field-filter"), ""), chromedp.SendKeys(chromedp.CSS(".search"), "b-7"))
	evalIn[bool](t, agent.ctx, `document.querySelector(".field-filter").dispatchEvent(new Event("change")), true`)
	waitFor(t, func() bool { return listed() == other.ID }, listed)
	evalIn[bool](t, agent.ctx, `(() => { const q = document.querySelector(".search"); q.value = ""; return q.dispatchEvent(new Event("input")) })()`)
	waitFor(t, func() bool { return listed() == both }, listed)
	agent.press(".items li[data-id=" + conv.ID + "]")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".items li[data-id=" + conv.ID + "][aria-current=true]")))
	agent.press(".close")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.State == parley.StateClosed
	})

	// The dashboard counts conversations by reason and refund.
	admin.press("[data-tab=dash]")
	rows := `[...document.querySelectorAll(".dash-fields tbody tr")].map(r => [...r.children].slice(0, 4).map(c => c.textContent).join(",")).join("|")`
	waitFor(t, func() bool {
		return evalIn[string](t, admin.ctx, rows) == "Reason,Delivery,1,0|Reason,Sizing,1,1|Refund issued,yes,1,1"
	}, func() string { return evalIn[string](t, admin.ctx, rows) })
	if problems := accessibilityProblems(t, admin.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the dashboard: %s", strings.Join(problems, "\n"))
	}
	admin.shot("dashboard")
}

// A supervisor picks conversations in the inbox and sets one detail on
// all of them at once ("Reason: Delivery" after a carrier's bad day).
func TestASupervisorSetsADetailOnManyConversations(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{
		"conversation_fields": []map[string]any{{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Delivery"}}}}, nil)
	var ids []string
	for range 3 {
		ids = append(ids, ts.newVisitor(t, brand.account.ID).open(t).ID)
	}
	sup := consoleLogin(t, ts, brand.supervisor, ".items li")
	waitFor(t, func() bool { return evalIn[int](t, sup.ctx, `document.querySelectorAll(".items li").length`) == 3 })
	for _, id := range ids[:2] {
		sup.press(`.items li[data-id="` + id + `"] .pick`)
	}
	if problems := accessibilityProblems(t, sup.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the bulk bar: %s", strings.Join(problems, "\n"))
	}
	evalIn[bool](t, sup.ctx, `(() => { const s = document.querySelector(".bulk-field"); s.value = '["reason","Delivery"]'; return s.dispatchEvent(new Event("change")) })()`)
	reason := func(id string) string {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, id)
		return c.Fields["reason"]
	}
	waitFor(t, func() bool { return reason(ids[0]) == "Delivery" && reason(ids[1]) == "Delivery" })
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, sup.ctx, `document.querySelector(".toast").textContent`), "Reason: Delivery set: 2 done")
	})
	if got := reason(ids[2]); got != "" {
		t.Fatalf("the conversation not picked has %q", got)
	}
}
