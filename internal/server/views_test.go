package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// A person saves inbox views — a list and the label, details and search
// that narrow it — and finds them again; they are theirs alone, and a
// bad one is refused naming its part, changing nothing.
func TestAPersonSavesInboxViews(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	ts.login(t, b.admin).do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "billing"}},
		"conversation_fields": []map[string]any{{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Damaged"}},
			{"key": "refund", "label": "Refund", "type": "checkbox"}}}, nil)
	agent := ts.login(t, b.agent)
	type views struct {
		Views []parley.InboxView `json:"views"`
	}
	var got views
	if st := agent.do("GET", "/api/v1/me/views", nil, &got); st != 200 || got.Views == nil || len(got.Views) != 0 {
		t.Fatalf("no views yet: %d %+v", st, got)
	}
	mine := []map[string]any{
		{"name": " Damaged, to refund ", "tab": "mine", "label": "billing", "fields": map[string]string{"reason": "Damaged", "refund": "TRUE"}, "q": " boots "},
		{"name": "Waiting", "tab": "queued"},
	}
	if st, raw := agent.raw("PUT", "/api/v1/me/views", map[string]any{"views": mine}); st != 200 {
		t.Fatalf("save: %d %s", st, raw)
	}
	agent.do("GET", "/api/v1/me/views", nil, &got)
	if v := got.Views; len(v) != 2 || v[0].Name != "Damaged, to refund" || v[0].Query != "boots" || v[0].Fields["refund"] != "true" || v[0].Label != "billing" || v[1].Tab != "queued" {
		t.Fatalf("stored: %+v", v)
	}
	// Theirs alone: a colleague has none, and the user's JSON has none.
	var other views
	if ts.login(t, b.supervisor).do("GET", "/api/v1/me/views", nil, &other); len(other.Views) != 0 {
		t.Fatalf("a colleague sees them: %+v", other.Views)
	}
	if st, raw := ts.login(t, b.admin).raw("GET", "/api/v1/users/"+b.agent.ID, nil); st != 200 || strings.Contains(string(raw), "Damaged") {
		t.Fatalf("the user's JSON: %d %s", st, raw)
	}
	for name, bad := range map[string]struct {
		views []map[string]any
		want  string
	}{
		"no name":       {[]map[string]any{{"name": " ", "tab": "mine"}}, "views[0].name"},
		"twice":         {[]map[string]any{{"name": "A", "tab": "mine"}, {"name": "a", "tab": "open"}}, "views[1].name: another view"},
		"a tab":         {[]map[string]any{{"name": "A", "tab": "dashboard"}}, "views[0].tab"},
		"a field":       {[]map[string]any{{"name": "A", "tab": "mine", "fields": map[string]string{"colour": "red"}}}, "views[0].fields.colour"},
		"a value":       {[]map[string]any{{"name": "A", "tab": "mine", "fields": map[string]string{"reason": "Boredom"}}}, "views[0].fields.reason"},
		"a label":       {[]map[string]any{{"name": "A", "tab": "mine", "label": "Not A Label"}}, "views[0].label"},
		"a long search": {[]map[string]any{{"name": "A", "tab": "mine", "q": strings.Repeat("x", 201)}}, "views[0].q"},
		"no list":       {nil, "give the whole list"},
	} {
		body := map[string]any{"views": bad.views}
		if bad.views == nil {
			body = map[string]any{}
		}
		if st, raw := agent.raw("PUT", "/api/v1/me/views", body); st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), bad.want) {
			t.Errorf("%s: %d %s", name, st, raw)
		}
	}
	tooMany := make([]map[string]any, parley.MaxInboxViews+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"name": strings.Repeat("v", i+1), "tab": "mine"}
	}
	if st, _ := agent.raw("PUT", "/api/v1/me/views", map[string]any{"views": tooMany}); st != 400 {
		t.Errorf("21 views: %d", st)
	}
	if agent.do("GET", "/api/v1/me/views", nil, &got); len(got.Views) != 2 {
		t.Fatalf("a refused save changed them: %+v", got.Views)
	}
	// A visitor and an API key have no views.
	if st, _ := ts.newVisitor(t, b.account.ID).raw("GET", "/api/v1/me/views", nil); st != 403 {
		t.Errorf("a visitor: %d", st)
	}
	if st, _ := ts.withKey(t, b.apiKey).raw("PUT", "/api/v1/me/views", map[string]any{"views": []any{}}); st != 403 {
		t.Errorf("an API key: %d", st)
	}
	if st := agent.do("PUT", "/api/v1/me/views", map[string]any{"views": []any{}}, &got); st != 200 || len(got.Views) != 0 {
		t.Fatalf("all removed: %d %+v", st, got)
	}
}

