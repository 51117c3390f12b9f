// Package analytics computes an account's contact-centre metrics from its
// event log: conversations, bot containment and handoffs, time in queue,
// first response, handle time, messages per conversation, CSAT, agent
// load, and widget activity, in hour or day buckets, filtered by skill and
// agent. It reads events; it keeps no state of its own.
package analytics

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/parleychat/parley"
	"github.com/tidwall/gjson"
)

// Query says what to compute.
type Query struct {
	From, To time.Time // [From, To)
	Bucket   string    // "hour" or "day"
	Skill    string    // skill ID; "" all
	Agent    string    // user ID; "" all
	// Lookback is how far before From events are read to know the history
	// of conversations that end in the range (default 7 days).
	Lookback time.Duration
}

// Limits of a query.
const (
	MaxRange   = 92 * 24 * time.Hour // one quarter
	MaxBuckets = 2400
)

// Validate checks the query.
func (q Query) Validate() error {
	if q.Bucket != "hour" && q.Bucket != "day" {
		return parley.Errorf(parley.EINVALID, "bucket must be hour or day, not %q", q.Bucket)
	}
	if err := parley.CheckRange(q.From, q.To, MaxRange, "one metrics query"); err != nil {
		return err
	}
	if n := int(q.To.Sub(q.From) / q.step()); n > MaxBuckets {
		return parley.Errorf(parley.EINVALID, "%d %s buckets; at most %d (use day buckets)", n, q.Bucket, MaxBuckets)
	}
	return nil
}

func (q Query) step() time.Duration {
	if q.Bucket == "hour" {
		return time.Hour
	}
	return 24 * time.Hour
}

// Duration is seconds, as JSON numbers.
type Duration float64

// Stat summarises durations.
type Stat struct {
	Count int      `json:"count"`
	Mean  Duration `json:"mean_seconds"`
	P90   Duration `json:"p90_seconds"`
}

func stat(ds []float64) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	slices.Sort(ds)
	var sum float64
	for _, d := range ds {
		sum += d
	}
	// p90 by the nearest-rank method.
	rank := int(math.Ceil(0.9*float64(len(ds)))) - 1
	return Stat{Count: len(ds), Mean: Duration(sum / float64(len(ds))), P90: Duration(ds[rank])}
}

// Bucket is one hour or day of the range.
type Bucket struct {
	Start            time.Time `json:"start"`
	Opened           int       `json:"opened"`
	Closed           int       `json:"closed"`
	BotHandoffs      int       `json:"bot_handoffs"`
	BotContained     int       `json:"bot_contained"`
	QueueWaitMean    Duration  `json:"queue_wait_mean_seconds"`
	FirstResponseAvg Duration  `json:"first_response_mean_seconds"`
	CSATMean         float64   `json:"csat_mean"`
	Messages         int       `json:"messages"`
	waits, frts      []float64
	csat             []int
}

// Totals are the whole range.
type Totals struct {
	Opened                  int     `json:"conversations_opened"`
	Closed                  int     `json:"conversations_closed"`
	BotConversations        int     `json:"bot_conversations"` // closed in the range, started with the bot
	BotContained            int     `json:"bot_contained"`     // of those, closed without a person
	ContainmentRate         float64 `json:"containment_rate"`
	BotHandoffs             int     `json:"bot_handoffs"`
	HandoffRate             float64 `json:"handoff_rate"` // handoffs ÷ conversations that started with the bot, opened in the range
	QueueWait               Stat    `json:"queue_wait"`
	FirstResponse           Stat    `json:"first_response"`
	HandleTime              Stat    `json:"handle_time"`
	MessagesPerConversation float64 `json:"messages_per_conversation"`
	CSATMean                float64 `json:"csat_mean"`
	CSATCount               int     `json:"csat_count"`
	CSATDistribution        [5]int  `json:"csat_distribution"` // scores 1 to 5
	WidgetLoads             int     `json:"widget_loads"`
	WidgetOpens             int     `json:"widget_opens"`
	WidgetTamper            int     `json:"widget_tamper_reports"`
	BotAnswered             int     `json:"bot_answered"`
	BotMissed               int     `json:"bot_missed"`
	BotHelpful              int     `json:"bot_helpful"`
	BotUnhelpful            int     `json:"bot_unhelpful"`
}

// Agent is one agent's row.
type Agent struct {
	ID            string  `json:"id"`
	Assigned      int     `json:"assigned"` // assignments in the range
	Closed        int     `json:"closed"`   // conversations they closed (or held at close) in the range
	FirstResponse Stat    `json:"first_response"`
	HandleTime    Stat    `json:"handle_time"`
	CSATMean      float64 `json:"csat_mean"`
	CSATCount     int     `json:"csat_count"`
	// Utilisation is the agent's conversation time in the range divided by
	// their capacity over the range (max concurrent × hours); presence is
	// not recorded, so idle online time is not known.
	Utilisation     float64 `json:"utilisation"`
	ConversationHrs float64 `json:"conversation_hours"`
	handle, frt     []float64
	csat            []int
}

