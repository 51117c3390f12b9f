// Package analytics computes an account's contact-centre metrics from its
// event log: conversations, bot containment and handoffs, time in queue,
// first response, handle time, messages per conversation, CSAT, agent
// load, and widget activity, in hour or day buckets, filtered by skill and
// agent. It reads events; it keeps no state of its own.
package analytics

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/parleychat/parley"
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
	// ResponseTarget, when set, gives the account's reply target for a
	// conversation's priority (0: none): the report says what share of
	// first responses met their conversation's target.
	ResponseTarget func(priority int) time.Duration
	// FieldKeys are the list and checkbox fields whose values the report
	// breaks down (Report.Fields), in this order: the account's
	// parley.Categories. Other fields are not in the event log's
	// categories, so not in the metrics.
	FieldKeys []string
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
	P50   Duration `json:"p50_seconds"` // the median
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
	// Percentiles by the nearest-rank method.
	rank := func(p float64) Duration { return Duration(ds[int(math.Ceil(p*float64(len(ds))))-1]) }
	return Stat{Count: len(ds), Mean: Duration(sum / float64(len(ds))), P50: rank(0.5), P90: rank(0.9)}
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
	// QueueWaits and FirstResponses count what the means are of: a bucket
	// without any has no mean, which a chart leaves blank rather than 0.
	QueueWaits     int     `json:"queue_waits"`
	FirstResponses int     `json:"first_responses"`
	CSATMean       float64 `json:"csat_mean"`
	Messages       int     `json:"messages"`
	// AgentsOnline is how many people were online on average over the
	// bucket (their online time ÷ its length): staffing beside demand.
	AgentsOnline float64 `json:"agents_online"`
	waits, frts  []float64
	csat         []int
}

// Totals are the whole range.
type Totals struct {
	Opened           int     `json:"conversations_opened"`
	Closed           int     `json:"conversations_closed"`
	BotConversations int     `json:"bot_conversations"` // closed in the range, started with the bot
	BotContained     int     `json:"bot_contained"`     // of those, closed without a person
	ContainmentRate  float64 `json:"containment_rate"`
	BotHandoffs      int     `json:"bot_handoffs"`
	HandoffRate      float64 `json:"handoff_rate"` // handoffs ÷ conversations that started with the bot, opened in the range
	QueueWait        Stat    `json:"queue_wait"`
	FirstResponse    Stat    `json:"first_response"`
	// FirstResponseInTarget is the share of first responses within the
	// account's response target (absent when it has none, or none came).
	FirstResponseInTarget   *float64 `json:"first_response_in_target,omitempty"`
	HandleTime              Stat     `json:"handle_time"`
	MessagesPerConversation float64  `json:"messages_per_conversation"`
	CSATMean                float64  `json:"csat_mean"`
	CSATCount               int      `json:"csat_count"`
	CSATDistribution        [5]int   `json:"csat_distribution"` // scores 1 to 5
	WidgetLoads             int      `json:"widget_loads"`
	WidgetOpens             int      `json:"widget_opens"`
	WidgetTamper            int      `json:"widget_tamper_reports"`
	BotAnswered             int      `json:"bot_answered"`
	BotMissed               int      `json:"bot_missed"`
	BotHelpful              int      `json:"bot_helpful"`
	BotUnhelpful            int      `json:"bot_unhelpful"`
}

// GroupStats are the metrics of a group of conversations (those carrying
// a label, or holding a field's value, as they are when the report is
// made), counted as the totals are: those opened, first answered, closed
// in the range.
type GroupStats struct {
	Conversations int     `json:"conversations"` // opened in the range
	Closed        int     `json:"closed"`
	FirstResponse Stat    `json:"first_response"`
	HandleTime    Stat    `json:"handle_time"`
	CSATMean      float64 `json:"csat_mean"`
	CSATCount     int     `json:"csat_count"`
	frt, handle   []float64
	csat          []int
}

// LabelStats are the metrics of the conversations carrying one label.
type LabelStats struct {
	Label string `json:"label"`
	GroupStats
}

// FieldStats are the metrics of the conversations whose conversation
// field Key holds Value (a list's option, a checkbox's "true" or
// "false"): the contact reasons and wrap-up codes of a contact centre's
// reports.
type FieldStats struct {
	Key   string `json:"key"`
	Label string `json:"label,omitempty"` // the field's, as the brand names it now (set by the API)
	Value string `json:"value"`
	GroupStats
}

