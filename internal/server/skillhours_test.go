package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/routing"
)

// availabilityOf is what the widget hears about whether someone answers,
// for a skill's people or ("") the brand's.
func availabilityOf(t *testing.T, ts *testServer, accountID, skill string) (a struct {
	AgentsOnline bool `json:"agents_online"`
	Open         bool `json:"open"`
	Bot          bool `json:"bot"`
}) {
	t.Helper()
	path := "/widget/availability?account=" + accountID
	if skill != "" {
		path += "&skill=" + skill
	}
	if st := ts.anon(t).do("GET", path, nil, &a); st != 200 {
		t.Fatalf("availability: %d", st)
	}
	return a
}

// Business hours that are never open, and always open.
var (
	neverOpen  = map[string]any{"time_zone": "Europe/Madrid", "days": map[string]any{}}
	alwaysOpen = map[string]any{"time_zone": "UTC", "days": map[string]any{
		"mon": [][]string{{"00:00", "24:00"}}, "tue": [][]string{{"00:00", "24:00"}}, "wed": [][]string{{"00:00", "24:00"}},
		"thu": [][]string{{"00:00", "24:00"}}, "fri": [][]string{{"00:00", "24:00"}}, "sat": [][]string{{"00:00", "24:00"}}, "sun": [][]string{{"00:00", "24:00"}}}}
)

// TestASkillAnswersInItsOwnHours: the Spanish team keeps its own hours
// (here, closed) while the brand is open, and a night shift is open while
// the brand is closed. The widget hears it for the skill, the skill's
// overflow moves its visitors at once outside them (though its agent is
// online), rules read them for its conversations, and null gives the
// skill back the brand's hours. Bad hours are refused, naming the field.
func TestASkillAnswersInItsOwnHours(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	admin := ts.login(t, b.admin)
	var spanish parley.Skill
	if st := admin.do("POST", "/api/v1/skills", map[string]any{"name": "spanish"}, &spanish); st != 201 || spanish.Hours != nil {
		t.Fatalf("spanish: %d %+v", st, spanish)
	}
	for _, bad := range []struct {
		body any
		want string
	}{
		{map[string]any{"hours": map[string]any{"time_zone": "Mars/Olympus"}}, "hours: time_zone"},
		{map[string]any{"hours": "9 to 5"}, "hours must be business hours"},
		{map[string]any{"hours": map[string]any{"time_zone": "UTC", "days": map[string]any{"mon": [][]string{{"18:00", "09:00"}}}}}, "hours: mon window"},
	} {
		st, raw := admin.raw("PATCH", "/api/v1/skills/"+spanish.ID, bad.body)
		if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("PATCH %v: %d %s", bad.body, st, raw)
		}
	}
	if st, raw := admin.raw("POST", "/api/v1/skills", map[string]any{"name": "german", "hours": map[string]any{"time_zone": "Berlin"}}); st != 400 || !strings.Contains(string(raw), "hours: time_zone") {
		t.Fatalf("a new skill with bad hours: %d %s", st, raw)
	}
	var saved parley.Skill
	if st := admin.do("PATCH", "/api/v1/skills/"+spanish.ID, map[string]any{"hours": neverOpen}, &saved); st != 200 || saved.Hours == nil || saved.Hours.TimeZone != "Europe/Madrid" || saved.Name != "spanish" {
		t.Fatalf("spanish's own hours: %d %+v", st, saved)
	}
	if st := admin.do("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"skills": []string{spanish.ID}}, nil); st != 200 {
		t.Fatalf("the agent's skills: %d", st)
	}
	agent := online(t, ts, b.agent)
	defer agent.ws.CloseNow()
	if a := availabilityOf(t, ts, b.account.ID, spanish.ID); a.Open || a.AgentsOnline || a.Bot {
		t.Fatalf("spanish outside its hours, its agent online: %+v", a)
	}
	if a := availabilityOf(t, ts, b.account.ID, ""); !a.Open || !a.AgentsOnline {
		t.Fatalf("the brand, open: %+v", a)
	}

	// The brand closes; the night shift is open round the clock.
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"business_hours": map[string]any{"time_zone": "UTC", "days": map[string]any{}}}, nil); st != 200 {
		t.Fatalf("the brand's hours: %d", st)
	}
	var night parley.Skill
	if st := admin.do("POST", "/api/v1/skills", map[string]any{"name": "night", "hours": alwaysOpen}, &night); st != 201 || night.Hours == nil {
		t.Fatalf("night: %d %+v", st, night)
	}
	admin.do("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"skills": []string{spanish.ID, night.ID}}, nil)
	if a := availabilityOf(t, ts, b.account.ID, night.ID); !a.Open || !a.AgentsOnline {
		t.Fatalf("the night shift while the brand is closed: %+v", a)
	}
	if a := availabilityOf(t, ts, b.account.ID, ""); a.Open || a.AgentsOnline {
		t.Fatalf("the brand, closed: %+v", a)
	}

	// Outside its hours, Spanish overflows to the night shift at once,
	// though the agent who has it is online.
	if st, raw := admin.raw("PATCH", "/api/v1/skills/"+spanish.ID, map[string]any{"overflow_to": night.ID, "overflow_after_seconds": 600, "overflow_unstaffed": true}); st != 200 {
		t.Fatalf("spanish's overflow: %d %s", st, raw)
	}
	api := ts.withKey(t, b.apiKey)
	var c parley.Conversation
	if st := api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": "lucia"}, "skill": spanish.ID}, &c); st != 201 {
		t.Fatalf("open: %d", st)
	}
	if n, err := routing.Overflow(t.Context(), ts.Store, time.Now(), ts.Routing.Staffed); err != nil || n != 1 {
		t.Fatalf("overflow outside spanish's hours moved %d, %v", n, err)
	}
	if got, _ := ts.Store.FindConversation(t.Context(), b.account.ID, c.ID); got.Skill != night.ID {
		t.Fatalf("after the overflow: skill %q", got.Skill)
	}
	// Within its hours, the time counts again.
	admin.do("PATCH", "/api/v1/skills/"+spanish.ID, map[string]any{"hours": alwaysOpen}, nil)
	var c2 parley.Conversation
	api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": "pablo"}, "skill": spanish.ID}, &c2)
	if n, err := routing.Overflow(t.Context(), ts.Store, time.Now(), ts.Routing.Staffed); err != nil || n != 0 {
		t.Fatalf("overflow within spanish's hours moved %d, %v", n, err)
	}

	// Rules read the hours of the conversation's skill: the brand is
	// closed, Spanish open.
	hours := func(value string) []map[string]any {
		return []map[string]any{{"field": "business_hours", "operator": "equals", "value": value}}
	}
	if st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"automation_rules": []map[string]any{
		{"name": "Closed", "event": "conversation_opened", "conditions": hours("closed"), "actions": []map[string]any{{"type": "set_priority", "value": "3"}}},
		{"name": "Open", "event": "conversation_opened", "conditions": hours("open"), "actions": []map[string]any{{"type": "set_priority", "value": "2"}}},
	}}); st != 200 {
		t.Fatalf("rules: %d %s", st, raw)
	}
	var inSpanish, general parley.Conversation
	api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": "ines"}, "skill": spanish.ID}, &inSpanish)
	api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": "joe"}}, &general)
	priority := func(id string) int {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, id)
		return c.Priority
	}
	waitFor(t, func() bool { return priority(inSpanish.ID) != 0 && priority(general.ID) != 0 })
	if priority(inSpanish.ID) != 2 || priority(general.ID) != 3 {
		t.Fatalf("priorities: spanish's %d (want 2, open), the general queue's %d (want 3, closed)", priority(inSpanish.ID), priority(general.ID))
	}

	// null: the brand's hours again.
	if st := admin.do("PATCH", "/api/v1/skills/"+spanish.ID, map[string]any{"hours": nil}, &saved); st != 200 || saved.Hours != nil || saved.OverflowTo != night.ID {
		t.Fatalf("back to the brand's hours: %d %+v", st, saved)
	}
	if a := availabilityOf(t, ts, b.account.ID, spanish.ID); a.Open {
		t.Fatalf("spanish with the brand's (closed) hours: %+v", a)
	}
}

