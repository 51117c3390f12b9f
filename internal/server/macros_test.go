package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

// An agent applies a macro: label, priority, a message to the visitor, a
// note for colleagues and the close, in one call, as themself; retried
// with the same client ID it sends nothing twice. Only the conversation's
// agent (or a supervisor) applies one; a step the brand's rules refuse
// stops the macro and names the step.
func TestAnAgentAppliesAMacro(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	macros := []map[string]any{
		{"name": "Refund approved", "steps": []map[string]any{{"type": "add_label", "value": "billing"}, {"type": "set_priority", "value": "5"},
			{"type": "send_message", "value": "{{visitor_first_name|Hello}}, your refund is on its way. {{agent_first_name}}"}, {"type": "add_note", "value": "Refunded by macro"}, {"type": "close", "value": "refunded"}}},
		{"name": "Just close", "steps": []map[string]any{{"type": "close"}}},
	}
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "billing"}}, "macros": macros}, nil)
	for _, bad := range []struct {
		macros []map[string]any
		want   string
	}{
		{[]map[string]any{{"name": "x", "steps": []map[string]any{{"type": "close"}, {"type": "add_note", "value": "late"}}}}, "macros[0].steps[0]: close must be the last step"},
		{[]map[string]any{{"name": "x", "steps": []map[string]any{{"type": "add_label", "value": "nope"}}}}, "macros[0].steps[0].value"},
		{[]map[string]any{{"name": "x", "steps": []map[string]any{}}}, "macros[0].steps: a macro has 1 to 10 steps"},
		{[]map[string]any{{"name": "x", "steps": []map[string]any{{"type": "set_skill", "value": "skl_x"}}}}, "macros[0].steps[0].type"},
	} {
		if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"macros": bad.macros}); st != 400 || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("%v: %d %s", bad.macros, st, raw)
		}
	}

	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	v.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Zoe Adams"}, nil)
	agent := ts.login(t, b.agent)
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+conv.ID+"/macro", map[string]any{"name": "Refund approved"}); st != 403 {
		t.Fatalf("a macro on a conversation the agent does not hold: %d %s", st, raw)
	}
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	if st, _ := agent.raw("POST", "/api/v1/conversations/"+conv.ID+"/macro", map[string]any{"name": "No such macro"}); st != 404 {
		t.Fatal("an unknown macro was applied")
	}
	var res struct {
		Conversation parley.Conversation
		Steps        []string
	}
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/macro", map[string]any{"name": "refund APPROVED", "client_id": "m-1"}, &res)
	c := res.Conversation
	if len(res.Steps) != 5 || c.State != parley.StateClosed || c.CloseReason != "refunded" || c.Priority != 5 || len(c.Labels) != 1 {
		t.Fatalf("after the macro: %+v", res)
	}
	sent := 0
	for _, m := range mustMessages(t, ts, b.account.ID, conv.ID) {
		if m.Text == "Zoe, your refund is on its way. agent" && m.SenderKind == parley.SenderAgent && m.SenderID == b.agent.ID {
			sent++
		}
	}
	notes, _ := ts.Store.ListNotes(t.Context(), b.account.ID, conv.ID)
	if sent != 1 || len(notes) != 1 || notes[0].AuthorID != b.agent.ID {
		t.Fatalf("messages sent %d, notes %+v", sent, notes)
	}
	if st, _ := agent.raw("POST", "/api/v1/conversations/"+conv.ID+"/macro", map[string]any{"name": "Just close"}); st != 409 {
		t.Fatal("a macro ran on a closed conversation")
	}
	// Its answer lost, the agent's console retries with the same client
	// ID: the first answer again, though the macro closed the
	// conversation, and nothing runs twice. A colleague's request with
	// the same client ID is not that retry.
	var again struct {
		Conversation parley.Conversation
		Steps        []string
		Replayed     bool
	}
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/macro", map[string]any{"name": "Refund approved", "client_id": "m-1"}, &again)
	if !again.Replayed || !slices.Equal(again.Steps, res.Steps) || again.Conversation.ID != conv.ID || again.Conversation.State != parley.StateClosed {
		t.Fatalf("the retried macro: %+v; want the first answer, replayed", again)
	}
	if st, raw := ts.login(t, b.supervisor).raw("POST", "/api/v1/conversations/"+conv.ID+"/macro", map[string]any{"name": "Refund approved", "client_id": "m-1"}); st != 409 {
		t.Fatalf("a colleague's macro with the agent's client ID: %d %s; want 409 (closed)", st, raw)
	}
	sent = 0
	for _, m := range mustMessages(t, ts, b.account.ID, conv.ID) {
		if m.SenderKind == parley.SenderAgent {
			sent++
		}
	}
	if notes, _ := ts.Store.ListNotes(t.Context(), b.account.ID, conv.ID); sent != 1 || len(notes) != 1 {
		t.Fatalf("after the retry: %d messages, %d notes; want 1 and 1", sent, len(notes))
	}
	activity, err := ts.Store.ConversationActivity(t.Context(), b.account.ID, conv.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var applied []parley.MacroApplied
	for _, e := range activity {
		if e.Type == parley.EventMacroApplied {
			var d parley.MacroApplied
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			applied = append(applied, d)
		}
	}
	if len(applied) != 1 || applied[0].Macro != "Refund approved" || applied[0].By != b.agent.ID || applied[0].ClientID != "m-1" || len(applied[0].Steps) != 5 {
		t.Fatalf("macro.applied records: %+v; want one, the agent's", applied)
	}

	// The brand requires a label to close: a macro that closes without one
	// stops at that step, naming it.
	admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels_required": true}, nil)
	conv2 := ts.newVisitor(t, b.account.ID).open(t)
	agent.do("POST", "/api/v1/conversations/"+conv2.ID+"/accept", nil, nil)
	st, raw := agent.raw("POST", "/api/v1/conversations/"+conv2.ID+"/macro", map[string]any{"name": "Just close"})
	if st != 400 || !strings.Contains(string(raw), `step 1 (close)`) {
		t.Fatalf("a close the brand refuses: %d %s", st, raw)
	}
	// A supervisor may apply one to an agent's conversation.
	sup := ts.login(t, b.supervisor)
	if st, raw := sup.raw("POST", "/api/v1/conversations/"+conv2.ID+"/macro", map[string]any{"name": "Refund approved"}); st != 200 {
		t.Fatalf("a supervisor's macro: %d %s", st, raw)
	}

	// A close the brand would refuse is known before the first step: the
	// visitor is never told "closing now" by a macro that cannot close.
	tellAndClose := map[string]any{"name": "Tell and close", "steps": []map[string]any{
		{"type": "add_label", "value": "billing"}, {"type": "send_message", "value": "All done, closing now."}, {"type": "close"}}}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"macros": append(macros, tellAndClose),
		"conversation_fields": []map[string]any{{"key": "order_number", "label": "Order number", "type": "text", "required": true}}}); st != 200 {
		t.Fatalf("settings: %d %s", st, raw)
	}
	conv3 := ts.newVisitor(t, b.account.ID).open(t)
	agent.do("POST", "/api/v1/conversations/"+conv3.ID+"/accept", nil, nil)
	st, raw = agent.raw("POST", "/api/v1/conversations/"+conv3.ID+"/macro", map[string]any{"name": "Tell and close"})
	if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), "step 3 (close)") || !strings.Contains(string(raw), "Order number") || !strings.Contains(string(raw), "nothing was done") {
		t.Fatalf("a close refused for a required field: %d %s", st, raw)
	}
	for _, m := range mustMessages(t, ts, b.account.ID, conv3.ID) {
		if m.SenderKind == parley.SenderAgent {
			t.Fatalf("the refused macro sent %q", m.Text)
		}
	}
	if c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, conv3.ID); len(c.Labels) != 0 {
		t.Fatalf("the refused macro labelled it: %v", c.Labels)
	}
	// Filled in, the same macro runs to the end.
	agent.do("PATCH", "/api/v1/conversations/"+conv3.ID+"/fields", map[string]any{"order_number": "A-7"}, nil)
	if st, raw := agent.raw("POST", "/api/v1/conversations/"+conv3.ID+"/macro", map[string]any{"name": "Tell and close"}); st != 200 {
		t.Fatalf("after the field: %d %s", st, raw)
	}
}