// Report is the result.
type Report struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Bucket  string    `json:"bucket"`
	Totals  Totals    `json:"totals"`
	Buckets []*Bucket `json:"buckets"`
	Agents  []*Agent  `json:"agents"`
}

// conv is what the log says about one conversation.
type conv struct {
	openedAt, queuedAt, assignedAt, closedAt time.Time
	withBot, handedOff, hadAgent             bool
	skill, assignee                          string
	firstAgentMsg                            time.Time
	messages                                 int
	csat                                     int
	assignedFrom                             map[string]time.Time // agent → when their current assignment began
	agentTime                                map[string]float64   // agent → seconds assigned within the range
}

// eventConversation is the part of a conversation event that matters here
// (the fields state, skill, assignee_id and requeue_reason).
type eventConversation struct {
	State      parley.ConversationState
	Skill      string
	AssigneeID string
	Reason     string
}

type eventMessage struct {
	SenderKind parley.SenderKind
}

// Compute builds the report. capacity maps agent IDs to their maximum
// concurrent conversations (for utilisation).
func Compute(ctx context.Context, store parley.Store, accountID string, q Query, capacity map[string]int) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Lookback <= 0 {
		q.Lookback = 7 * 24 * time.Hour
	}
	step := q.step()
	r := &Report{From: q.From, To: q.To, Bucket: q.Bucket}
	for t := q.From; t.Before(q.To); t = t.Add(step) {
		r.Buckets = append(r.Buckets, &Bucket{Start: t})
	}
	bucket := func(t time.Time) *Bucket {
		if t.Before(q.From) || !t.Before(q.To) {
			return nil
		}
		return r.Buckets[int(t.Sub(q.From)/step)]
	}
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(q.From) && t.Before(q.To) }
	convs := map[string]*conv{}
	agents := map[string]*Agent{}
	agent := func(id string) *Agent {
		if agents[id] == nil {
			agents[id] = &Agent{ID: id}
		}
		return agents[id]
	}
	// Time an agent holds a conversation, clipped to the range.
	hold := func(c *conv, who string, until time.Time) {
		start, ok := c.assignedFrom[who]
		if !ok {
			return
		}
		delete(c.assignedFrom, who)
		if start.Before(q.From) {
			start = q.From
		}
		if until.After(q.To) {
			until = q.To
		}
		if until.After(start) {
			c.agentTime[who] += until.Sub(start).Seconds()
		}
	}
	t := &r.Totals
	err := store.ScanEvents(ctx, accountID, q.From.Add(-q.Lookback), q.To, func(e *parley.Event) error {
		at := e.CreatedAt
		c := convs[e.ConversationID]
		if c == nil && e.ConversationID != "" {
			c = &conv{assignedFrom: map[string]time.Time{}, agentTime: map[string]float64{}}
			convs[e.ConversationID] = c
		}
		switch e.Type {
		case parley.EventConversationOpened, parley.EventConversationRequeued, parley.EventConversationAssigned, parley.EventConversationClosed:
			f := gjson.GetManyBytes(e.Data, "state", "skill", "assignee_id", "requeue_reason")
			ec := eventConversation{State: parley.ConversationState(f[0].Str), Skill: f[1].Str, AssigneeID: f[2].Str, Reason: f[3].Str}
			if ec.Skill != "" || e.Type == parley.EventConversationRequeued {
				c.skill = ec.Skill
			}
			switch e.Type {
			case parley.EventConversationOpened:
				c.openedAt = at
				c.withBot = ec.State == parley.StateBot
				if ec.State == parley.StateQueued {
					c.queuedAt = at
				}
			case parley.EventConversationRequeued:
				if c.queuedAt.IsZero() {
					c.queuedAt = at
				}
				if ec.Reason == "bot_handoff" || ec.Reason == "bot_disabled" {
					c.handedOff = true
				}
				if c.assignee != "" {
					hold(c, c.assignee, at)
					c.assignee = ""
				}
			case parley.EventConversationAssigned:
				if c.assignee != "" && c.assignee != ec.AssigneeID {
					hold(c, c.assignee, at)
				}
				if c.assignedAt.IsZero() {
					c.assignedAt = at
					if c.queuedAt.IsZero() { // taken over from the bot without a queue
						c.queuedAt = at
					}
				}
				c.hadAgent, c.assignee = true, ec.AssigneeID
				c.assignedFrom[ec.AssigneeID] = at
				if in(at) && (q.Agent == "" || q.Agent == ec.AssigneeID) && (q.Skill == "" || q.Skill == c.skill) {
					agent(ec.AssigneeID).Assigned++
				}
			case parley.EventConversationClosed:
				c.closedAt = at
				if c.assignee != "" {
					hold(c, c.assignee, at)
				}
			}
		case parley.EventMessageCreated:
			// Most of a month's events are messages, and only who sent each
			// matters here: reading that one field, which comes early in the
			// event, instead of decoding the whole message halves the
			// dashboard's time (BenchmarkMetricsMillionEvents).
			kind := gjson.GetBytes(e.Data, "sender_kind")
			if kind.Type != gjson.String {
				return nil
			}
			m := eventMessage{SenderKind: parley.SenderKind(kind.Str)}
			if m.SenderKind != parley.SenderSystem {
				c.messages++
			}
			if m.SenderKind == parley.SenderAgent && c.firstAgentMsg.IsZero() {
				c.firstAgentMsg = at
			}
			if b := bucket(at); b != nil && m.SenderKind != parley.SenderSystem {
				b.Messages++
			}
		case parley.EventCSATSubmitted:
			var s struct {
				Score int `json:"score"`
			}
			if json.Unmarshal(e.Data, &s) == nil && s.Score >= 1 && s.Score <= 5 {
				c.csat = s.Score
			}
		case parley.EventBotHandoff:
			if in(at) && q.Agent == "" {
				t.BotHandoffs++
				if b := bucket(at); b != nil {
					b.BotHandoffs++
				}
			}
		case parley.EventBotAnswered:
			if in(at) && q.Agent == "" {
				t.BotAnswered++
			}
		case parley.EventBotMissed:
			if in(at) && q.Agent == "" {
				t.BotMissed++
			}
		case parley.EventBotFeedback:
			var f struct {
				Helpful bool `json:"helpful"`
			}
			if in(at) && q.Agent == "" && json.Unmarshal(e.Data, &f) == nil {
				if f.Helpful {
					t.BotHelpful++
				} else {
					t.BotUnhelpful++
				}
			}
		case parley.EventWidgetLoaded:
			if in(at) && q.Skill == "" && q.Agent == "" {
				t.WidgetLoads++
			}
		case parley.EventWidgetOpened:
			if in(at) && q.Skill == "" && q.Agent == "" {
				t.WidgetOpens++
			}
		case parley.EventWidgetTampered, parley.EventWidgetSuspected:
			if in(at) && q.Skill == "" && q.Agent == "" {
				t.WidgetTamper++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Conversations still held at the end of the range count until then.
	var msgs, closedWithMsgs int
	var waits, frts, handles []float64
	var csat []int
	botOpened := 0
	for _, c := range convs {
		for who := range c.assignedFrom {
			hold(c, who, q.To)
		}
		for who, secs := range c.agentTime {
			if q.Agent == "" || q.Agent == who {
				agent(who).ConversationHrs += secs / 3600
			}
		}
		if q.Skill != "" && c.skill != q.Skill {
			continue
		}
		if q.Agent != "" && c.assignee != q.Agent && !(c.hadAgent && c.agentTime[q.Agent] > 0) {
			continue
		}
		if in(c.openedAt) {
			t.Opened++
			bucket(c.openedAt).Opened++
			if c.withBot {
				botOpened++
			}
		}
		if in(c.assignedAt) && !c.queuedAt.IsZero() {
			w := c.assignedAt.Sub(c.queuedAt).Seconds()
			waits = append(waits, w)
			b := bucket(c.assignedAt)
			b.waits = append(b.waits, w)
		}
		if in(c.firstAgentMsg) && !c.queuedAt.IsZero() {
			f := c.firstAgentMsg.Sub(c.queuedAt).Seconds()
			frts = append(frts, f)
			b := bucket(c.firstAgentMsg)
			b.frts = append(b.frts, f)
			if c.assignee != "" {
				agent(c.assignee).frt = append(agent(c.assignee).frt, f)
			}
		}
		if in(c.closedAt) {
			t.Closed++
			b := bucket(c.closedAt)
			b.Closed++
			msgs += c.messages
			closedWithMsgs++
			if c.withBot {
				t.BotConversations++
				if !c.hadAgent && !c.handedOff {
					t.BotContained++
					b.BotContained++
				}
			}
			if c.hadAgent && !c.assignedAt.IsZero() {
				h := c.closedAt.Sub(c.assignedAt).Seconds()
				handles = append(handles, h)
				if c.assignee != "" {
					a := agent(c.assignee)
					a.handle = append(a.handle, h)
					a.Closed++
				}
			}
			if c.csat > 0 {
				csat = append(csat, c.csat)
				b.csat = append(b.csat, c.csat)
				t.CSATDistribution[c.csat-1]++
				if c.assignee != "" {
					agent(c.assignee).csat = append(agent(c.assignee).csat, c.csat)
				}
			}
		}
	}
	t.QueueWait, t.FirstResponse, t.HandleTime = stat(waits), stat(frts), stat(handles)
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
		a.ConversationHrs = round2(a.ConversationHrs)
		r.Agents = append(r.Agents, a)
	}
	sort.Slice(r.Agents, func(i, j int) bool { return r.Agents[i].ID < r.Agents[j].ID })
	return r, nil
}

func meanInt(xs []int) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0
	for _, x := range xs {
		sum += x
	}
	return round2(float64(sum) / float64(len(xs)))
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
