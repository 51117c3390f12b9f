package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidwall/gjson"

	"github.com/parleychat/parley"
)

// The rollup keeps what the event log says about each conversation (its
// Facts) and each hour (its Counts) in the store, read once, so that a
// report reads a row per conversation of its range instead of all their
// events (docs/data.md). RollUp reads an account's new events into the
// rows; the server runs it every few seconds on the node that leads.
// Compute then reads the rows of the range and the events the rollup has
// not read yet — the log's tail — onto them.

// One RollUp save covers the events of several reads of rollupPage:
// until its rows — one per conversation and hour touched — reach
// rollupRows, or rollupEvents were read. Covering many events per save
// keeps a busy conversation's row from being rewritten every few events
// (session 13: the rollup was 17 % of the server's CPU under parley
// bench's max, a row written for every other message). A save writes its
// rows rollupChunk at a time, each in its own transaction: 500 rows in
// one held the writer about 9 ms, and every message behind it (session
// 28, steady's tail). So rollupRows bounds only the memory a save holds:
// at 500, 1,000 conversations each sending a message a second had every
// row rewritten a dozen times a tick (session 35).
const (
	rollupPage   = 200
	rollupRows   = 5000
	rollupEvents = 20000
	rollupChunk  = 50
)

// MaxTail is how many unread events a report reads onto the rollup's rows;
// a rollup further behind than that (just after an upgrade, while it
// reads the history once) leaves the report to read the log instead.
const MaxTail = 20000

// RollUpAll rolls up every account, folding what tail holds (nil: none)
// and reading the rest from the store.
func RollUpAll(ctx context.Context, store parley.Store, tail *Tail) error {
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if _, err := rollUp(ctx, store, a.ID, tail); err != nil {
			return fmt.Errorf("account %s: %w", a.ID, err)
		}
	}
	return nil
}

// RollUp reads the account's events after its rollup's cursor into the
// rollup, a page at a time, and returns how many it read. Two RollUps of
// one account (two nodes) are safe: the store takes one page and refuses
// the other, which stops.
func RollUp(ctx context.Context, store parley.Store, accountID string) (int, error) {
	return rollUp(ctx, store, accountID, nil)
}

// rollUp is RollUp folding what tail holds (nil: none) that follows the
// cursor without a gap, and the store's events otherwise.
func rollUp(ctx context.Context, store parley.Store, accountID string, tail *Tail) (int, error) {
	read := 0
	for {
		cursor, err := store.RollupCursor(ctx, accountID)
		if err != nil {
			return read, err
		}
		f := newFolding(hourSlot)
		at, n, caughtUp := cursor, 0, false
		for !caughtUp && n < rollupEvents && len(f.convs)+len(f.counts) < rollupRows {
			events, held := tail.take(accountID, at, rollupPage)
			if !held {
				var err error
				if events, err = store.ListEvents(ctx, accountID, parley.EventFilter{After: at, Limit: rollupPage}); err != nil {
					return read, err
				}
			}
			if err := f.loadTouched(ctx, store, accountID, events); err != nil {
				return read, err
			}
			for _, e := range events {
				f.event(e)
			}
			if len(events) > 0 {
				at = events[len(events)-1].Seq
			}
			n += len(events)
			caughtUp = len(events) < rollupPage
		}
		if n == 0 {
			return read, nil
		}
		// The rows go in short transactions first, the cursor with the
		// last: a message waits behind rollupChunk rows at most. Stopped
		// between them, the next RollUp reads these events again onto
		// rows that may already hold them, and the fold skips what a
		// row's seq says it holds.
		rows := f.rows(at)
		for len(rows) > rollupChunk {
			if err := store.SaveRollupRows(ctx, accountID, rows[:rollupChunk]); err != nil {
				return read, err
			}
			rows = rows[rollupChunk:]
		}
		err = store.SaveRollup(ctx, accountID, cursor, at, rows)
		if parley.ErrorCode(err) == parley.ECONFLICT {
			return read, nil // another node read these meanwhile
		}
		if err != nil {
			return read, err
		}
		read += n
		if caughtUp {
			return read, nil
		}
	}
}