// An agent saves the inbox as they filtered it, leaves it, and gets it
// back by choosing the view — after a reload too; then removes it.
func TestAnAgentSavesAndReopensAnInboxView(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{
		"conversation_fields": []map[string]any{{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Damaged"}}}}, nil)
	api := ts.login(t, brand.agent)
	open := func(reason string) string {
		t.Helper()
		c := ts.newVisitor(t, brand.account.ID).open(t)
		api.do("POST", "/api/v1/conversations/"+c.ID+"/accept", nil, nil)
		if st := api.do("PATCH", "/api/v1/conversations/"+c.ID+"/fields", map[string]any{"reason": reason}, nil); st != 200 {
			t.Fatalf("fields: %d", st)
		}
		return c.ID
	}
	damaged, sizing := open("Damaged"), open("Sizing")

	agent := consoleLogin(t, ts, brand.agent, ".items")
	listed := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".items li")].map((li) => li.dataset.id).sort().join(" ")`)
	}
	choose := func(sel, value, event string) {
		t.Helper()
		evalIn[bool](t, agent.ctx, `(() => { const s = document.querySelector("`+sel+`"); s.value = `+strconv.Quote(value)+`; return s.dispatchEvent(new Event("`+event+`")) })()`)
	}
	agent.press("[data-tab=mine]")
	waitFor(t, func() bool { // the details filter is filled once the settings are read
		choose(".field-filter", `["reason","Damaged"]`, "change")
		return evalIn[string](t, agent.ctx, `document.querySelector(".field-filter").value`) != ""
	})
	waitFor(t, func() bool { return listed() == damaged }, listed)
	agent.press(".save-view")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".view-form [name=viewname]")), chromedp.SendKeys(chromedp.CSS(".view-form [name=viewname]"), "Damaged goods"))
	agent.press(".view-form [type=submit]")
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.agent.ID)
		return len(u.Views) == 1 && u.Views[0].Name == "Damaged goods" && u.Views[0].Tab == "mine" && u.Views[0].Fields["reason"] == "Damaged"
	})
	if problems := accessibilityProblems(t, agent.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the inbox with its views: %s", strings.Join(problems, "\n"))
	}

	// Elsewhere, then back through the view, after a reload.
	choose(".field-filter", "", "change")
	agent.press("[data-tab=queued]")
	agent.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".items")))
	waitFor(t, func() bool {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".view-select option")].map((o) => o.textContent).join("|")`) == "Saved views…|Damaged goods"
	})
	choose(".view-select", "me:Damaged goods", "change")
	waitFor(t, func() bool {
		return listed() == damaged && evalIn[string](t, agent.ctx, `document.querySelector("[data-tab=mine]").getAttribute("aria-selected")`) == "true"
	}, listed)
	agent.shot("view")
	// Changing a filter leaves the view; removing it forgets it.
	choose(".field-filter", `["reason","Sizing"]`, "change")
	waitFor(t, func() bool { return listed() == sizing }, listed)
	if got := evalIn[string](t, agent.ctx, `document.querySelector(".view-select").value`); got != "" {
		t.Fatalf("the view stays chosen after a change: %q", got)
	}
	choose(".view-select", "me:Damaged goods", "change")
	agent.press(".remove-view")
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.agent.ID)
		return len(u.Views) == 0
	})
}

