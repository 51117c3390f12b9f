package server_test

import (
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestAgentsLabelConversationsAndVisitorsNeverSeeIt: an admin defines the
// labels (a bad definition is refused by name and changes nothing); an
// agent labels a conversation (unknown or too many labels refused); the
// inbox hears the change, the visitor's connection and REST reads carry no
// label; the list filters on a label, the metrics count them, the CSV
// export has them; and when labels are required an agent cannot close an
// unlabelled conversation, though the close may carry the labels.
func TestAgentsLabelConversationsAndVisitorsNeverSeeIt(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin, agent := ts.login(t, brand.admin), ts.login(t, brand.agent)

	st, raw := admin.raw("PUT", "/api/v1/account-settings", map[string]any{"labels": []map[string]string{{"name": "billing"}, {"name": "Bug Report"}}})
	if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), "labels[1].name") {
		t.Fatalf("a label with capitals and a space: status %d %s", st, raw)
	}
	var settings struct {
		Labels         []parley.Label `json:"labels"`
		LabelsRequired bool           `json:"labels_required"`
	}
	if admin.do("GET", "/api/v1/account-settings", nil, &settings); settings.Labels == nil || len(settings.Labels) != 0 {
		t.Fatalf("after a refused PUT the labels are %+v, want none ([])", settings.Labels)
	}
	defined := []map[string]string{{"name": "billing", "color": "#1f77b4"}, {"name": "bug"}, {"name": "vip", "description": "Top customers"}}
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"labels": defined}, &settings); st != 200 || len(settings.Labels) != 3 {
		t.Fatalf("defining labels: status %d %+v", st, settings)
	}

	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	visitor := connect(t, ts, v.token, nil)
	visitor.subscribe(conv.ID, 0)
	inbox := agentWS(t, ts, brand.agent)
	inbox.send(`{"type":"subscribe_inbox","id":"inbox"}`)
	inbox.next(reply("inbox"))

	labels := "/api/v1/conversations/" + conv.ID + "/labels"
	for _, bad := range []struct {
		body any
		want string
	}{
		{map[string]any{"labels": []string{"billing", "refund"}}, `\"refund\" is not one of the account's labels`},
		{map[string]any{}, "labels is required"},
	} {
		if st, raw := agent.raw("PUT", labels, bad.body); st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("PUT %v: status %d %s", bad.body, st, raw)
		}
	}
	if st, _ := v.raw("PUT", labels, map[string]any{"labels": []string{"vip"}}); st != 403 {
		t.Fatalf("a visitor labelling their own conversation: status %d", st)
	}
	var labelled parley.Conversation
	if st := agent.do("PUT", labels, map[string]any{"labels": []string{"vip", "billing", "vip"}}, &labelled); st != 200 || !slices.Equal(labelled.Labels, []string{"billing", "vip"}) {
		t.Fatalf("labelling: status %d, labels %v (want sorted, once each)", st, labelled.Labels)
	}
	f := inbox.next(func(f frame) bool { return f.Event == parley.EventConversationLabeled })
	var change parley.LabelChange
	if err := json.Unmarshal(f.Conversation, &change); err != nil || !slices.Equal(change.Labels, []string{"billing", "vip"}) || change.LabeledBy != brand.agent.ID {
		t.Fatalf("the inbox's conversation.labeled frame: %s", f.raw)
	}

	// Snoozed too (once the agent holds it), which is the staff's
	// business as well.
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: status %d", st)
	}
	if st := agent.do("PUT", "/api/v1/conversations/"+conv.ID+"/snooze", map[string]any{"until": time.Now().Add(time.Hour)}, nil); st != 200 {
		t.Fatalf("snooze: status %d", st)
	}
	// The visitor: no label or snooze over REST.
	var seen map[string]any
	v.do("GET", "/api/v1/conversations/"+conv.ID, nil, &seen)
	for _, f := range []string{"labels", "snoozed_until", "snoozed_at"} {
		if _, ok := seen[f]; ok {
			t.Fatalf("the visitor reads %s: %v", f, seen)
		}
	}
	var mine struct{ Conversations []map[string]any }
	v.do("GET", "/api/v1/conversations", nil, &mine)
	if len(mine.Conversations) != 1 || mine.Conversations[0]["labels"] != nil {
		t.Fatalf("the visitor's list: %v", mine.Conversations)
	}
	if st, _ := v.raw("GET", "/api/v1/conversations?label=vip", nil); st != 403 {
		t.Fatalf("a visitor filtering on a label: status %d", st)
	}

	// Lists, metrics and exports.
	var page struct{ Conversations []parley.Conversation }
	if agent.do("GET", "/api/v1/conversations?label=vip", nil, &page); len(page.Conversations) != 1 || page.Conversations[0].ID != conv.ID {
		t.Fatalf("?label=vip lists %+v", page.Conversations)
	}
	if agent.do("GET", "/api/v1/conversations?label=bug", nil, &page); len(page.Conversations) != 0 {
		t.Fatalf("?label=bug lists %+v", page.Conversations)
	}
	if st, raw := agent.raw("GET", "/api/v1/conversations?label=Not%20A%20Label", nil); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("?label with a space: status %d %s", st, raw)
	}
	type labelRow struct {
		Label         string
		Conversations int
	}
	var report struct{ Labels []labelRow }
	if st := ts.login(t, brand.supervisor).do("GET", "/api/v1/metrics", nil, &report); st != 200 ||
		!slices.Equal(report.Labels, []labelRow{{"billing", 1}, {"vip", 1}}) {
		t.Fatalf("metrics labels: status %d %+v", st, report.Labels)
	}
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	_, _, body := download(t, ts, brand.apiKey, "/api/v1/exports/conversations?format=csv&from="+from+"&to="+to)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 || slices.Index(rows[0], "labels") < 0 || rows[1][slices.Index(rows[0], "labels")] != "billing,vip" {
		t.Fatalf("CSV export: %v %q", err, rows)
	}

	// Labels required: the agent's bare close is refused and changes
	// nothing; a close that brings its labels goes through.
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"labels_required": true}, &settings); st != 200 || !settings.LabelsRequired || len(settings.Labels) != 3 {
		t.Fatalf("labels_required: status %d %+v (the labels must stay)", st, settings)
	}
	var cleared parley.Conversation
	if st := agent.do("PUT", labels, map[string]any{"labels": []string{}}, &cleared); st != 200 || cleared.Labels != nil {
		t.Fatalf("removing every label: status %d, left %v", st, cleared.Labels)
	}
	closeURL := "/api/v1/conversations/" + conv.ID + "/close"
	if st, raw := agent.raw("POST", closeURL, map[string]any{"reason": "resolved"}); st != 400 || !strings.Contains(string(raw), "at least one label") {
		t.Fatalf("closing unlabelled: status %d %s", st, raw)
	}
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID); c.State == parley.StateClosed {
		t.Fatal("the refused close closed the conversation")
	}
	var closed parley.Conversation
	if st := agent.do("POST", closeURL, map[string]any{"reason": "resolved", "labels": []string{"bug"}}, &closed); st != 200 ||
		closed.State != parley.StateClosed || !slices.Equal(closed.Labels, []string{"bug"}) {
		t.Fatalf("closing with labels: status %d %+v", st, closed)
	}
	// The visitor heard the agent take it and the close — nothing of the
	// labelling or the snooze, and no labels or snooze in what they heard.
	for _, want := range []string{parley.EventConversationAssigned, parley.EventConversationClosed} {
		cf := visitor.next(func(f frame) bool { return f.Type == "conversation" })
		if strings.Contains(string(cf.raw), "labels") || strings.Contains(string(cf.raw), "vip") || strings.Contains(string(cf.raw), "snoozed") ||
			cf.Event != want {
			t.Fatalf("the visitor's conversation frame, want %s: %s", want, cf.raw)
		}
	}
	// A visitor closes their own conversation without labels.
	other := v.open(t)
	if st, raw := v.raw("POST", "/api/v1/conversations/"+other.ID+"/close", nil); st != 200 {
		t.Fatalf("a visitor's close with labels required: status %d %s", st, raw)
	}
}