// computeFromRollup is Compute for an hour-aligned range: the rollup's
// rows of the range, and the log's tail read onto them. ok is false when
// the tail is longer than MaxTail.
func computeFromRollup(ctx context.Context, store parley.Store, accountID string, q Query, capacity map[string]int) (r *Report, ok bool, err error) {
	cursor, err := store.RollupCursor(ctx, accountID)
	if err != nil {
		return nil, false, err
	}
	tail, err := store.ListEvents(ctx, accountID, parley.EventFilter{After: cursor, Limit: MaxTail + 1})
	if err != nil || len(tail) > MaxTail {
		return nil, false, err
	}
	f := newFolding(hourSlot)
	if err := store.ScanRollup(ctx, accountID, q.From, q.To, f.load); err != nil {
		return nil, false, err
	}
	// The rollup may have moved on since its cursor was read: rows it
	// saved since then say which of the tail's events they hold.
	if err := f.loadTouched(ctx, store, accountID, tail); err != nil {
		return nil, false, err
	}
	for _, e := range tail {
		f.event(e)
	}
	return report(q, f.convs, f.counts, capacity), true, nil
}

// loadTouched loads the rows of the conversations and hours that events
// touch and that f does not have yet.
func (f *folding) loadTouched(ctx context.Context, store parley.Store, accountID string, events []*parley.Event) error {
	var convs, hours []string
	seenConv, seenHour := map[string]bool{}, map[time.Time]bool{}
	for _, e := range events {
		if id := e.ConversationID; id != "" && f.convs[id] == nil && !seenConv[id] {
			seenConv[id] = true
			convs = append(convs, id)
		}
		if h, _ := hourSlot(e.CreatedAt); f.counts[h] == nil && !seenHour[h] {
			seenHour[h] = true
			hours = append(hours, h.Format(time.RFC3339))
		}
	}
	for _, k := range []struct {
		kind  string
		items []string
	}{{parley.RollupConversation, convs}, {parley.RollupHour, hours}} {
		if len(k.items) == 0 {
			continue
		}
		rows, err := store.RollupRows(ctx, accountID, k.kind, k.items)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := f.load(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// factsRow is Facts as a rollup row stores them: times in microseconds
// since 1970 (0: not yet).
type factsRow struct {
	OpenedAt     int64             `json:"opened_at,omitempty"`
	QueuedAt     int64             `json:"queued_at,omitempty"`
	AssignedAt   int64             `json:"assigned_at,omitempty"`
	FirstReplyAt int64             `json:"first_reply_at,omitempty"`
	ClosedAt     int64             `json:"closed_at,omitempty"`
	FirstAt      int64             `json:"first_at,omitempty"`
	LastAt       int64             `json:"last_at,omitempty"`
	WithBot      bool              `json:"with_bot,omitempty"`
	HandedOff    bool              `json:"handed_off,omitempty"`
	HadAgent     bool              `json:"had_agent,omitempty"`
	Skill        string            `json:"skill,omitempty"`
	Priority     int               `json:"priority,omitempty"`
	Assignee     string            `json:"assignee,omitempty"`
	Messages     int               `json:"messages,omitempty"`
	CSAT         int               `json:"csat,omitempty"`
	Holds        []holdRow         `json:"holds,omitempty"`
	Labels       []string          `json:"labels,omitempty"`
	Engagement   string            `json:"engagement,omitempty"`
	Categories   map[string]string `json:"categories,omitempty"`
}

// holdRow is a Hold as a rollup row stores it.
type holdRow struct {
	Agent string `json:"agent"`
	Skill string `json:"skill,omitempty"`
	From  int64  `json:"from"`
	Until int64  `json:"until,omitempty"`
}

// decodeFactsRow reads a stored factsRow in one pass over its JSON, as
// encoding/json would but without reflection: a month's dashboard decodes
// one per conversation, and with encoding/json that was half its time.
func decodeFactsRow(data []byte) (factsRow, error) {
	var d factsRow
	if !gjson.ValidBytes(data) {
		return d, fmt.Errorf("not JSON: %.40q", data)
	}
	gjson.ParseBytes(data).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "opened_at":
			d.OpenedAt = v.Int()
		case "queued_at":
			d.QueuedAt = v.Int()
		case "assigned_at":
			d.AssignedAt = v.Int()
		case "first_reply_at":
			d.FirstReplyAt = v.Int()
		case "closed_at":
			d.ClosedAt = v.Int()
		case "first_at":
			d.FirstAt = v.Int()
		case "last_at":
			d.LastAt = v.Int()
		case "with_bot":
			d.WithBot = v.Bool()
		case "handed_off":
			d.HandedOff = v.Bool()
		case "had_agent":
			d.HadAgent = v.Bool()
		case "skill":
			d.Skill = v.String()
		case "priority":
			d.Priority = int(v.Int())
		case "assignee":
			d.Assignee = v.String()
		case "messages":
			d.Messages = int(v.Int())
		case "csat":
			d.CSAT = int(v.Int())
		case "engagement":
			d.Engagement = v.String()
		case "labels":
			v.ForEach(func(_, l gjson.Result) bool {
				d.Labels = append(d.Labels, l.String())
				return true
			})
		case "categories":
			d.Categories = map[string]string{}
			v.ForEach(func(k, v gjson.Result) bool {
				d.Categories[k.Str] = v.String()
				return true
			})
		case "holds":
			v.ForEach(func(_, h gjson.Result) bool {
				var hr holdRow
				h.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "agent":
						hr.Agent = v.String()
					case "skill":
						hr.Skill = v.String()
					case "from":
						hr.From = v.Int()
					case "until":
						hr.Until = v.Int()
					}
					return true
				})
				d.Holds = append(d.Holds, hr)
				return true
			})
		}
		return true
	})
	return d, nil
}