// An admin writes a macro in the Admin tab; an agent applies it from the
// conversation's header, and the conversation ends labelled and closed.
func TestAnAgentAppliesAMacroInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]any{{"name": "billing"}}}, nil)
	admin := adminTab(t, ts, brand)
	admin.do(chromedp.SendKeys(chromedp.CSS(".macro-form [name=macroname]"), "Refund approved"))
	admin.press(".macro-add-step")
	admin.do(chromedp.SetValue(chromedp.CSS(".macro-step:nth-of-type(2) [name=type]"), "close"))
	if err := chromedp.Do(admin.ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector(".macro-step:nth-of-type(2) [name=type]").dispatchEvent(new Event("change"))`)); err != nil {
		t.Fatal(err)
	}
	admin.do(chromedp.SendKeys(chromedp.CSS(".macro-step:nth-of-type(2) input[name=value]"), "refunded"))
	admin.press(".macro-form button[type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".macro-list").textContent`), "add the label billing, then close, with the reason “refunded”.")
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".macro-list").textContent + " | " + document.querySelector(".admin-error").textContent`)
	})

	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "my refund?"}, nil)
	ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	agent := consoleLogin(t, ts, brand.agent, ".app")
	agent.openFirst("mine")
	agent.do(chromedp.WaitVisible(chromedp.CSS(".macro")))
	if got := evalIn[string](t, agent.ctx, `(() => { const s = document.querySelector(".macro"); s.value = "Refund approved";
		s.dispatchEvent(new Event("change")); return [...s.options].map((o) => o.value).join("|") })()`); got != "|Refund approved" {
		t.Fatalf("the macro menu offers %q", got)
	}
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.State == parley.StateClosed && c.CloseReason == "refunded" && len(c.Labels) == 1
	})
	waitFor(t, func() bool {
		return strings.HasPrefix(evalIn[string](t, agent.ctx, `document.querySelector(".conv-state").textContent`), "closed")
	})
	// The Activity says who applied which macro and what it did.
	agent.press(".show-activity")
	lines := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".activity li")].map((li) => li.textContent).join(" | ")`)
	}
	waitFor(t, func() bool {
		return strings.Contains(lines(), "Macro “Refund approved” by "+brand.agent.Name+": add_label: done; close: done")
	}, lines)
}