// EngagementStats are one proactive engagement's results over the range:
// its teasers shown, clicked and dismissed, and the conversations
// visitors started from it (opened in the range), with their CSAT (closed
// in the range) — LivePerson's engagement report.
type EngagementStats struct {
	ID             string  `json:"id"`
	Name           string  `json:"name,omitempty"` // as the brand names it now (set by the API)
	Shown          int     `json:"shown"`
	Clicked        int     `json:"clicked"`
	Dismissed      int     `json:"dismissed"`
	Conversations  int     `json:"conversations"`
	ClickRate      float64 `json:"click_rate"`      // clicked ÷ shown
	ConversionRate float64 `json:"conversion_rate"` // conversations ÷ shown
	CSATMean       float64 `json:"csat_mean"`
	CSATCount      int     `json:"csat_count"`
	csat           []int
}

// InvitationStats are one agent's invitations to visitors on the site
// over the range (docs/widget.md, Live visitors): sent, and of those
// events in the range, answered, declined by the visitor and withdrawn;
// the rest lapsed or were still waiting, or the page went. AnswerRate is
// answered ÷ sent — LivePerson's agent-initiated chat report.
type InvitationStats struct {
	Agent      string  `json:"agent"`
	Name       string  `json:"name,omitempty"` // set by the API
	Sent       int     `json:"sent"`
	Answered   int     `json:"answered"`
	Declined   int     `json:"declined"`
	Withdrawn  int     `json:"withdrawn"`
	AnswerRate float64 `json:"answer_rate"`
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
	// their capacity over the range (max concurrent × hours).
	Utilisation     float64 `json:"utilisation"`
	ConversationHrs float64 `json:"conversation_hours"`
	// Status is their time online and away (AddStatuses); Occupancy their
	// conversation time over capacity × time online (none without time
	// online).
	Status    *StatusTime `json:"status,omitempty"`
	Occupancy *float64    `json:"occupancy,omitempty"`
	convHrs   float64
	handle    []float64
	frt       []float64
	csat      []int
}

// Report is the result.
type Report struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Bucket  string    `json:"bucket"`
	Totals  Totals    `json:"totals"`
	Buckets []*Bucket `json:"buckets"`
	Agents  []*Agent  `json:"agents"`
	// Labels: per label, most conversations first.
	Labels []*LabelStats `json:"labels"`
	// Fields: per value of each field of Query.FieldKeys, by key in
	// the query's order, then most conversations first.
	Fields []*FieldStats `json:"fields"`
	// Engagements: per proactive engagement seen in the range, most shown
	// first (teaser counts only in reports of no agent or skill).
	Engagements []*EngagementStats `json:"engagements"`
	// Invitations: per agent who invited visitors in the range, most sent
	// first (in reports of no skill; of one agent, theirs).
	Invitations []*InvitationStats `json:"invitations"`
}

// Compute builds the report. capacity maps agent IDs to their maximum
// concurrent conversations (for utilisation). A range of whole hours (UTC)
// is read from the rollup (rollup.go); another, or one the rollup is too
// far behind for, from the event log (ComputeFromLog).
func Compute(ctx context.Context, store parley.Store, accountID string, q Query, capacity map[string]int) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.From.Equal(q.From.Truncate(time.Hour)) && q.To.Equal(q.To.Truncate(time.Hour)) {
		r, ok, err := computeFromRollup(ctx, store, accountID, q, capacity)
		if err != nil || ok {
			return r, err
		}
	}
	return ComputeFromLog(ctx, store, accountID, q, capacity)
}

// ComputeFromLog builds the report from the events of the range and of
// q.Lookback before it: a conversation that began before that is seen only
// in part.
func ComputeFromLog(ctx context.Context, store parley.Store, accountID string, q Query, capacity map[string]int) (*Report, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Lookback <= 0 {
		q.Lookback = 7 * 24 * time.Hour
	}
	// Counted events fall into the report's buckets; those before the
	// range only tell the history of the conversations in it.
	step := q.step()
	f := newFolding(func(t time.Time) (time.Time, bool) {
		if t.Before(q.From) || !t.Before(q.To) {
			return time.Time{}, false
		}
		return q.From.Add(t.Sub(q.From) / step * step), true
	})
	err := store.ScanEvents(ctx, accountID, q.From.Add(-q.Lookback), q.To, func(e *parley.Event) error {
		f.event(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return report(q, f.convs, f.counts, capacity), nil
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
