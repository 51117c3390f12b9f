// Package export writes an account's conversations, messages or events in
// a time range as NDJSON or CSV, row by row from the store: memory stays
// flat however many rows there are. The CLI (`parley export`) and the REST
// API (a streamed download) both use it.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// What can be exported.
const (
	Conversations = "conversations"
	Messages      = "messages"
	Events        = "events"
	// Contacts are the visitors who wrote (docs/routing.md, Contacts),
	// those who became one in the range.
	Contacts = "contacts"
	// AgentStatus is the brand's people's status spans that overlap the
	// range (docs/routing.md, Agent status), for workforce tools and
	// payroll; at most MaxStatusRange, since they are read at once.
	AgentStatus = "agent-status"
)

// MaxStatusRange is the longest range of one agent-status export.
const MaxStatusRange = 92 * 24 * time.Hour

// Formats.
const (
	NDJSON = "ndjson"
	CSV    = "csv"
)

// MaxRange is the longest time range one export covers.
const MaxRange = 366 * 24 * time.Hour

// Request says what to export.
type Request struct {
	What, Format string
	From, To     time.Time // [From, To)
}

// ParseTime reads RFC 3339 ("2026-11-01T00:00:00Z") or a date ("2026-11-01",
// midnight UTC).
func ParseTime(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, parley.Errorf(parley.EINVALID, "%s must be a date (2026-11-01) or an RFC 3339 time (2026-11-01T09:00:00Z), not %q", field, v)
}

// Validate checks the request: known kind and format, a range forwards and
// at most MaxRange long.
func (r Request) Validate() error {
	switch r.What {
	case Conversations, Messages, Events, Contacts, AgentStatus:
	default:
		return parley.Errorf(parley.EINVALID, "what must be conversations, messages, events, contacts or agent-status, not %q", r.What)
	}
	if r.Format != NDJSON && r.Format != CSV {
		return parley.Errorf(parley.EINVALID, "format must be ndjson or csv, not %q", r.Format)
	}
	if r.What == AgentStatus {
		return parley.CheckRange(r.From, r.To, MaxStatusRange, "one agent-status export")
	}
	return parley.CheckRange(r.From, r.To, MaxRange, "one export")
}

