package analytics

import (
	"encoding/json"
	"time"

	"github.com/parleychat/parley"
	"github.com/tidwall/gjson"
)

// Facts is what the event log says about one conversation, whatever range
// a report asks for: the report picks from it (report.go). The rollup
// keeps each conversation's facts in the store (rollup.go), so that a
// report reads one row per conversation instead of its twenty-odd events.
type Facts struct {
	ConversationID string
	OpenedAt       time.Time
	QueuedAt       time.Time // first waited for a person (opened in the queue, a handoff, or taken from the bot)
	AssignedAt     time.Time // first assignment
	FirstReplyAt   time.Time // the first agent message
	ClosedAt       time.Time
	WithBot        bool // opened with the bot
	HandedOff      bool // the bot handed it to people
	HadAgent       bool
	Skill          string   // the latest
	Priority       int      // the latest (0–10)
	Assignee       string   // the latest; kept at close, cleared when queued again
	Messages       int      // visitor, agent and bot messages (not system notices)
	CSAT           int      // 1–5, 0 when not rated
	Labels         []string // the staff's labels, as they are now
	// Categories are the values of its list and checkbox fields, as they
	// are now (parley.FieldChange.Categories).
	Categories map[string]string
	Engagement string    // the proactive engagement it started from
	Holds      []Hold    // each assignment, in order
	FirstAt    time.Time // its first event
	LastAt     time.Time // its latest event
}

// Hold is one agent's assignment to a conversation.
type Hold struct {
	Agent string    `json:"agent"`
	Skill string    `json:"skill,omitempty"` // the conversation's skill when it was assigned
	From  time.Time `json:"from"`
	Until time.Time `json:"until"` // zero while held
}

// Counts are the events of one slot of time that a report counts without
// looking at their conversation's history.
type Counts struct {
	Messages     int `json:"messages,omitempty"` // visitor, agent and bot messages
	BotHandoffs  int `json:"bot_handoffs,omitempty"`
	BotAnswered  int `json:"bot_answered,omitempty"`
	BotMissed    int `json:"bot_missed,omitempty"`
	BotHelpful   int `json:"bot_helpful,omitempty"`
	BotUnhelpful int `json:"bot_unhelpful,omitempty"`
	WidgetLoads  int `json:"widget_loads,omitempty"`
	WidgetOpens  int `json:"widget_opens,omitempty"`
	WidgetTamper int `json:"widget_tamper,omitempty"` // widget.tampered and widget.suspected_tamper
	// Engagements: per proactive engagement's ID, its teasers shown,
	// clicked and dismissed.
	Engagements map[string]*EngagementCounts `json:"engagements,omitempty"`
	// Invitations: per agent's ID, the invitations they sent to visitors
	// on the site and what became of them.
	Invitations map[string]*InvitationCounts `json:"invitations,omitempty"`
}

// InvitationCounts are one agent's invitation events in a slot.
type InvitationCounts struct {
	Sent      int `json:"sent,omitempty"`
	Answered  int `json:"answered,omitempty"`
	Declined  int `json:"declined,omitempty"`
	Withdrawn int `json:"withdrawn,omitempty"`
}

// EngagementCounts are one engagement's teaser events in a slot.
type EngagementCounts struct {
	Shown     int `json:"shown,omitempty"`
	Clicked   int `json:"clicked,omitempty"`
	Dismissed int `json:"dismissed,omitempty"`
}

// folding reads events, in seq order, into facts and counts. Counts are
// kept per slot: the slot function maps an event's time to the start of
// its slot (an hour for the rollup, a report's bucket for a scan), or
// reports false to leave the event uncounted.
//
// Facts and counts loaded from the rollup carry the seq of the last event
// read into them (convSeq, slotSeq): an event at or below it is already in
// them and is not read again, so a report can read the log's tail onto
// rows a rollup saved after the report looked at its cursor.
type folding struct {
	convs   map[string]*Facts
	counts  map[time.Time]*Counts
	slot    func(time.Time) (time.Time, bool)
	convSeq map[string]int64
	slotSeq map[time.Time]int64
}