// TestPreChatTopicsAreChecked: topics are few, each with a label of its
// own and one of the brand's skills or none; the widget's public config
// carries them.
func TestPreChatTopicsAreChecked(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Other")
	admin := ts.login(t, b.admin)
	var returns, theirs parley.Skill
	admin.do("POST", "/api/v1/skills", map[string]any{"name": "returns"}, &returns)
	ts.login(t, other.admin).do("POST", "/api/v1/skills", map[string]any{"name": "theirs"}, &theirs)
	put := func(topics any) (int, []byte) {
		return admin.raw("PUT", "/api/v1/widget-settings", map[string]any{"prechat": map[string]any{"topics": topics}})
	}
	many := []map[string]any{}
	for i := range parley.MaxPreChatTopics + 1 {
		many = append(many, map[string]any{"label": "Topic " + string(rune('A'+i))})
	}
	for _, bad := range []struct {
		topics any
		want   string
	}{
		{many, "at most 10"},
		{[]map[string]any{{"label": "  "}}, "prechat.topics[0].label must have 1 to 60"},
		{[]map[string]any{{"label": strings.Repeat("x", 61)}}, "prechat.topics[0].label must have 1 to 60"},
		{[]map[string]any{{"label": "Returns"}, {"label": "returns "}}, "is there twice"},
		{[]map[string]any{{"label": "Returns"}, {"label": "RETURNS"}}, "prechat.topics[1].label"},
		{[]map[string]any{{"label": "Returns", "skill": "skl_nope"}}, "prechat.topics[0].skill"},
		{[]map[string]any{{"label": "Returns", "skill": theirs.ID}}, "not one of this brand's skills"},
	} {
		st, raw := put(bad.topics)
		if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("topics %v: %d %s", bad.topics, st, raw)
		}
	}
	if acc, _ := ts.Store.FindAccount(t.Context(), b.account.ID); len(acc.Settings.Widget.PreChat.Topics) != 0 {
		t.Fatal("a refused change was kept")
	}
	if st, raw := put([]map[string]any{{"label": " Returns and refunds ", "skill": returns.ID}, {"label": "Something else"}}); st != 200 {
		t.Fatalf("good topics: %d %s", st, raw)
	}
	var cfg struct {
		PreChat parley.PreChatForm `json:"prechat"`
	}
	if st := ts.anon(t).do("GET", "/widget/config?account="+b.account.ID, nil, &cfg); st != 200 {
		t.Fatalf("config: %d", st)
	}
	if want := []parley.PreChatTopic{{Label: "Returns and refunds", Skill: returns.ID}, {Label: "Something else"}}; len(cfg.PreChat.Topics) != 2 || cfg.PreChat.Topics[0] != want[0] || cfg.PreChat.Topics[1] != want[1] {
		t.Fatalf("the widget's topics: %+v", cfg.PreChat.Topics)
	}
}