// An admin shares a view with the team: every person finds it beside
// their own, only admins remove it, and a field it filters on cannot be
// removed from under it.
func TestAnAdminSharesAViewWithTheTeam(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	adminAPI := ts.login(t, brand.admin)
	fields := []map[string]any{{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Damaged"}}}
	adminAPI.do("PATCH", "/api/v1/account-settings", map[string]any{"conversation_fields": fields}, nil)
	api := ts.login(t, brand.agent)
	open := func(reason string) string {
		t.Helper()
		c := ts.newVisitor(t, brand.account.ID).open(t)
		api.do("POST", "/api/v1/conversations/"+c.ID+"/accept", nil, nil)
		api.do("PATCH", "/api/v1/conversations/"+c.ID+"/fields", map[string]any{"reason": reason}, nil)
		return c.ID
	}
	damaged := open("Damaged")
	open("Sizing")

	admin := consoleLogin(t, ts, brand.admin, ".items")
	admin.press("[data-tab=open]")
	adminListed := func() string {
		return evalIn[string](t, admin.ctx, `[...document.querySelectorAll(".items li")].map((li) => li.dataset.id).join(" ")`)
	}
	waitFor(t, func() bool {
		return evalIn[bool](t, admin.ctx, `(() => { const s = document.querySelector(".field-filter"); s.value = '["reason","Damaged"]'; s.dispatchEvent(new Event("change")); return s.value !== "" })()`)
	})
	waitFor(t, func() bool { return adminListed() == damaged }, adminListed)
	admin.press(".save-view")
	admin.do(chromedp.WaitVisible(chromedp.CSS(".view-form [name=team]")), chromedp.SendKeys(chromedp.CSS(".view-form [name=viewname]"), "Damaged goods"))
	admin.press(".view-form [name=team]")
	admin.press(".view-form [type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		v := acc.Settings.InboxViews
		return len(v) == 1 && v[0].Name == "Damaged goods" && v[0].Tab == "open" && v[0].Fields["reason"] == "Damaged"
	}, func() string {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return fmt.Sprintf("%+v; %s", acc.Settings.InboxViews, evalIn[string](t, admin.ctx, `document.querySelector(".toast").textContent`))
	})
	if u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.admin.ID); len(u.Views) != 0 {
		t.Fatalf("the team's view went to the admin's own: %+v", u.Views)
	}

	// The agent finds it among the team's, and cannot remove it.
	agent := consoleLogin(t, ts, brand.agent, ".items")
	waitFor(t, func() bool {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".view-select optgroup")].map((g) => g.label + ": " + [...g.children].map((o) => o.textContent).join(",")).join("|")`) == "Team views: Damaged goods"
	})
	evalIn[bool](t, agent.ctx, `(() => { const s = document.querySelector(".view-select"); s.value = "team:Damaged goods"; return s.dispatchEvent(new Event("change")) })()`)
	listed := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".items li")].map((li) => li.dataset.id).join(" ")`)
	}
	waitFor(t, func() bool { return listed() == damaged }, listed)
	if hidden := evalIn[bool](t, agent.ctx, `document.querySelector(".remove-view").hidden`); !hidden {
		t.Fatal("an agent is offered to remove the team's view")
	}
	if st, raw := api.raw("PATCH", "/api/v1/account-settings", map[string]any{"inbox_views": []any{}}); st != 403 {
		t.Fatalf("an agent changed the team's views: %d %s", st, raw)
	}

	// Refused: a bad team view, and removing the field it filters on.
	for name, body := range map[string]map[string]any{
		"a field the brand lacks": {"inbox_views": []map[string]any{{"name": "X", "tab": "open", "fields": map[string]string{"colour": "red"}}}},
		"the field, removed":      {"conversation_fields": []any{}},
	} {
		if st, raw := adminAPI.raw("PATCH", "/api/v1/account-settings", body); st != 400 || !strings.Contains(string(raw), "inbox_views[0].fields.") {
			t.Errorf("%s: %d %s", name, st, raw)
		}
	}
	// The admin removes it from the console.
	evalIn[bool](t, admin.ctx, `(() => { const s = document.querySelector(".view-select"); s.value = "team:Damaged goods"; return s.dispatchEvent(new Event("change")) })()`)
	admin.press(".remove-view")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return len(acc.Settings.InboxViews) == 0
	})
}

