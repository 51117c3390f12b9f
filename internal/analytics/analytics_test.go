package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/sqlstore"
)

// A scripted morning whose metrics were worked out by hand (docs/data.md).
func TestMetricsOfAScriptedMorning(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	at := func(d time.Duration) { clock.Store(t0.Add(d).UnixMicro()) }
	at(0)
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "m.db"), sqlstore.Options{Now: func() time.Time { return time.UnixMicro(clock.Load()).UTC() }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acc := &parley.Account{Name: "Acme"}
	s.CreateAccount(ctx, acc)
	billing := &parley.Skill{AccountID: acc.ID, Name: "billing"}
	s.CreateSkill(ctx, billing)
	a1 := &parley.User{AccountID: acc.ID, Email: "a1@acme.test", Role: parley.RoleAgent, MaxConcurrent: 3, Active: true, Skills: []string{billing.ID}}
	a2 := &parley.User{AccountID: acc.ID, Email: "a2@acme.test", Role: parley.RoleAgent, MaxConcurrent: 1, Active: true, Skills: []string{billing.ID}}
	s.CreateUser(ctx, a1)
	s.CreateUser(ctx, a2)
	visitor := &parley.Consumer{AccountID: acc.ID}
	s.CreateConsumer(ctx, visitor)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	open := func(d time.Duration, state parley.ConversationState, skill string) *parley.Conversation {
		at(d)
		c, err := s.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, Channel: parley.ChannelWeb, State: state, Skill: skill})
		must(err)
		return c
	}
	say := func(d time.Duration, c *parley.Conversation, kind parley.SenderKind, who string) {
		at(d)
		_, _, err := s.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: c.ID, SenderKind: kind, SenderID: who, Type: parley.MessageText, Text: "…"})
		must(err)
	}
	claim := func(d time.Duration, c *parley.Conversation, u *parley.User) {
		at(d)
		_, err := s.ClaimConversation(ctx, acc.ID, c.ID, u.ID)
		must(err)
	}
	closeAt := func(d time.Duration, c *parley.Conversation) {
		at(d)
		_, err := s.CloseConversation(ctx, acc.ID, c.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: "x"})
		must(err)
	}
	rate := func(d time.Duration, c *parley.Conversation, score int) {
		at(d)
		must(s.RateConversation(ctx, acc.ID, c.ID, score, ""))
	}
	m := time.Minute
	// C1: queued 09:00, A1 at 09:02, first reply 09:03, closed 09:30, CSAT 5.
	c1 := open(0, parley.StateQueued, "")
	say(0, c1, parley.SenderConsumer, visitor.ID)
	claim(2*m, c1, a1)
	say(3*m, c1, parley.SenderAgent, a1.ID)
	say(4*m, c1, parley.SenderConsumer, visitor.ID)
	closeAt(30*m, c1)
	rate(31*m, c1, 5)
	// The rollup reads the log now and then; reports read its rows and
	// the events after them.
	rollUp := func() {
		t.Helper()
		if _, err := analytics.RollUp(ctx, s, acc.ID); err != nil {
			t.Fatal(err)
		}
	}
	rollUp()
	// C2 (billing): queued 09:10, A2 at 09:16, first reply 09:20, closed 10:10, CSAT 3.
	c2 := open(10*m, parley.StateQueued, billing.ID)
	say(10*m, c2, parley.SenderConsumer, visitor.ID)
	claim(16*m, c2, a2)
	say(20*m, c2, parley.SenderAgent, a2.ID)
	closeAt(70*m, c2)
	rate(71*m, c2, 3)
	// The boots engagement: shown twice in the 09 hour, clicked once; C3
	// is the visitor's answer to it.
	teaser := func(d time.Duration, typ string) {
		at(d)
		must(s.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: typ, Data: json.RawMessage(`{"pv":"p1","engagement":"boots"}`)}))
	}
	teaser(40*m, parley.EventEngagementShown)
	teaser(50*m, parley.EventEngagementShown)
	teaser(59*m, parley.EventEngagementClicked)
	// Agents' invitations to visitors on the site: a1 sends three (one
	// answered, one declined, one withdrawn), a2 one that lapses.
	invitation := func(d time.Duration, typ, agent string) {
		at(d)
		must(s.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: typ, Data: json.RawMessage(`{"pv":"p2","invitation":"inv_x","agent_id":"` + agent + `"}`)}))
	}
	invitation(41*m, parley.EventVisitorInvited, a1.ID)
	invitation(42*m, parley.EventInvitationAnswered, a1.ID)
	invitation(43*m, parley.EventVisitorInvited, a1.ID)
	invitation(44*m, parley.EventInvitationDeclined, a1.ID)
	invitation(45*m, parley.EventVisitorInvited, a1.ID)
	invitation(46*m, parley.EventInvitationWithdrawn, a1.ID)
	invitation(47*m, parley.EventVisitorInvited, a2.ID)
	// C3: the bot alone, 10:00–10:05: contained.
	at(60 * m)
	c3, err := s.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, Channel: parley.ChannelWeb, State: parley.StateBot,
		Engagement: &parley.Engagement{ID: "boots", Text: "Not sure of your size?"}})
	must(err)
	say(60*m, c3, parley.SenderConsumer, visitor.ID)
	say(60*m+time.Second, c3, parley.SenderBot, "bot")
	closeAt(65*m, c3)
	rollUp()
	teaser(66*m, parley.EventEngagementShown) // read from the log's tail
	teaser(67*m, parley.EventEngagementDismissed)
	// C4: the bot from 10:20, handoff 10:21, A1 at 10:25, reply 10:26, closed 11:00, CSAT 4.
	c4 := open(80*m, parley.StateBot, "")
	say(80*m, c4, parley.SenderConsumer, visitor.ID)
	say(80*m+time.Second, c4, parley.SenderBot, "bot")
	at(81 * m)
	must(s.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: parley.EventBotHandoff, ConversationID: c4.ID, Data: json.RawMessage(`{"reason":"asked_for_person"}`)}))
	_, err = s.RequeueConversation(ctx, acc.ID, c4.ID, parley.Requeue{Reason: "bot_handoff"})
	must(err)
	at(83 * m) // a supervisor marks it urgent while it waits
	_, err = s.SetPriority(ctx, acc.ID, c4.ID, parley.PriorityUrgent, "x")
	must(err)
	claim(85*m, c4, a1)
	say(86*m, c4, parley.SenderAgent, a1.ID)
	closeAt(120*m, c4)
	rate(121*m, c4, 4)
	// Labels, put on after the close (wrap-up): C1 refund; C2 refund and
	// vip; C4 vip, then none.
	label := func(d time.Duration, c *parley.Conversation, labels ...string) {
		at(d)
		_, err := s.LabelConversation(ctx, acc.ID, c.ID, labels, "x")
		must(err)
	}
	label(122*m, c1, "refund")
	label(123*m, c2, "refund", "vip")
	label(124*m, c4, "vip")
	label(125*m, c4)
	// Wrap-up details: C1 Sizing; C2 Damaged with a refund; C4 Damaged,
	// then Sizing. The order number is no category: never counted.
	fields := func(d time.Duration, c *parley.Conversation, values map[string]string) {
		at(d)
		_, err := s.SetConversationFields(ctx, acc.ID, c.ID, values, []string{"reason", "refund"}, "x")
		must(err)
	}
	fields(126*m, c1, map[string]string{"reason": "Sizing", "order_number": "A-1"})
	fields(127*m, c2, map[string]string{"reason": "Damaged", "refund": "true", "order_number": "A-2"})
	fields(128*m, c4, map[string]string{"reason": "Damaged"})
	fields(129*m, c4, map[string]string{"reason": "Sizing"})

	capacity := map[string]int{a1.ID: 3, a2.ID: 1}
	q := analytics.Query{From: t0, To: t0.Add(3 * time.Hour), Bucket: "hour", FieldKeys: []string{"reason", "refund", "order_number"}}
	r, err := analytics.Compute(ctx, s, acc.ID, q, capacity)
	must(err)
	// Erasing the visitor — on request, or retention expiring their
	// conversations — takes what was said, not what happened: every number
	// of the morning stays. The numbers themselves are checked below.
	before := reportsOf(t, analytics.Compute, s, acc.ID, q, billing.ID, a1.ID, capacity)
	if fromLog := reportsOf(t, analytics.ComputeFromLog, s, acc.ID, q, billing.ID, a1.ID, capacity); fromLog != before {
		t.Errorf("the rollup and its tail differ from the log:\nrollup %s\nlog    %s", before, fromLog)
	}
	// Targets by priority (five minutes, four for urgent ones) read the
	// conversations' priorities, from the rollup or the log alike.
	targets := func(priority int) time.Duration {
		if priority >= parley.PriorityUrgent {
			return 4 * m
		}
		return 5 * m
	}
	qt := q
	qt.ResponseTarget = targets
	beforeTargets := reportsOf(t, analytics.Compute, s, acc.ID, qt, billing.ID, a1.ID, capacity)
	if fromLog := reportsOf(t, analytics.ComputeFromLog, s, acc.ID, qt, billing.ID, a1.ID, capacity); fromLog != beforeTargets {
		t.Errorf("with targets, the rollup and the log differ:\nrollup %s\nlog    %s", beforeTargets, fromLog)
	}
	at(4 * time.Hour)
	must(s.EraseConsumer(ctx, acc.ID, visitor.ID))
	if fromLog := reportsOf(t, analytics.ComputeFromLog, s, acc.ID, qt, billing.ID, a1.ID, capacity); fromLog != beforeTargets {
		t.Errorf("erasing the visitor changed what met its target (the priority went with the words?):\nbefore %s\nafter  %s", beforeTargets, fromLog)
	}
	if after := reportsOf(t, analytics.Compute, s, acc.ID, q, billing.ID, a1.ID, capacity); after != before {
		t.Errorf("erasing the visitor changed the metrics:\nbefore %s\nafter  %s", before, after)
	}
	if fromLog := reportsOf(t, analytics.ComputeFromLog, s, acc.ID, q, billing.ID, a1.ID, capacity); fromLog != before {
		t.Errorf("erasing the visitor changed the metrics read from the log:\nbefore %s\nafter  %s", before, fromLog)
	}
	rollUp()
	if after := reportsOf(t, analytics.Compute, s, acc.ID, q, billing.ID, a1.ID, capacity); after != before {
		t.Errorf("the whole log rolled up, the metrics changed:\nbefore %s\nafter  %s", before, after)
	}
	if ms, _ := s.ListMessages(ctx, acc.ID, c1.ID, 0, 10); len(ms) != 0 {
		t.Fatalf("the erased conversation keeps %d messages", len(ms))
	}
	tt := r.Totals
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("opened", tt.Opened, 4)
	check("closed", tt.Closed, 4)
	check("bot conversations", tt.BotConversations, 2)
	check("contained", tt.BotContained, 1)
	check("containment rate", tt.ContainmentRate, 0.5)
	check("handoffs", tt.BotHandoffs, 1)
	check("handoff rate", tt.HandoffRate, 0.5)
	check("queue wait", tt.QueueWait, analytics.Stat{Count: 3, Mean: 240, P50: 240, P90: 360})
	check("first response", tt.FirstResponse, analytics.Stat{Count: 3, Mean: 360, P50: 300, P90: 600})
	check("handle time", tt.HandleTime, analytics.Stat{Count: 3, Mean: 2340, P50: 2100, P90: 3240})
	check("messages per conversation", tt.MessagesPerConversation, 2.5)
	check("CSAT mean", tt.CSATMean, 4.0)
	check("CSAT distribution", tt.CSATDistribution, [5]int{0, 0, 1, 1, 1})
	// Per label: refund is C1 (first reply 3 min, handled 28 min, CSAT 5)
	// and C2 (10 min, 54 min, 3); vip is C2; C4's vip was taken off.
	if len(r.Labels) != 2 {
		t.Fatalf("labels: %+v", r.Labels)
	}
	refund, vip := r.Labels[0], r.Labels[1]
	check("refund", refund.Label, "refund")
	check("refund conversations", refund.Conversations, 2)
	check("refund closed", refund.Closed, 2)
	check("refund first response", refund.FirstResponse, analytics.Stat{Count: 2, Mean: 390, P50: 180, P90: 600})
	check("refund handle time", refund.HandleTime, analytics.Stat{Count: 2, Mean: 2460, P50: 1680, P90: 3240})
	check("refund CSAT", refund.CSATMean, 4.0)
	check("vip", vip.Label, "vip")
	check("vip conversations", vip.Conversations, 1)
	check("vip CSAT", vip.CSATMean, 3.0)
	// Per detail: reason Sizing is C1 (CSAT 5) and C4 (4), Damaged is C2
	// (3), then refund true is C2; the order numbers are not there.
	var got []string
	for _, f := range r.Fields {
		got = append(got, fmt.Sprintf("%s=%s: %d opened, %d closed, CSAT %.1f", f.Key, f.Value, f.Conversations, f.Closed, f.CSATMean))
	}
	check("fields", strings.Join(got, "; "), "reason=Sizing: 2 opened, 2 closed, CSAT 4.5; reason=Damaged: 1 opened, 1 closed, CSAT 3.0; refund=true: 1 opened, 1 closed, CSAT 3.0")
	// The invitations, most sent first.
	got = nil
	for _, is := range r.Invitations {
		got = append(got, fmt.Sprintf("%s %d sent %d answered %d declined %d withdrawn %.2f", is.Agent, is.Sent, is.Answered, is.Declined, is.Withdrawn, is.AnswerRate))
	}
	check("invitations", strings.Join(got, "; "), fmt.Sprintf("%s 3 sent 1 answered 1 declined 1 withdrawn 0.33; %s 1 sent 0 answered 0 declined 0 withdrawn 0.00", a1.ID, a2.ID))
	// The engagement: three shown, one clicked, one dismissed, C3.
	if len(r.Engagements) != 1 {
		t.Fatalf("engagements: %+v", r.Engagements)
	}
	boots := r.Engagements[0]
	check("boots", boots.ID, "boots")
	check("boots shown", boots.Shown, 3)
	check("boots clicked", boots.Clicked, 1)
	check("boots dismissed", boots.Dismissed, 1)
	check("boots conversations", boots.Conversations, 1)
	check("boots click rate", boots.ClickRate, 0.33)
	check("boots conversion", boots.ConversionRate, 0.33)
	if len(r.Buckets) != 3 {
		t.Fatalf("%d buckets", len(r.Buckets))
	}
	b9, b10, b11 := r.Buckets[0], r.Buckets[1], r.Buckets[2]
	check("09 opened", b9.Opened, 2)
	check("09 closed", b9.Closed, 1)
	check("09 wait", b9.QueueWaitMean, analytics.Duration(240))
	check("09 FRT", b9.FirstResponseAvg, analytics.Duration(390))
	check("09 CSAT", b9.CSATMean, 5.0)
	check("10 opened", b10.Opened, 2)
	check("10 closed", b10.Closed, 2)
	check("10 handoffs", b10.BotHandoffs, 1)
	check("10 contained", b10.BotContained, 1)
	check("10 wait", b10.QueueWaitMean, analytics.Duration(240))
	check("11 closed", b11.Closed, 1)
	check("11 CSAT", b11.CSATMean, 4.0)
	if len(r.Agents) != 2 {
		t.Fatalf("agents %+v", r.Agents)
	}
	byID := map[string]*analytics.Agent{r.Agents[0].ID: r.Agents[0], r.Agents[1].ID: r.Agents[1]}
	g1, g2 := byID[a1.ID], byID[a2.ID]
	check("A1 assigned", g1.Assigned, 2)
	check("A1 closed", g1.Closed, 2)
	check("A1 FRT", g1.FirstResponse.Mean, analytics.Duration(240))
	check("A1 handle", g1.HandleTime.Mean, analytics.Duration(1890))
	check("A1 CSAT", g1.CSATMean, 4.5)
	check("A1 hours", g1.ConversationHrs, 1.05)
	check("A1 utilisation", g1.Utilisation, 0.12) // 1.05 h ÷ (3 × 3 h)
	check("A2 utilisation", g2.Utilisation, 0.3)  // 0.9 h ÷ (1 × 3 h)
	check("A2 handle", g2.HandleTime.Mean, analytics.Duration(3240))

	// By skill: only C2.
	q.Skill = billing.ID
	r, err = analytics.Compute(ctx, s, acc.ID, q, capacity)
	must(err)
	check("billing opened", r.Totals.Opened, 1)
	check("billing wait", r.Totals.QueueWait, analytics.Stat{Count: 1, Mean: 360, P50: 360, P90: 360})
	// By agent: A1's conversations.
	q.Skill, q.Agent = "", a1.ID
	r, err = analytics.Compute(ctx, s, acc.ID, q, capacity)
	must(err)
	check("A1 closed total", r.Totals.Closed, 2)
	check("A1 CSAT total", r.Totals.CSATMean, 4.5)
	check("A1 only", len(r.Agents), 1)
	check("no target, no share", r.Totals.FirstResponseInTarget == nil, true)
	// With a five-minute reply target: the first responses took 3, 5 and
	// 10 minutes, so two of three met it.
	q.Agent, q.ResponseTarget = "", func(int) time.Duration { return 5 * time.Minute }
	r, err = analytics.Compute(ctx, s, acc.ID, q, capacity)
	must(err)
	if got := r.Totals.FirstResponseInTarget; got == nil || *got != 0.67 {
		t.Errorf("first responses in target = %v, want 0.67", got)
	}
	// C4, urgent, was answered in five minutes: past its four.
	q.ResponseTarget = targets
	r, err = analytics.Compute(ctx, s, acc.ID, q, capacity)
	must(err)
	if got := r.Totals.FirstResponseInTarget; got == nil || *got != 0.33 {
		t.Errorf("first responses in their priority's target = %v, want 0.33", got)
	}
}