// TestAdminDefinesLabelsAndAnAgentLabelsInTheConsole: in Chromium, an admin
// defines labels (a bad name refused with the reason shown, the row kept)
// and requires them; an agent's close of an unlabelled conversation is
// refused, they add a label from the header, the inbox shows it and
// filters on it, and the close then goes through with the label kept.
func TestAdminDefinesLabelsAndAnAgentLabelsInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	admin.press(".add-label-def")
	admin.do(chromedp.SendKeys(chromedp.CSS(".label-defs input[name=name]"), "Refund Request"))
	admin.press(".labels-form button[type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`), "labels[0].name")
	})
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector(".label-defs input[name=name]").value = "refund"; return true })()`)
	admin.press(".add-label-def")
	admin.do(chromedp.SendKeys(chromedp.CSS(".label-defs tr:nth-child(2) input[name=name]"), "vip"))
	admin.press(".labels-form [name=required]")
	admin.press(".labels-form button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return len(acc.Settings.Labels) == 2 && acc.Settings.Labels[0].Name == "refund" && acc.Settings.LabelsRequired
	})
	admin.shot("labels-defined")

	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Where is my refund?"}, nil)
	agent := consoleLogin(t, ts, brand.agent, ".items li")
	agent.openFirst("queued")
	agent.press(".close")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".toast").textContent`), "Add a label first")
	})
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID); c.State == parley.StateClosed {
		t.Fatal("the unlabelled conversation closed")
	}
	evalIn[bool](t, agent.ctx, `(() => { const s = document.querySelector(".add-label"); s.value = "refund"; s.dispatchEvent(new Event("change")); return true })()`)
	chips := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".label-chips .chip")].map(c => c.firstChild.textContent).join(",")`)
	}
	waitFor(t, func() bool { return chips() == "refund" }, chips)
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID); !slices.Equal(c.Labels, []string{"refund"}) {
		t.Fatalf("stored labels %v", c.Labels)
	}
	// The inbox item carries the label, and the filter keeps or drops it.
	items := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".items li")].map(li => li.dataset.id + ":" + [...li.querySelectorAll(".chip")].map(c => c.textContent).join("+")).join(",")`)
	}
	waitFor(t, func() bool { return items() == conv.ID+":refund" }, items)
	filter := func(label string) {
		evalIn[bool](t, agent.ctx, `(() => { const s = document.querySelector(".label-filter"); s.value = `+strconv.Quote(label)+`; s.dispatchEvent(new Event("change")); return true })()`)
	}
	filter("vip")
	waitFor(t, func() bool { return items() == "" }, items)
	filter("refund")
	waitFor(t, func() bool { return items() == conv.ID+":refund" }, items)
	agent.shot("labelled")

	agent.press(".close")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.State == parley.StateClosed && c.CloseReason == "resolved" && slices.Equal(c.Labels, []string{"refund"})
	})
}