func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// load adds a rollup row to f.
func (f *folding) load(r *parley.RollupRow) error {
	switch r.Kind {
	case parley.RollupConversation:
		d, err := decodeFactsRow(r.Data)
		if err != nil {
			return fmt.Errorf("rollup row of conversation %s: %w", r.Item, err)
		}
		c := &Facts{ConversationID: r.Item,
			OpenedAt: fromMicros(d.OpenedAt), QueuedAt: fromMicros(d.QueuedAt), AssignedAt: fromMicros(d.AssignedAt),
			FirstReplyAt: fromMicros(d.FirstReplyAt), ClosedAt: fromMicros(d.ClosedAt),
			FirstAt: fromMicros(d.FirstAt), LastAt: fromMicros(d.LastAt),
			WithBot: d.WithBot, HandedOff: d.HandedOff, HadAgent: d.HadAgent,
			Skill: d.Skill, Priority: d.Priority, Assignee: d.Assignee, Messages: d.Messages, CSAT: d.CSAT, Labels: d.Labels, Engagement: d.Engagement, Categories: d.Categories}
		for _, h := range d.Holds {
			c.Holds = append(c.Holds, Hold{Agent: h.Agent, Skill: h.Skill, From: fromMicros(h.From), Until: fromMicros(h.Until)})
		}
		f.convs[r.Item], f.convSeq[r.Item] = c, r.Seq
	case parley.RollupHour:
		var n Counts
		if err := json.Unmarshal(r.Data, &n); err != nil {
			return fmt.Errorf("rollup row of hour %s: %w", r.Item, err)
		}
		h, err := time.Parse(time.RFC3339, r.Item)
		if err != nil {
			return fmt.Errorf("rollup row of hour %q: %w", r.Item, err)
		}
		f.counts[h], f.slotSeq[h] = &n, r.Seq
	}
	return nil
}

// rows returns f's facts and counts as rollup rows read up to seq.
func (f *folding) rows(seq int64) []*parley.RollupRow {
	var out []*parley.RollupRow
	for id, c := range f.convs {
		d := factsRow{
			OpenedAt: toMicros(c.OpenedAt), QueuedAt: toMicros(c.QueuedAt), AssignedAt: toMicros(c.AssignedAt),
			FirstReplyAt: toMicros(c.FirstReplyAt), ClosedAt: toMicros(c.ClosedAt),
			FirstAt: toMicros(c.FirstAt), LastAt: toMicros(c.LastAt),
			WithBot: c.WithBot, HandedOff: c.HandedOff, HadAgent: c.HadAgent,
			Skill: c.Skill, Priority: c.Priority, Assignee: c.Assignee, Messages: c.Messages, CSAT: c.CSAT, Labels: c.Labels, Engagement: c.Engagement, Categories: c.Categories}
		held := false
		for _, h := range c.Holds {
			d.Holds = append(d.Holds, holdRow{Agent: h.Agent, Skill: h.Skill, From: toMicros(h.From), Until: toMicros(h.Until)})
			held = held || h.Until.IsZero()
		}
		data, _ := json.Marshal(d)
		// A conversation still open, or held, can change any time: it
		// matters to every report from its start on.
		end := c.LastAt
		if c.ClosedAt.IsZero() || held {
			end = parley.RollupOpen
		}
		out = append(out, &parley.RollupRow{Kind: parley.RollupConversation, Item: id, Seq: seq, Start: c.FirstAt, End: end, Data: data})
	}
	for h, n := range f.counts {
		data, _ := json.Marshal(n)
		out = append(out, &parley.RollupRow{Kind: parley.RollupHour, Item: h.Format(time.RFC3339), Seq: seq,
			Start: h, End: h.Add(time.Hour - time.Microsecond), Data: data})
	}
	return out
}
