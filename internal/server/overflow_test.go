package server_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/routing"
)

// TestAVisitorNobodyAnswersOverflowsToAnotherQueue: the billing skill
// overflows to the general queue after a minute. A visitor who waited
// that long for billing, with no billing agent online, is moved and
// assigned to the agent who is online, keeping their place in time; one
// who arrived in billing since stays. The admin's checks refuse a loop.
func TestAVisitorNobodyAnswersOverflowsToAnotherQueue(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, b, true)
	admin := ts.login(t, b.admin)
	api := ts.withKey(t, b.apiKey)
	var billing, vip parley.Skill
	api.do("POST", "/api/v1/skills", map[string]any{"name": "billing"}, &billing)
	api.do("POST", "/api/v1/skills", map[string]any{"name": "vip"}, &vip)

	for _, bad := range []struct {
		body any
		want string
	}{
		{map[string]any{"overflow_to": billing.ID, "overflow_after_seconds": 60}, "itself"},
		{map[string]any{"overflow_after_seconds": 5}, "overflow_after_seconds"},
		{map[string]any{"overflow_to": "skl_nope", "overflow_after_seconds": 60}, "not found"},
		{map[string]any{}, "give name"},
	} {
		st, raw := admin.raw("PATCH", "/api/v1/skills/"+billing.ID, bad.body)
		if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("PATCH %v: %d %s", bad.body, st, raw)
		}
	}
	if st, raw := admin.raw("PATCH", "/api/v1/skills/"+vip.ID, map[string]any{"overflow_to": billing.ID, "overflow_after_seconds": 30}); st != 200 {
		t.Fatalf("vip → billing: %d %s", st, raw)
	}
	if st, raw := admin.raw("PATCH", "/api/v1/skills/"+billing.ID, map[string]any{"overflow_to": vip.ID, "overflow_after_seconds": 60}); st != 400 || !strings.Contains(string(raw), "come back") {
		t.Fatalf("billing → vip → billing: %d %s", st, raw)
	}
	var saved parley.Skill
	if st := admin.do("PATCH", "/api/v1/skills/"+billing.ID, map[string]any{"overflow_to": "", "overflow_after_seconds": 60}, &saved); st != 200 || saved.OverflowAfterSeconds != 60 || saved.OverflowTo != "" {
		t.Fatalf("billing → general: %d %+v", st, saved)
	}

	// A visitor waits for billing; the only agent online does not have it.
	var c parley.Conversation
	if st := api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": "erin"}, "skill": billing.ID}, &c); st != 201 || c.QueueEnteredAt == nil {
		t.Fatalf("open: %d %+v", st, c)
	}
	agent := online(t, ts, b.agent)
	defer agent.ws.CloseNow()
	ctx := context.Background()
	// 59 s in: nothing moves.
	if n, err := routing.Overflow(ctx, ts.Store, c.QueueEnteredAt.Add(59*time.Second), ts.Routing.Staffed); err != nil || n != 0 {
		t.Fatalf("overflow at 59 s moved %d, %v", n, err)
	}
	if got, _ := ts.Store.FindConversation(ctx, b.account.ID, c.ID); got.State != parley.StateQueued || got.Skill != billing.ID {
		t.Fatalf("at 59 s: %+v", got)
	}
	// 61 s in: to the general queue, and to the agent.
	if n, err := routing.Overflow(ctx, ts.Store, c.QueueEnteredAt.Add(61*time.Second), ts.Routing.Staffed); err != nil || n != 1 {
		t.Fatalf("overflow at 61 s moved %d, %v", n, err)
	}
	waitFor(t, func() bool {
		got, _ := ts.Store.FindConversation(ctx, b.account.ID, c.ID)
		return got.State == parley.StateAssigned && got.AssigneeID == b.agent.ID && got.Skill == ""
	})
	requeued, _ := ts.Store.ListEvents(ctx, b.account.ID, parley.EventFilter{Types: []string{parley.EventConversationRequeued}, Limit: 10})
	if len(requeued) != 1 {
		t.Fatalf("%d requeue events", len(requeued))
	}
	var ev struct {
		parley.Conversation
		Reason string `json:"requeue_reason"`
	}
	json.Unmarshal(requeued[0].Data, &ev)
	if ev.Reason != routing.RequeueOverflow || ev.QueuedAt == nil || !ev.QueuedAt.Equal(*c.QueuedAt) {
		t.Fatalf("requeued %s; want reason overflow and the first queued_at %v", requeued[0].Data, c.QueuedAt)
	}
	// Assigned, it never overflows again.
	if n, err := routing.Overflow(ctx, ts.Store, c.QueueEnteredAt.Add(time.Hour), ts.Routing.Staffed); err != nil || n != 0 {
		t.Fatalf("overflow of an assigned conversation: %d, %v", n, err)
	}

	// Spanish overflows after ten minutes, or at once while no one who
	// speaks it is online: a visitor at night does not wait out the time.
	var spanish parley.Skill
	api.do("POST", "/api/v1/skills", map[string]any{"name": "spanish"}, &spanish)
	if st, raw := admin.raw("PATCH", "/api/v1/skills/"+spanish.ID, map[string]any{"overflow_after_seconds": 600, "overflow_unstaffed": true}); st != 200 {
		t.Fatalf("spanish: %d %s", st, raw)
	}
	if st, raw := admin.raw("PATCH", "/api/v1/skills/"+vip.ID, map[string]any{"overflow_after_seconds": 0, "overflow_unstaffed": true}); st != 400 {
		t.Fatalf("unstaffed without a time: %d %s", st, raw)
	}
	var es parley.Conversation
	api.do("POST", "/api/v1/conversations", map[string]any{"consumer": map[string]any{"external_id": "lucia"}, "skill": spanish.ID}, &es)
	if staffed, _ := ts.Routing.Staffed(ctx, b.account.ID, spanish.ID); staffed {
		t.Fatal("spanish is staffed with no one who has it")
	}
	if n, err := routing.Overflow(ctx, ts.Store, time.Now(), ts.Routing.Staffed); err != nil || n != 1 {
		t.Fatalf("unstaffed overflow moved %d, %v", n, err)
	}
	waitFor(t, func() bool {
		got, _ := ts.Store.FindConversation(ctx, b.account.ID, es.ID)
		return got.State == parley.StateAssigned && got.AssigneeID == b.agent.ID
	})
	// With the online agent given Spanish, it is staffed: the time counts again.
	if st := admin.do("PATCH", "/api/v1/users/"+b.agent.ID, map[string]any{"skills": []string{spanish.ID}}, nil); st != 200 {
		t.Fatalf("skills: %d", st)
	}
	if staffed, _ := ts.Routing.Staffed(ctx, b.account.ID, spanish.ID); !staffed {
		t.Fatal("spanish is not staffed with an online agent who has it")
	}
}