// TestPatchChangesOnlyTheSettingsItNames: PATCH /account-settings writes
// the fields in its body and leaves the rest — where PUT turns auto-assign
// off and opens the hours when they are absent; an unknown field is
// refused and changes nothing.
func TestPatchChangesOnlyTheSettingsItNames(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	hours := map[string]any{"time_zone": "Europe/Paris", "days": map[string]any{"mon": [][]string{{"09:00", "17:00"}}}}
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"auto_assign": true, "queue_notice_seconds": 90, "business_hours": hours}, nil); st != 200 {
		t.Fatalf("put: status %d", st)
	}
	check := func(when string, autoAssign bool, notice int, hoursSet bool, labels int) {
		t.Helper()
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		s := acc.Settings
		if s.AutoAssign != autoAssign || (s.QueueNoticeSeconds == nil) != (notice < 0) || (notice >= 0 && *s.QueueNoticeSeconds != notice) ||
			(s.BusinessHours != nil) != hoursSet || len(s.Labels) != labels {
			t.Fatalf("%s: %+v", when, s)
		}
	}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]string{{"name": "vip"}}}, nil); st != 200 {
		t.Fatalf("patch: status %d", st)
	}
	check("after PATCH labels", true, 90, true, 1)
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"labels": []map[string]string{}, "colour": "red"}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("an unknown field: status %d %s", st, raw)
	}
	check("after a refused PATCH", true, 90, true, 1)
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"queue_notice_seconds": nil}, nil); st != 200 {
		t.Fatalf("patch notice: status %d", st)
	}
	check("after PATCH queue_notice_seconds null", true, -1, true, 1)
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"queue_notice_seconds": 30}, nil); st != 200 {
		t.Fatalf("put: status %d", st)
	}
	check("after a PUT without auto_assign and hours", false, 30, false, 1)
}
