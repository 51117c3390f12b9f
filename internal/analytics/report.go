package analytics

import (
	"slices"
	"sort"
	"time"
)

// report picks the range's metrics from the facts of its conversations and
// the counts of its slots (each slot wholly inside one bucket, or outside
// the range).
func report(q Query, convs map[string]*Facts, counts map[time.Time]*Counts, capacity map[string]int) *Report {
	step := q.step()
	r := &Report{From: q.From, To: q.To, Bucket: q.Bucket}
	for t := q.From; t.Before(q.To); t = t.Add(step) {
		r.Buckets = append(r.Buckets, &Bucket{Start: t})
	}
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(q.From) && t.Before(q.To) }
	bucket := func(t time.Time) *Bucket { return r.Buckets[int(t.Sub(q.From)/step)] }
	agents := map[string]*Agent{}
	agent := func(id string) *Agent {
		if agents[id] == nil {
			agents[id] = &Agent{ID: id}
		}
		return agents[id]
	}
	t := &r.Totals
	labels := map[string]*LabelStats{}
	engagements := map[string]*EngagementStats{}
	invitations := map[string]*InvitationStats{}
	engagement := func(id string) *EngagementStats {
		if engagements[id] == nil {
			engagements[id] = &EngagementStats{ID: id}
		}
		return engagements[id]
	}
	type keyValue struct{ key, value string }
	fields := map[keyValue]*FieldStats{}
	// groups are the label and field groups a conversation counts in.
	var groups []*GroupStats
	groupsOf := func(c *Facts) []*GroupStats {
		groups = groups[:0]
		for _, l := range c.Labels {
			if labels[l] == nil {
				labels[l] = &LabelStats{Label: l}
			}
			groups = append(groups, &labels[l].GroupStats)
		}
		for _, k := range q.FieldKeys {
			v, ok := c.Categories[k]
			if !ok {
				continue
			}
			kv := keyValue{k, v}
			if fields[kv] == nil {
				fields[kv] = &FieldStats{Key: k, Value: v}
			}
			groups = append(groups, &fields[kv].GroupStats)
		}
		return groups
	}

	// Events counted by when they happened.
	for at, c := range counts {
		if !in(at) {
			continue
		}
		b := bucket(at)
		b.Messages += c.Messages
		if q.Agent == "" {
			t.BotHandoffs += c.BotHandoffs
			b.BotHandoffs += c.BotHandoffs
			t.BotAnswered += c.BotAnswered
			t.BotMissed += c.BotMissed
			t.BotHelpful += c.BotHelpful
			t.BotUnhelpful += c.BotUnhelpful
		}
		if q.Agent == "" && q.Skill == "" {
			t.WidgetLoads += c.WidgetLoads
			t.WidgetOpens += c.WidgetOpens
			t.WidgetTamper += c.WidgetTamper
			for id, ec := range c.Engagements {
				es := engagement(id)
				es.Shown += ec.Shown
				es.Clicked += ec.Clicked
				es.Dismissed += ec.Dismissed
			}
		}
		if q.Skill == "" { // an invitation has no skill
			for agent, ic := range c.Invitations {
				if q.Agent != "" && agent != q.Agent {
					continue
				}
				is := invitations[agent]
				if is == nil {
					is = &InvitationStats{Agent: agent}
					invitations[agent] = is
				}
				is.Sent += ic.Sent
				is.Answered += ic.Answered
				is.Declined += ic.Declined
				is.Withdrawn += ic.Withdrawn
			}
		}
	}

	// Conversations, by what happened to each in the range.
	var msgs, closedWithMsgs int
	var waits, frts, handles []float64
	var withTarget, inTarget int // first responses that had a target, and met it
	var csat []int
	botOpened := 0
	for _, c := range convs {
		// Each agent's time on it within the range; a hold still going
		// counts until the range ends.
		agentTime := map[string]float64{}
		for _, h := range c.Holds {
			if in(h.From) && (q.Agent == "" || q.Agent == h.Agent) && (q.Skill == "" || q.Skill == h.Skill) {
				agent(h.Agent).Assigned++
			}
			from, until := h.From, h.Until
			if from.Before(q.From) {
				from = q.From
			}
			if until.IsZero() || until.After(q.To) {
				until = q.To
			}
			if until.After(from) {
				agentTime[h.Agent] += until.Sub(from).Seconds()
			}
		}
		for who, secs := range agentTime {
			if q.Agent == "" || q.Agent == who {
				agent(who).ConversationHrs += secs / 3600
			}
		}
		if q.Skill != "" && c.Skill != q.Skill {
			continue
		}
		if q.Agent != "" && c.Assignee != q.Agent && !(c.HadAgent && agentTime[q.Agent] > 0) {
			continue
		}
		groups := groupsOf(c)
		if in(c.OpenedAt) {
			for _, g := range groups {
				g.Conversations++
			}
			t.Opened++
			bucket(c.OpenedAt).Opened++
			if c.Engagement != "" {
				engagement(c.Engagement).Conversations++
			}
			if c.WithBot {
				botOpened++
			}
		}
		if in(c.AssignedAt) && !c.QueuedAt.IsZero() {
			w := c.AssignedAt.Sub(c.QueuedAt).Seconds()
			waits = append(waits, w)
			b := bucket(c.AssignedAt)
			b.waits = append(b.waits, w)
		}
		if in(c.FirstReplyAt) && !c.QueuedAt.IsZero() {
			f := c.FirstReplyAt.Sub(c.QueuedAt).Seconds()
			frts = append(frts, f)
			if q.ResponseTarget != nil {
				if target := q.ResponseTarget(c.Priority); target > 0 {
					withTarget++
					if f <= target.Seconds() {
						inTarget++
					}
				}
			}
			for _, g := range groups {
				g.frt = append(g.frt, f)
			}
			b := bucket(c.FirstReplyAt)
			b.frts = append(b.frts, f)
			if c.Assignee != "" {
				agent(c.Assignee).frt = append(agent(c.Assignee).frt, f)
			}
		}
		if in(c.ClosedAt) {
			for _, g := range groups {
				g.Closed++
				if c.HadAgent && !c.AssignedAt.IsZero() {
					g.handle = append(g.handle, c.ClosedAt.Sub(c.AssignedAt).Seconds())
				}
				if c.CSAT > 0 {
					g.csat = append(g.csat, c.CSAT)
				}
			}
			t.Closed++
			b := bucket(c.ClosedAt)
			b.Closed++
			msgs += c.Messages
			closedWithMsgs++
			if c.WithBot {
				t.BotConversations++
				if !c.HadAgent && !c.HandedOff {
					t.BotContained++
					b.BotContained++
				}
			}
			if c.HadAgent && !c.AssignedAt.IsZero() {
				h := c.ClosedAt.Sub(c.AssignedAt).Seconds()
				handles = append(handles, h)
				if c.Assignee != "" {
					a := agent(c.Assignee)
					a.handle = append(a.handle, h)
					a.Closed++
				}
			}
			if c.CSAT > 0 && c.Engagement != "" {
				es := engagement(c.Engagement)
				es.csat = append(es.csat, c.CSAT)
			}
			if c.CSAT > 0 {
				csat = append(csat, c.CSAT)
				b.csat = append(b.csat, c.CSAT)
				t.CSATDistribution[c.CSAT-1]++
				if c.Assignee != "" {
					agent(c.Assignee).csat = append(agent(c.Assignee).csat, c.CSAT)
				}
			}
		}
	}
	t.QueueWait, t.FirstResponse, t.HandleTime = stat(waits), stat(frts), stat(handles)
	if withTarget > 0 {
		share := round2(float64(inTarget) / float64(withTarget))
		t.FirstResponseInTarget = &share
	}
	if closedWithMsgs > 0 {
		t.MessagesPerConversation = round2(float64(msgs) / float64(closedWithMsgs))
	}
	t.CSATMean, t.CSATCount = meanInt(csat), len(csat)
	if t.BotConversations > 0 {
		t.ContainmentRate = round2(float64(t.BotContained) / float64(t.BotConversations))
	}
	if botOpened > 0 {
		t.HandoffRate = round2(float64(t.BotHandoffs) / float64(botOpened))
	}
	for _, b := range r.Buckets {
		b.QueueWaitMean, b.FirstResponseAvg, b.CSATMean = stat(b.waits).Mean, stat(b.frts).Mean, meanInt(b.csat)
		b.QueueWaits, b.FirstResponses = len(b.waits), len(b.frts)
	}
	hours := q.To.Sub(q.From).Hours()
	for _, a := range agents {
		if q.Agent != "" && a.ID != q.Agent {
			continue
		}
		a.FirstResponse, a.HandleTime, a.CSATMean, a.CSATCount = stat(a.frt), stat(a.handle), meanInt(a.csat), len(a.csat)
		if c := capacity[a.ID]; c > 0 {
			a.Utilisation = round2(a.ConversationHrs / (float64(c) * hours))
		}
		a.convHrs, a.ConversationHrs = a.ConversationHrs, round2(a.ConversationHrs)
		r.Agents = append(r.Agents, a)
	}
	sort.Slice(r.Agents, func(i, j int) bool { return r.Agents[i].ID < r.Agents[j].ID })
	r.Labels = []*LabelStats{}
	for _, ls := range labels {
		if ls.finish() {
			r.Labels = append(r.Labels, ls)
		}
	}
	r.Fields = []*FieldStats{}
	for _, fs := range fields {
		if fs.finish() {
			r.Fields = append(r.Fields, fs)
		}
	}
	sort.Slice(r.Fields, func(i, j int) bool {
		a, b := r.Fields[i], r.Fields[j]
		if a.Key != b.Key {
			return slices.Index(q.FieldKeys, a.Key) < slices.Index(q.FieldKeys, b.Key)
		}
		if a.Conversations != b.Conversations {
			return a.Conversations > b.Conversations
		}
		return a.Value < b.Value
	})
	r.Engagements = []*EngagementStats{}
	for _, es := range engagements {
		es.CSATMean, es.CSATCount = meanInt(es.csat), len(es.csat)
		if es.Shown > 0 {
			es.ClickRate = round2(float64(es.Clicked) / float64(es.Shown))
			es.ConversionRate = round2(float64(es.Conversations) / float64(es.Shown))
		}
		r.Engagements = append(r.Engagements, es)
	}
	r.Invitations = []*InvitationStats{}
	for _, is := range invitations {
		if is.Sent > 0 {
			is.AnswerRate = round2(float64(is.Answered) / float64(is.Sent))
		}
		r.Invitations = append(r.Invitations, is)
	}
	sort.Slice(r.Invitations, func(i, j int) bool {
		a, b := r.Invitations[i], r.Invitations[j]
		if a.Sent != b.Sent {
			return a.Sent > b.Sent
		}
		return a.Agent < b.Agent
	})
	sort.Slice(r.Engagements, func(i, j int) bool {
		a, b := r.Engagements[i], r.Engagements[j]
		if a.Shown != b.Shown {
			return a.Shown > b.Shown
		}
		return a.ID < b.ID
	})
	sort.Slice(r.Labels, func(i, j int) bool {
		a, b := r.Labels[i], r.Labels[j]
		if a.Conversations != b.Conversations {
			return a.Conversations > b.Conversations
		}
		return a.Label < b.Label
	})
	return r
}

// finish computes the group's statistics from what it gathered, and
// reports whether anything of the group happened in the range (a
// conversation of it may only overlap the range).
func (g *GroupStats) finish() bool {
	g.FirstResponse, g.HandleTime, g.CSATMean, g.CSATCount = stat(g.frt), stat(g.handle), meanInt(g.csat), len(g.csat)
	return g.Conversations > 0 || g.Closed > 0 || len(g.frt) > 0
}