// ContentType is the media type of the format.
func ContentType(format string) string {
	if format == CSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

var headers = map[string][]string{
	Conversations: {"id", "consumer_id", "channel", "state", "skill", "assignee_id", "priority", "created_at", "queued_at", "assigned_at", "closed_at", "close_reason", "closed_by", "messages", "labels", "engagement", "fields"},
	Messages:      {"conversation_id", "seq", "id", "created_at", "sender_kind", "sender_id", "sender_name", "type", "text", "attachment"},
	Events:        {"seq", "created_at", "type", "conversation_id", "message_seq", "data"},
	Contacts:      {"id", "external_id", "name", "email", "attributes", "created_at", "conversations", "last_activity_at", "blocked"},
	AgentStatus:   {"user_id", "status", "reason", "cause", "by", "since", "until", "seconds_in_range"},
}

// Write streams the rows to w and returns how many it wrote; progress, when
// set, is called after each row.
func Write(ctx context.Context, store parley.Store, accountID string, r Request, w io.Writer, progress func(n int)) (int, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if r.Format == CSV {
		cw = csv.NewWriter(bw)
		if err := cw.Write(headers[r.What]); err != nil {
			return 0, err
		}
	}
	enc := json.NewEncoder(bw)
	n := 0
	row := func(v any, cells func() []string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if cw != nil {
			err = cw.Write(cells())
		} else {
			err = enc.Encode(v)
		}
		n++
		if progress != nil {
			progress(n)
		}
		return err
	}
	var err error
	switch r.What {
	case Conversations:
		err = store.ScanConversations(ctx, accountID, r.From, r.To, func(c *parley.Conversation) error {
			return row(c, func() []string {
				return []string{c.ID, c.ConsumerID, c.Channel, string(c.State), c.Skill, c.AssigneeID, strconv.Itoa(c.Priority), stamp(&c.CreatedAt),
					stamp(c.QueuedAt), stamp(c.AssignedAt), stamp(c.ClosedAt), cell(c.CloseReason), c.ClosedBy, strconv.FormatInt(c.LastSeq, 10),
					strings.Join(c.Labels, ","), c.Engagement, cell(fieldsJSON(c.Fields))}
			})
		})
	case Messages:
		err = store.ScanMessages(ctx, accountID, r.From, r.To, func(m *parley.Message) error {
			return row(m, func() []string {
				att := ""
				if m.Attachment != nil {
					att = m.Attachment.Name
				}
				return []string{m.ConversationID, strconv.FormatInt(m.Seq, 10), m.ID, stamp(&m.CreatedAt), string(m.SenderKind), m.SenderID, cell(m.SenderName),
					string(m.Type), cell(m.Text), cell(att)}
			})
		})
	case Events:
		err = store.ScanEvents(ctx, accountID, r.From, r.To, func(e *parley.Event) error {
			return row(e, func() []string {
				return []string{strconv.FormatInt(e.Seq, 10), stamp(&e.CreatedAt), e.Type, e.ConversationID, strconv.FormatInt(e.MessageSeq, 10), cell(string(e.Data))}
			})
		})
	case AgentStatus:
		var spans []*parley.AgentStatus
		if spans, err = store.AgentStatuses(ctx, accountID, r.From, r.To); err != nil {
			break
		}
		for _, s := range spans {
			// The span's time within the range (a lasting one, up to now).
			a, z := s.Since, r.To
			if s.Until != nil && s.Until.Before(z) {
				z = *s.Until
			}
			if now := time.Now(); now.Before(z) {
				z = now
			}
			if a.Before(r.From) {
				a = r.From
			}
			secs := max(0, z.Sub(a).Seconds())
			if err = row(s, func() []string {
				return []string{s.UserID, s.Status, cell(s.Reason), s.Cause, s.By, stamp(&s.Since), stamp(s.Until), strconv.FormatFloat(secs, 'f', 0, 64)}
			}); err != nil {
				break
			}
		}
	case Contacts:
		err = scanContacts(ctx, store, accountID, r.From, r.To, func(c *parley.Contact) error {
			return row(c, func() []string {
				attrs := ""
				if len(c.Attributes) > 0 {
					b, _ := json.Marshal(c.Attributes)
					attrs = string(b)
				}
				return []string{c.ID, cell(c.ExternalID), cell(c.Name), cell(c.Email), cell(attrs), stamp(&c.CreatedAt),
					strconv.Itoa(c.Conversations), stamp(&c.LastActivityAt), strconv.FormatBool(c.Blocked)}
			})
		})
	}
	if err != nil {
		return n, err
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// scanContacts walks the contacts who became one in [from, to), newest
// first, a page at a time (contacts are listed newest first, so the walk
// stops at the first older than from).
func scanContacts(ctx context.Context, store parley.Store, accountID string, from, to time.Time, fn func(*parley.Contact) error) error {
	before := ""
	for {
		page, err := store.ListConsumers(ctx, accountID, parley.ConsumerFilter{Before: before, Limit: 200})
		if err != nil {
			return err
		}
		for _, c := range page {
			if c.CreatedAt.Before(from) {
				return nil
			}
			if c.CreatedAt.Before(to) {
				if err := fn(c); err != nil {
					return err
				}
			}
		}
		if len(page) < 200 {
			return nil
		}
		before = page[len(page)-1].ID
	}
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// cell keeps spreadsheet programs from running text as a formula (CSV
// injection): a value starting with = + - @ or a tab/CR gets a leading '.
// fieldsJSON is a conversation's field values as one JSON object ("" for
// none), the way contacts' attributes are written.
func fieldsJSON(f map[string]string) string {
	if len(f) == 0 {
		return ""
	}
	b, _ := json.Marshal(f)
	return string(b)
}

func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