// TestAnAdminSetsASkillsOverflowInTheConsole: in Chromium, the admin opens
// a skill's overflow, sends its waiting visitors to another skill after
// 90 s, and the list says so; a choice that loops is refused with the
// reason shown.
func TestAnAdminSetsASkillsOverflowInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	api := ts.withKey(t, brand.apiKey)
	var billing, payments parley.Skill
	api.do("POST", "/api/v1/skills", map[string]any{"name": "billing"}, &billing)
	api.do("POST", "/api/v1/skills", map[string]any{"name": "payments"}, &payments)
	api.do("PATCH", "/api/v1/skills/"+payments.ID, map[string]any{"overflow_to": billing.ID, "overflow_after_seconds": 300}, nil)
	admin := adminTab(t, ts, brand)
	line := `.skills-list li[data-id="` + billing.ID + `"]`
	admin.press(line + " button")
	admin.do(chromedp.WaitVisible(chromedp.CSS(".edit-overflow select")))
	set := func(to, after string) {
		evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".edit-overflow"); f.to.value = `+strconv.Quote(to)+`; f.after.value = `+strconv.Quote(after)+`; f.unstaffed.checked = true; return true })()`)
		admin.press(".edit-overflow button[type=submit]")
	}
	// billing → payments → billing: refused, and said why.
	set(payments.ID, "90")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`), "come back")
	})
	admin.press(line + " button")
	admin.do(chromedp.WaitVisible(chromedp.CSS(".edit-overflow select")))
	set("", "90")
	waitFor(t, func() bool {
		skills, _ := ts.Store.ListSkills(t.Context(), brand.account.ID)
		for _, s := range skills {
			if s.ID == billing.ID {
				return s.OverflowAfterSeconds == 90 && s.OverflowTo == "" && s.OverflowUnstaffed
			}
		}
		return false
	})
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(`+strconv.Quote(line)+`).textContent`), "after 90 s waiting (at once while no one with it is online, or outside its hours), to the general queue")
	})
}