// A view made through the API may ask for several details, or for a text
// field's value, which the details list does not offer: the console
// applies all of it, says so in the list, and saves it whole again.
func TestAViewOfSeveralDetailsFiltersByEveryOne(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{"conversation_fields": []map[string]any{
		{"key": "reason", "label": "Reason", "type": "list", "options": []string{"Sizing", "Damaged"}},
		{"key": "refund", "label": "Refund issued", "type": "checkbox"}}}, nil)
	api := ts.login(t, brand.agent)
	open := func(fields map[string]any) string {
		t.Helper()
		c := ts.newVisitor(t, brand.account.ID).open(t)
		api.do("POST", "/api/v1/conversations/"+c.ID+"/accept", nil, nil)
		if st := api.do("PATCH", "/api/v1/conversations/"+c.ID+"/fields", fields, nil); st != 200 {
			t.Fatalf("fields: %d", st)
		}
		return c.ID
	}
	both := open(map[string]any{"reason": "Damaged", "refund": true})
	open(map[string]any{"reason": "Damaged"})
	open(map[string]any{"reason": "Sizing", "refund": true})
	view := map[string]any{"name": "Refunded damage", "tab": "mine", "fields": map[string]string{"reason": "Damaged", "refund": "true"}}
	if st, raw := api.raw("PUT", "/api/v1/me/views", map[string]any{"views": []any{view}}); st != 200 {
		t.Fatalf("views: %d %s", st, raw)
	}

	agent := consoleLogin(t, ts, brand.agent, ".items")
	listed := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".items li")].map((li) => li.dataset.id).sort().join(" ")`)
	}
	choose := func(sel, value string) {
		evalIn[bool](t, agent.ctx, `(() => { const s = document.querySelector("`+sel+`"); s.value = `+strconv.Quote(value)+`; return s.dispatchEvent(new Event("change")) })()`)
	}
	agent.press("[data-tab=mine]")
	waitFor(t, func() bool { return len(strings.Fields(listed())) == 3 }, listed)
	choose(".view-select", "me:Refunded damage")
	waitFor(t, func() bool { return listed() == both }, func() string {
		return listed() + " / " + evalIn[string](t, agent.ctx, `document.querySelector(".view-select").value + " / " + document.querySelector(".field-filter").value`)
	})
	shown := evalIn[string](t, agent.ctx, `document.querySelector(".field-filter").selectedOptions[0].textContent`)
	if shown != "Reason: Damaged + Refund issued: yes" {
		t.Fatalf("the details list says %q", shown)
	}

	// Saved again under another name, it keeps both details.
	agent.press(".save-view")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".view-form [name=viewname]")), chromedp.SendKeys(chromedp.CSS(".view-form [name=viewname]"), "Copy"))
	agent.press(".view-form [type=submit]")
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.agent.ID)
		return len(u.Views) == 2 && u.Views[1].Name == "Copy" && len(u.Views[1].Fields) == 2 && u.Views[1].Fields["refund"] == "true"
	}, func() string {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.agent.ID)
		return fmt.Sprintf("%+v", u.Views)
	})

	// Any details: the view's own entry leaves the list, and all three show.
	choose(".field-filter", "")
	waitFor(t, func() bool { return len(strings.Fields(listed())) == 3 }, listed)
	if n := evalIn[int](t, agent.ctx, `document.querySelectorAll(".field-filter option.from-view").length`); n != 0 {
		t.Fatalf("the view's details stay on offer (%d)", n)
	}
	if problems := accessibilityProblems(t, agent.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the inbox with a view's details: %s", strings.Join(problems, "\n"))
	}
}

// A conversation reopened in the console shows its notes where they were
// written — the bot's handoff note after its last words, a colleague's
// note between two replies — not all at the end or the start, whichever
// came back first.
func TestNotesSitInTheirPlaceInTheConversation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	api := ts.login(t, brand.agent)
	v := ts.newVisitor(t, brand.account.ID)
	c := v.open(t)
	api.do("POST", "/api/v1/conversations/"+c.ID+"/accept", nil, nil)
	steps := []struct {
		who        *client
		path, text string
	}{
		{v.client, "/messages", "Where is my parcel?"},
		{api, "/notes", "Checked the carrier: it is in Oslo."},
		{api, "/messages", "It is in Oslo, arriving tomorrow."},
		{v.client, "/messages", "Thanks!"},
		{api, "/notes", "Done, nothing to follow up."},
	}
	for i, s := range steps {
		body := map[string]any{"text": s.text}
		if s.path == "/messages" {
			body["client_id"] = fmt.Sprint("c", i)
		}
		if st := s.who.do("POST", "/api/v1/conversations/"+c.ID+s.path, body, nil); st != 201 {
			t.Fatalf("%s: %d", s.text, st)
		}
	}
	agent := consoleLogin(t, ts, brand.agent, ".items")
	agent.openFirst("mine")
	order := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".messages li")].filter((li) => !li.classList.contains("system")).map((li) => li.className.split(" ")[0]).join(",")`)
	}
	waitFor(t, func() bool { return order() == "consumer,note,agent,consumer,note" }, order)
}