func newFolding(slot func(time.Time) (time.Time, bool)) *folding {
	return &folding{convs: map[string]*Facts{}, counts: map[time.Time]*Counts{}, slot: slot,
		convSeq: map[string]int64{}, slotSeq: map[time.Time]int64{}}
}

func hourSlot(t time.Time) (time.Time, bool) { return t.UTC().Truncate(time.Hour), true }

// count returns the counts of e's slot, or nil when e is counted nowhere
// or already counted.
func (f *folding) count(e *parley.Event) *Counts {
	s, ok := f.slot(e.CreatedAt)
	if !ok || e.Seq <= f.slotSeq[s] {
		return nil
	}
	c := f.counts[s]
	if c == nil {
		c = &Counts{}
		f.counts[s] = c
	}
	return c
}

// conv returns the facts of e's conversation (new ones if it is not
// known), or nil when e has no conversation or is already in its facts.
func (f *folding) conv(e *parley.Event) *Facts {
	id := e.ConversationID
	if id == "" || e.Seq <= f.convSeq[id] {
		return nil
	}
	c := f.convs[id]
	if c == nil {
		c = &Facts{ConversationID: id}
		f.convs[id] = c
	}
	if c.FirstAt.IsZero() || e.CreatedAt.Before(c.FirstAt) {
		c.FirstAt = e.CreatedAt
	}
	if e.CreatedAt.After(c.LastAt) {
		c.LastAt = e.CreatedAt
	}
	return c
}

// release ends the current assignment at t.
func (c *Facts) release(t time.Time) {
	if n := len(c.Holds); n > 0 && c.Holds[n-1].Until.IsZero() {
		c.Holds[n-1].Until = t
	}
}