type computeFunc func(context.Context, parley.Store, string, analytics.Query, map[string]int) (*analytics.Report, error)

// reportsOf is the JSON of the report for q, for q's skill alone and for
// one agent's conversations.
func reportsOf(t *testing.T, compute computeFunc, s parley.Store, accountID string, q analytics.Query, skill, agent string, capacity map[string]int) string {
	t.Helper()
	var all []*analytics.Report
	for _, f := range [][2]string{{"", ""}, {skill, ""}, {"", agent}} {
		q.Skill, q.Agent = f[0], f[1]
		r, err := compute(context.Background(), s, accountID, q, capacity)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMetricsQueriesAreChecked(t *testing.T) {
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, q := range []analytics.Query{
		{From: day, To: day.Add(-time.Hour), Bucket: "hour"},
		{From: day, To: day.Add(100 * 24 * time.Hour), Bucket: "day"},
		{From: day, To: day.Add(24 * time.Hour), Bucket: "week"},
		{From: day, To: day.Add(90 * 24 * time.Hour), Bucket: "hour"}, // 2,160 hours is fine…
		{From: day, Bucket: "day"},
	} {
		err := q.Validate()
		if q.Bucket == "hour" && q.To.Sub(q.From) == 90*24*time.Hour {
			if err != nil {
				t.Errorf("%+v: %v", q, err)
			}
			continue
		}
		if parley.ErrorCode(err) != parley.EINVALID {
			t.Errorf("%+v: %v", q, err)
		}
	}
}