func (f *folding) event(e *parley.Event) {
	at := e.CreatedAt
	switch e.Type {
	case parley.EventConversationOpened, parley.EventConversationRequeued, parley.EventConversationAssigned, parley.EventConversationClosed:
		c := f.conv(e)
		if c == nil {
			return
		}
		d := gjson.GetManyBytes(e.Data, "state", "skill", "assignee_id", "requeue_reason", "priority", "engagement")
		state, skill, assignee, reason := parley.ConversationState(d[0].Str), d[1].Str, d[2].Str, d[3].Str
		if skill != "" || e.Type == parley.EventConversationRequeued {
			c.Skill = skill
		}
		if d[4].Exists() {
			c.Priority = int(d[4].Int())
		}
		switch e.Type {
		case parley.EventConversationOpened:
			c.OpenedAt = at
			c.WithBot = state == parley.StateBot
			c.Engagement = d[5].Str
			if state == parley.StateQueued {
				c.QueuedAt = at
			}
		case parley.EventConversationRequeued:
			if c.QueuedAt.IsZero() {
				c.QueuedAt = at
			}
			if reason == "bot_handoff" || reason == "bot_disabled" {
				c.HandedOff = true
			}
			c.release(at)
			c.Assignee = ""
		case parley.EventConversationAssigned:
			c.release(at)
			if c.AssignedAt.IsZero() {
				c.AssignedAt = at
				if c.QueuedAt.IsZero() { // taken over from the bot without a queue
					c.QueuedAt = at
				}
			}
			c.HadAgent, c.Assignee = true, assignee
			c.Holds = append(c.Holds, Hold{Agent: assignee, Skill: c.Skill, From: at})
		case parley.EventConversationClosed:
			c.ClosedAt = at
			c.release(at)
		}
	case parley.EventMessageCreated:
		// Most of a month's events are messages, and only who sent each
		// matters here: reading that one field, which comes early in the
		// event, instead of decoding the whole message halves the
		// dashboard's time (BenchmarkMetricsMillionEvents).
		kind := gjson.GetBytes(e.Data, "sender_kind")
		if kind.Type != gjson.String || parley.SenderKind(kind.Str) == parley.SenderSystem {
			return
		}
		if c := f.conv(e); c != nil {
			c.Messages++
			if parley.SenderKind(kind.Str) == parley.SenderAgent && c.FirstReplyAt.IsZero() {
				c.FirstReplyAt = at
			}
		}
		if n := f.count(e); n != nil {
			n.Messages++
		}
	case parley.EventConversationPriority:
		if c := f.conv(e); c != nil {
			c.Priority = int(gjson.GetBytes(e.Data, "priority").Int())
		}
	case parley.EventConversationLabeled:
		if c := f.conv(e); c != nil {
			c.Labels = nil
			gjson.GetBytes(e.Data, "labels").ForEach(func(_, v gjson.Result) bool {
				c.Labels = append(c.Labels, v.Str)
				return true
			})
		}
	case parley.EventConversationFields:
		if c := f.conv(e); c != nil {
			c.Categories = nil
			gjson.GetBytes(e.Data, "categories").ForEach(func(k, v gjson.Result) bool {
				if c.Categories == nil {
					c.Categories = map[string]string{}
				}
				c.Categories[k.Str] = v.Str
				return true
			})
		}
	case parley.EventCSATSubmitted:
		var s struct {
			Score int `json:"score"`
		}
		if c := f.conv(e); c != nil && json.Unmarshal(e.Data, &s) == nil && s.Score >= 1 && s.Score <= 5 {
			c.CSAT = s.Score
		}
	case parley.EventEngagementShown, parley.EventEngagementClicked, parley.EventEngagementDismissed:
		id := gjson.GetBytes(e.Data, "engagement").Str
		n := f.count(e)
		if n == nil || id == "" {
			return
		}
		ec := entry(&n.Engagements, id)
		switch e.Type {
		case parley.EventEngagementShown:
			ec.Shown++
		case parley.EventEngagementClicked:
			ec.Clicked++
		default:
			ec.Dismissed++
		}
	case parley.EventVisitorInvited, parley.EventInvitationAnswered, parley.EventInvitationDeclined, parley.EventInvitationWithdrawn:
		agent := gjson.GetBytes(e.Data, "agent_id").Str
		n := f.count(e)
		if n == nil || agent == "" {
			return
		}
		ic := entry(&n.Invitations, agent)
		switch e.Type {
		case parley.EventVisitorInvited:
			ic.Sent++
		case parley.EventInvitationAnswered:
			ic.Answered++
		case parley.EventInvitationDeclined:
			ic.Declined++
		default:
			ic.Withdrawn++
		}
	case parley.EventBotHandoff, parley.EventBotAnswered, parley.EventBotMissed, parley.EventBotFeedback,
		parley.EventWidgetLoaded, parley.EventWidgetOpened, parley.EventWidgetTampered, parley.EventWidgetSuspected:
		n := f.count(e)
		if n == nil {
			return
		}
		switch e.Type {
		case parley.EventBotHandoff:
			n.BotHandoffs++
		case parley.EventBotAnswered:
			n.BotAnswered++
		case parley.EventBotMissed:
			n.BotMissed++
		case parley.EventBotFeedback:
			var fb struct {
				Helpful bool `json:"helpful"`
			}
			if json.Unmarshal(e.Data, &fb) == nil {
				if fb.Helpful {
					n.BotHelpful++
				} else {
					n.BotUnhelpful++
				}
			}
		case parley.EventWidgetLoaded:
			n.WidgetLoads++
		case parley.EventWidgetOpened:
			n.WidgetOpens++
		default:
			n.WidgetTamper++
		}
	}
}

// entry returns (*m)[key], making the map and the entry when missing.
func entry[T any](m *map[string]*T, key string) *T {
	if *m == nil {
		*m = map[string]*T{}
	}
	v := (*m)[key]
	if v == nil {
		v = new(T)
		(*m)[key] = v
	}
	return v
}
