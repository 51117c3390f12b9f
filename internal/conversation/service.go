// Package conversation is Parley's core service: it opens conversations,
// accepts messages, moves conversations between states and records
// receipts, checking who may do what before anything reaches the store.
package conversation

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley"
)

// Ephemeral event types: published on the bus, never stored. Their Seq is 0.
const (
	EventTyping = "typing"
	// EventViewing is ephemeral too: a person of the brand has the
	// conversation open in their console, or no longer has.
	EventViewing = "viewing"
)

// Service is the conversation service. Its methods take the acting
// principal and answer ENOTFOUND for anything the principal may not see.
type Service struct {
	store  parley.Store
	bus    parley.Bus
	limits parley.MessageLimits
	// Mask, when set, rewrites what people write — message text, captions,
	// notes — before it is stored, by the account's masking rules (card
	// numbers and the brand's patterns, internal/masking). It runs after
	// validation; max is the message limit in characters.
	Mask func(ctx context.Context, accountID, text string, max int) (string, error)
	// Throttle, when set, is asked before each message or file a
	// principal sends; an error (rate_limited) refuses it, storing nothing.
	Throttle func(p parley.Principal) error
	// Preview, when set, masks a visitor's draft for the agents' typing
	// preview and says whether the brand shows drafts; unset, none is.
	Preview func(ctx context.Context, accountID, draft string, max int) (string, bool, error)
	// StartWithBot, when set, says whether the account's new conversations
	// start with its bot rather than in the queue.
	StartWithBot func(ctx context.Context, accountID string) bool
	// TakeInvitation, when set, returns the account's waiting agent
	// invitation with that ID and takes it away (nil: none), for a visitor
	// who answers one (docs/widget.md, Live visitors).
	TakeInvitation func(accountID, id string) *parley.Invitation
	// AgentOnline, when set, says whether a person takes conversations
	// now: an answered invitation whose agent has gone waits in the queue.
	AgentOnline func(accountID, userID string) bool
}

// New returns a Service over store and bus with the given message limits.
func New(store parley.Store, bus parley.Bus, limits parley.MessageLimits) *Service {
	if limits.MaxChars <= 0 {
		limits.MaxChars = parley.DefaultMessageLimits.MaxChars
	}
	if limits.MaxChoices <= 0 {
		limits.MaxChoices = parley.DefaultMessageLimits.MaxChoices
	}
	if limits.MaxClientID <= 0 {
		limits.MaxClientID = parley.DefaultMessageLimits.MaxClientID
	}
	return &Service{store: store, bus: bus, limits: limits}
}

// Limits returns the message limits in force.
func (s *Service) Limits() parley.MessageLimits { return s.limits }

// OpenInput describes a conversation to open.
type OpenInput struct {
	ConsumerID string // ignored for consumers: they open their own
	Channel    string
	Skill      string
	Priority   int
	// AssigneeID (staff): the conversation is that user's at once. A
	// person may name only themselves — a conversation they start with a
	// contact; an API key anyone of the account.
	AssigneeID string
	// Engagement (visitors only): the ID of the brand's proactive
	// engagement the visitor answered. Its text becomes the first message
	// and its skill, if any, the conversation's. One the brand has since
	// removed is let go: the visitor's conversation opens all the same.
	Engagement string
	// Invitation (visitors only): the ID of the agent's invitation the
	// visitor answered. Its text becomes the first message, and the
	// conversation is that agent's if they have room (else it waits in
	// the queue). One answered already, or gone, is let go.
	Invitation string
}

// Open starts a conversation. A consumer opens one for themself through the
// web channel; staff open one for any consumer of the account through the API.
func (s *Service) Open(ctx context.Context, p parley.Principal, in OpenInput) (*parley.Conversation, error) {
	o := parley.ConversationOpen{ConsumerID: in.ConsumerID, Channel: in.Channel, State: parley.StateQueued, Skill: in.Skill, Priority: in.Priority, AssigneeID: in.AssigneeID}
	switch {
	case p.Kind == parley.PrincipalConsumer:
		o.ConsumerID, o.Channel, o.Priority, o.AssigneeID = p.ID, parley.ChannelWeb, 0, ""
	case p.Can(parley.RoleAgent):
		if o.ConsumerID == "" {
			return nil, parley.Errorf(parley.EINVALID, "consumer_id is required")
		}
		if o.Channel == "" {
			o.Channel = parley.ChannelAPI
		}
	default:
		return nil, parley.Errorf(parley.EFORBIDDEN, "not allowed to open conversations")
	}
	if o.Priority < 0 || o.Priority > 10 {
		return nil, parley.Errorf(parley.EINVALID, "priority must be between 0 and 10")
	}
	if o.AssigneeID != "" && p.Kind == parley.PrincipalUser && o.AssigneeID != p.ID {
		return nil, parley.Errorf(parley.EFORBIDDEN, "a conversation you start is yours: assignee_id may only be your own ID (transfer it afterwards)")
	}
	if in.Engagement != "" {
		if p.Kind != parley.PrincipalConsumer {
			return nil, parley.Errorf(parley.EINVALID, "engagement: only a visitor answers an engagement")
		}
		e, err := s.engagement(ctx, p.AccountID, in.Engagement)
		if err != nil {
			return nil, err
		}
		if e != nil {
			o.Engagement = e
			if o.Skill == "" {
				o.Skill = e.Skill
			}
		}
	}
	if in.Invitation != "" {
		if p.Kind != parley.PrincipalConsumer {
			return nil, parley.Errorf(parley.EINVALID, "invitation: only a visitor answers an invitation")
		}
		if !parley.HasIDPrefix(in.Invitation, "inv") {
			return nil, parley.Errorf(parley.EINVALID, "invitation must be an invitation's ID (inv_…)")
		}
		if s.TakeInvitation != nil {
			if inv := s.TakeInvitation(p.AccountID, in.Invitation); inv != nil {
				if s.Mask != nil { // the agent's words, masked as their messages are
					var err error
					if inv.Text, err = s.Mask(ctx, p.AccountID, inv.Text, s.limits.MaxChars); err != nil {
						return nil, err
					}
				}
				o.Invitation, o.AssigneeID, o.Engagement, o.Skill = inv, inv.AgentID, nil, ""
				if s.AgentOnline != nil && !s.AgentOnline(p.AccountID, inv.AgentID) {
					o.AssigneeID = "" // they left the console since: the queue's
					return s.store.OpenConversation(ctx, p.AccountID, o)
				}
				c, err := s.store.OpenConversation(ctx, p.AccountID, o)
				if parley.ErrorCode(err) != parley.ECONFLICT && parley.ErrorCode(err) != parley.ENOTFOUND {
					return c, err
				}
				// The agent has no room now, or is no longer active: the queue's.
				o.AssigneeID = ""
				return s.store.OpenConversation(ctx, p.AccountID, o)
			}
		}
	}
	// Visitors meet the bot first; a brand's server opening a conversation
	// for a skill, or for a person, means it wants people.
	if s.StartWithBot != nil && o.Skill == "" && o.AssigneeID == "" && s.StartWithBot(ctx, p.AccountID) {
		o.State = parley.StateBot
	}
	return s.store.OpenConversation(ctx, p.AccountID, o)
}

// engagement returns the account's engagement with that ID, or nil when
// the brand has removed it since the visitor saw it.
func (s *Service) engagement(ctx context.Context, accountID, id string) (*parley.Engagement, error) {
	if !parley.ValidEngagementID(id) {
		return nil, parley.Errorf(parley.EINVALID, "engagement must be an engagement's ID (1-40 of a-z, 0-9 and -)")
	}
	acc, err := s.store.FindAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return acc.Settings.Widget.EngagementByID(id), nil
}

// Get returns a conversation the principal may see.
func (s *Service) Get(ctx context.Context, p parley.Principal, id string) (*parley.Conversation, error) {
	c, err := s.store.FindConversation(ctx, p.AccountID, id)
	if err != nil {
		return nil, err
	}
	if err := canSee(p, c); err != nil {
		return nil, err
	}
	return ForViewer(p, c), nil
}

// List returns conversations matching f; consumers see only their own.
func (s *Service) List(ctx context.Context, p parley.Principal, f parley.ConversationFilter) ([]*parley.Conversation, error) {
	if p.Kind == parley.PrincipalConsumer {
		f.ConsumerID = p.ID
	}
	if f.State != "" && !f.State.Valid() {
		return nil, parley.Errorf(parley.EINVALID, "unknown state %q", f.State)
	}
	if f.Limit < 0 || f.Limit > 200 {
		return nil, parley.Errorf(parley.EINVALID, "limit must be between 1 and 200")
	}
	if f.Label != "" && !p.IsStaff() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "labels are for the brand's staff")
	}
	// A search by the brand's people finds field values too; a visitor
	// never learns what the brand recorded about them.
	f.SearchFields = p.IsStaff()
	if len(f.Fields) > 0 {
		fields, err := s.fieldFilter(ctx, p, f.Fields)
		if err != nil {
			return nil, err
		}
		f.Fields = fields
	}
	list, err := s.store.ListConversations(ctx, p.AccountID, f)
	if err != nil {
		return nil, err
	}
	for i, c := range list {
		list[i] = ForViewer(p, c)
	}
	return list, nil
}

// fieldFilter checks a list's field filter against the account's
// conversation fields and returns each value as stored, so that "TRUE"
// finds a checkbox's "true" and " A-1042 " the order number "A-1042".
// Staff only.
func (s *Service) fieldFilter(ctx context.Context, p parley.Principal, want map[string]string) (map[string]string, error) {
	if !p.IsStaff() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "conversation fields are for the brand's staff")
	}
	if len(want) > parley.MaxConversationFields {
		return nil, parley.Errorf(parley.EINVALID, "field: at most %d fields at once", parley.MaxConversationFields)
	}
	acc, err := s.store.FindAccount(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(want))
	for key, v := range want {
		value, err := parley.FieldFilterValue(acc.Settings.ConversationFields, key, v)
		if err != nil {
			return nil, parley.Errorf(parley.EINVALID, "field[%s]: %s", key, parley.ErrorMessage(err))
		}
		out[key] = value
	}
	return out, nil
}

// CloseInput is how a conversation is closed: a reason, and (staff only)
// the labels it ends with, set before it closes — the agent's wrap-up.
type CloseInput struct {
	Reason string
	Labels *[]string // nil leaves the labels as they are
}

// Close ends a conversation. Consumers may close their own. When the
// account requires labels, a person of the brand closing a conversation
// must have labelled it (in.Labels counts).
func (s *Service) Close(ctx context.Context, p parley.Principal, id string, in CloseInput) (*parley.Conversation, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := checkShortText("reason", in.Reason, 200); err != nil {
		return nil, err
	}
	if p.IsStaff() {
		acc, err := s.store.FindAccount(ctx, p.AccountID)
		if err != nil {
			return nil, err
		}
		if c.State == parley.StateClosed {
			return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is already closed", id)
		}
		labels := c.Labels
		if in.Labels != nil {
			if labels, err = parley.ConversationLabels(acc.Settings.Labels, *in.Labels); err != nil {
				return nil, err
			}
		}
		if err := CloseRefusal(acc.Settings, p, labels, c.Fields); err != nil {
			return nil, err
		}
		if in.Labels != nil {
			if _, err := s.store.LabelConversation(ctx, p.AccountID, id, labels, p.ID); err != nil {
				return nil, err
			}
		}
	} else if in.Labels != nil {
		return nil, parley.Errorf(parley.EFORBIDDEN, "labels are for the brand's staff")
	}
	c, err = s.store.CloseConversation(ctx, p.AccountID, id, parley.ConversationClose{Reason: in.Reason, ClosedBy: p.ID})
	if err != nil {
		return nil, err
	}
	return ForViewer(p, c), nil
}

// CloseRefusal is why the brand would not let p close a conversation
// with these labels and field values, or nil: a person must leave a
// label when the brand requires one, and fill in its required fields.
// The bot, rules, API keys and visitors close without.
func CloseRefusal(settings parley.AccountSettings, p parley.Principal, labels []string, fields map[string]string) error {
	if p.Kind != parley.PrincipalUser {
		return nil
	}
	if settings.LabelsRequired && len(labels) == 0 {
		return parley.Errorf(parley.EINVALID, "labels: this brand asks for at least one label on every conversation its people close")
	}
	if missing := parley.MissingFields(settings.ConversationFields, fields); len(missing) > 0 {
		return parley.Errorf(parley.EINVALID, "fields: this brand asks its people to fill in %s before they close a conversation", strings.Join(missing, ", "))
	}
	return nil
}

// Label replaces a conversation's labels with labels, each one of the
// account's (parley.ConversationLabels). Only the brand's staff label.
func (s *Service) Label(ctx context.Context, p parley.Principal, id string, labels []string) (*parley.Conversation, error) {
	if !p.IsStaff() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "labels are for the brand's staff")
	}
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	acc, err := s.store.FindAccount(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	labels, err = parley.ConversationLabels(acc.Settings.Labels, labels)
	if err != nil {
		return nil, err
	}
	return s.store.LabelConversation(ctx, p.AccountID, id, labels, p.ID)
}

// SetFields changes the values of a conversation's fields: each key one
// of the account's conversation fields, each value checked by its type
// (text masked like a message); "" or null clears a field. Only the
// brand's staff set fields, closed conversations too (wrap-up).
func (s *Service) SetFields(ctx context.Context, p parley.Principal, id string, changes map[string]*string) (*parley.Conversation, error) {
	if !p.IsStaff() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "conversation fields are for the brand's staff")
	}
	if len(changes) == 0 {
		return nil, parley.Errorf(parley.EINVALID, "name at least one field to change")
	}
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	acc, err := s.store.FindAccount(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(changes))
	for key, v := range changes {
		def := parley.FieldByKey(acc.Settings.ConversationFields, key)
		if def == nil {
			return nil, parley.Errorf(parley.EINVALID, "fields.%s: this brand has no such conversation field (Admin → Conversation fields)", key)
		}
		value := ""
		if v != nil {
			if value, err = def.Value(*v); err != nil {
				return nil, err
			}
		}
		if value != "" && def.Type == parley.FieldText && s.Mask != nil {
			if value, err = s.Mask(ctx, p.AccountID, value, parley.MaxFieldText); err != nil {
				return nil, err
			}
		}
		values[key] = value
	}
	c, err := s.store.SetConversationFields(ctx, p.AccountID, id, values, parley.Categories(acc.Settings.ConversationFields), p.ID)
	if err != nil {
		return nil, err
	}
	return ForViewer(p, c), nil
}

// Rate records the visitor's rating of their closed conversation, its
// comment masked like any message (a visitor may type a card number into
// it too). See parley.Store.RateConversation for adding a comment after
// the score.
func (s *Service) Rate(ctx context.Context, p parley.Principal, id string, score int, comment string) error {
	if p.Kind != parley.PrincipalConsumer {
		return parley.Errorf(parley.EFORBIDDEN, "the visitor rates their own conversation")
	}
	if err := checkShortText("comment", comment, 1000); err != nil {
		return err
	}
	if _, err := s.Get(ctx, p, id); err != nil {
		return err
	}
	comment, err := s.mask(ctx, p.AccountID, strings.TrimSpace(comment))
	if err != nil {
		return err
	}
	return s.store.RateConversation(ctx, p.AccountID, id, score, comment)
}

// Snooze puts an open conversation aside until until (nil: back now):
// staff only, until in the future and at most parley.MaxSnooze away.
func (s *Service) Snooze(ctx context.Context, p parley.Principal, id string, until *time.Time) (*parley.Conversation, error) {
	if !p.IsStaff() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "snoozing is for the brand's staff")
	}
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	if until != nil {
		now := time.Now()
		if !until.After(now) || until.Sub(now) > parley.MaxSnooze {
			return nil, parley.Errorf(parley.EINVALID, "until must be in the future, at most %d days away", int(parley.MaxSnooze.Hours()/24))
		}
	}
	return s.store.SnoozeConversation(ctx, p.AccountID, id, until, p.ID)
}

// SetPriority moves an open conversation up or down its queue (staff:
// an angry or valued customer served sooner).
func (s *Service) SetPriority(ctx context.Context, p parley.Principal, id string, priority int) (*parley.Conversation, error) {
	if !p.IsStaff() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "the priority is the brand's staff's to set")
	}
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	return s.store.SetPriority(ctx, p.AccountID, id, priority, p.ID)
}

// ForViewer returns c as p may see it: a visitor gets a copy without the
// staff's labels, fields, snooze and followers.
func ForViewer(p parley.Principal, c *parley.Conversation) *parley.Conversation {
	if p.IsStaff() || c == nil || (c.Labels == nil && c.Fields == nil && c.SnoozedUntil == nil && c.SnoozedAt == nil && c.Followers == nil) {
		return c
	}
	cp := *c
	cp.Labels, cp.Fields, cp.SnoozedUntil, cp.SnoozedAt, cp.Followers = nil, nil, nil, nil, nil
	return &cp
}

// SendInput is a message as its sender gives it.
type SendInput struct {
	ConversationID string
	ClientID       string
	Type           parley.MessageType
	Text           string
	Choices        []parley.Choice
	Card           *parley.Card
	// Suggestion, from the brand's people only, is the suggested reply the
	// message began as: suggestion.used is recorded once it is stored.
	Suggestion *parley.SuggestionUse
}

// Send validates and stores a message. It returns once the message is
// durable; duplicate is true when ClientID was seen before and the original
// is returned.
func (s *Service) Send(ctx context.Context, p parley.Principal, in SendInput) (msg *parley.Message, duplicate bool, err error) {
	if s.Throttle != nil {
		if err := s.Throttle(p); err != nil {
			return nil, false, err
		}
	}
	if in.Type == "" {
		in.Type = parley.MessageText
	}
	m := &parley.Message{
		AccountID: p.AccountID, ConversationID: in.ConversationID, SenderID: p.ID, SenderName: p.Name, ClientID: in.ClientID,
		Type: in.Type, Text: in.Text, Choices: in.Choices, Card: in.Card,
	}
	switch p.Kind {
	case parley.PrincipalConsumer:
		m.SenderKind = parley.SenderConsumer
		if m.Type != parley.MessageText {
			return nil, false, parley.Errorf(parley.EINVALID, "consumers send text messages only")
		}
	case parley.PrincipalUser, parley.PrincipalAPIKey:
		m.SenderKind = parley.SenderAgent
	default:
		return nil, false, parley.Errorf(parley.EFORBIDDEN, "not allowed to send")
	}
	if m.Type == parley.MessageFile {
		return nil, false, parley.Errorf(parley.EINVALID, "files are sent with POST /api/v1/conversations/{id}/attachments")
	}
	if in.Suggestion != nil {
		if p.Kind != parley.PrincipalUser {
			return nil, false, parley.Errorf(parley.EINVALID, "suggestion: only the brand's people use suggested replies")
		}
		if err := in.Suggestion.Validate(); err != nil {
			return nil, false, err
		}
	}
	if err := m.Validate(s.limits); err != nil {
		return nil, false, err
	}
	if in.ConversationID == "" {
		return nil, false, parley.Errorf(parley.EINVALID, "conversation_id is required")
	}
	// Whether a consumer may write here (their own conversation only) is
	// checked by the store in the append's own transaction: no extra read.
	if m.Text, err = s.mask(ctx, p.AccountID, m.Text); err != nil {
		return nil, false, err
	}
	msg, duplicate, err = s.store.AppendMessage(ctx, m)
	if err == nil && !duplicate && in.Suggestion != nil {
		// Off the message path: only replies begun from a suggestion.
		use := *in.Suggestion
		use.ConversationID, use.MessageSeq, use.By = msg.ConversationID, msg.Seq, p.ID
		data, _ := json.Marshal(use)
		if aerr := s.store.AppendEvent(ctx, &parley.Event{AccountID: p.AccountID, Type: parley.EventSuggestionUsed, ConversationID: msg.ConversationID, Data: data}); aerr != nil {
			slog.Default().Warn("suggestion used: not recorded", "conversation", msg.ConversationID, "err", aerr)
		}
	}
	return msg, duplicate, err
}

// NoteInput is a note to add to a conversation.
type NoteInput struct {
	ConversationID string
	Text           string
	// Mentions are colleagues (user IDs of the account, at most
	// parley.MaxMentions) the note calls on; each is told at once.
	Mentions []string
	// ClientID, when set, makes a retry safe: the same client ID from the
	// same person in the conversation returns the note already written.
	ClientID string
}

// AddNote adds a private note (or a supervisor's whisper) to a
// conversation. Only the brand's staff write and read notes. A retried
// note (in.ClientID) is the first one, and duplicate is true.
func (s *Service) AddNote(ctx context.Context, p parley.Principal, in NoteInput) (n *parley.Note, duplicate bool, err error) {
	conversationID, text, mentions := in.ConversationID, in.Text, in.Mentions
	if !p.IsStaff() {
		return nil, false, parley.Errorf(parley.EFORBIDDEN, "notes are for the brand's staff")
	}
	if len(in.ClientID) > 100 {
		return nil, false, parley.Errorf(parley.EINVALID, "client_id has at most 100 bytes")
	}
	if _, err := s.Get(ctx, p, conversationID); err != nil {
		return nil, false, err
	}
	m := parley.Message{Type: parley.MessageText, Text: text}
	if err := m.Validate(s.limits); err != nil {
		return nil, false, err
	}
	text, err = s.mask(ctx, p.AccountID, strings.TrimSpace(text))
	if err != nil {
		return nil, false, err
	}
	if len(mentions) > parley.MaxMentions {
		return nil, false, parley.Errorf(parley.EINVALID, "mentions: at most %d colleagues in one note", parley.MaxMentions)
	}
	var mentioned []string
	for i, id := range mentions {
		if slices.Contains(mentioned, id) {
			continue
		}
		u, err := s.store.FindUser(ctx, p.AccountID, id)
		if parley.ErrorCode(err) == parley.ENOTFOUND || (err == nil && !u.Active) {
			return nil, false, parley.Errorf(parley.EINVALID, "mentions[%d]: %q is not an active user of this account", i, id)
		} else if err != nil {
			return nil, false, err
		}
		mentioned = append(mentioned, id)
	}
	n = &parley.Note{AccountID: p.AccountID, ConversationID: conversationID, AuthorID: p.ID, AuthorName: p.Name, Text: text, Mentions: mentioned, ClientID: in.ClientID}
	if duplicate, err = s.store.AddNote(ctx, n); err != nil || duplicate {
		return n, duplicate, err
	}
	// Those called in follow the conversation from then on, as Chatwoot's
	// participants do: they hear what the visitor says next. The note
	// stands whatever comes of it (a closed conversation takes no
	// follower; so many followers already is no reason to lose a note).
	for _, id := range mentioned {
		if _, err := s.store.FollowConversation(ctx, p.AccountID, conversationID, id, true, p.ID); err != nil && parley.ErrorCode(err) != parley.ECONFLICT {
			return n, false, err
		}
	}
	return n, false, nil
}

// Follow makes a person of the brand follow the conversation, or stop
// (docs/routing.md, Following). Staff only; userID is the follower, who
// may be the caller or a colleague they call in.
func (s *Service) Follow(ctx context.Context, p parley.Principal, conversationID, userID string, follow bool) (*parley.Conversation, error) {
	if !p.IsStaff() {
		return nil, parley.Errorf(parley.EFORBIDDEN, "following is for the brand's staff")
	}
	if !parley.HasIDPrefix(userID, "usr") {
		return nil, parley.Errorf(parley.EINVALID, "the follower must be a user ID (usr_…) or me")
	}
	return s.store.FollowConversation(ctx, p.AccountID, conversationID, userID, follow, p.ID)
}

// mask applies the account's masking to text (nothing to do for "").
func (s *Service) mask(ctx context.Context, accountID, text string) (string, error) {
	if s.Mask == nil || text == "" {
		return text, nil
	}
	return s.Mask(ctx, accountID, text, s.limits.MaxChars)
}

// AttachInput is a file as its sender gives it.
type AttachInput struct {
	ConversationID string
	ClientID       string
	Name           string
	Caption        string
	Content        []byte
}

// Attach stores a file and sends it as a message. The type is sniffed from
// the bytes — images (PNG, JPEG, GIF, WebP) and PDF only — whatever the
// sender claims.
func (s *Service) Attach(ctx context.Context, p parley.Principal, in AttachInput) (*parley.Message, bool, error) {
	if s.Throttle != nil {
		if err := s.Throttle(p); err != nil {
			return nil, false, err
		}
	}
	c, err := s.Get(ctx, p, in.ConversationID)
	if err != nil {
		return nil, false, err
	}
	if c.State == parley.StateClosed {
		return nil, false, parley.Errorf(parley.ECONFLICT, "conversation %q is closed", c.ID)
	}
	if len(in.Content) == 0 {
		return nil, false, parley.Errorf(parley.EINVALID, "the file is empty")
	}
	ct := http.DetectContentType(in.Content)
	if !parley.AttachmentTypes[ct] {
		return nil, false, parley.Errorf(parley.EINVALID, "files of type %s cannot be sent; images (PNG, JPEG, GIF, WebP) and PDFs can", ct)
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = "file"
	}
	if err := checkShortText("name", name, 200); err != nil {
		return nil, false, err
	}
	if err := checkShortText("caption", in.Caption, s.limits.MaxChars); err != nil {
		return nil, false, err
	}
	caption, err := s.mask(ctx, p.AccountID, in.Caption)
	if err != nil {
		return nil, false, err
	}
	a := &parley.Attachment{AccountID: p.AccountID, ConversationID: c.ID, UploaderID: p.ID, Name: name, ContentType: ct}
	if err := s.store.SaveAttachment(ctx, a, in.Content); err != nil {
		return nil, false, err
	}
	kind := parley.SenderAgent
	if p.Kind == parley.PrincipalConsumer {
		kind = parley.SenderConsumer
	}
	return s.store.AppendMessage(ctx, &parley.Message{AccountID: p.AccountID, ConversationID: c.ID, SenderKind: kind, SenderID: p.ID,
		SenderName: p.Name, ClientID: in.ClientID, Type: parley.MessageFile, Text: caption, Attachment: a})
}

// Attachment returns an attachment and its bytes to a participant of its
// conversation; anyone else gets ENOTFOUND.
func (s *Service) Attachment(ctx context.Context, p parley.Principal, id string) (*parley.Attachment, io.ReadCloser, error) {
	a, r, err := s.store.OpenAttachment(ctx, p.AccountID, id)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.Get(ctx, p, a.ConversationID); err != nil {
		r.Close()
		return nil, nil, parley.Errorf(parley.ENOTFOUND, "attachment %q not found", id)
	}
	return a, r, nil
}

// Messages returns up to limit messages after afterSeq. A seq beyond the
// conversation's last is EINVALID, so a client with a corrupt cursor learns
// it instead of waiting forever.
func (s *Service) Messages(ctx context.Context, p parley.Principal, conversationID string, afterSeq int64, limit int) ([]*parley.Message, error) {
	c, err := s.Get(ctx, p, conversationID)
	if err != nil {
		return nil, err
	}
	if afterSeq < 0 || afterSeq > c.LastSeq {
		return nil, parley.Errorf(parley.EINVALID, "after_seq %d is beyond the last message (%d)", afterSeq, c.LastSeq)
	}
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	return s.store.ListMessages(ctx, p.AccountID, conversationID, afterSeq, limit)
}

// Receipt records that the principal's side has had messages up to seq
// delivered or read.
func (s *Service) Receipt(ctx context.Context, p parley.Principal, conversationID, kind string, seq int64) (bool, error) {
	if kind != parley.ReceiptDelivered && kind != parley.ReceiptRead {
		return false, parley.Errorf(parley.EINVALID, "receipt kind must be delivered or read")
	}
	if seq < 1 {
		return false, parley.Errorf(parley.EINVALID, "seq must be at least 1")
	}
	r := parley.Receipt{ConversationID: conversationID, Side: parley.SideAgent, Kind: kind, Seq: seq}
	switch p.Kind {
	case parley.PrincipalConsumer:
		// Their own conversations only: checked by the store in the
		// receipt's own write, as for a message (receipts come with
		// every message shown, so no extra read for them either).
		r.Side, r.ConsumerID = parley.SideConsumer, p.ID
	case parley.PrincipalUser, parley.PrincipalAPIKey:
	default:
		return false, parley.Errorf(parley.EFORBIDDEN, "not allowed")
	}
	return s.store.UpdateReceipt(ctx, p.AccountID, r)
}

// Typing tells the conversation's other participants that the principal
// started or stopped typing. Nothing is stored.
func (s *Service) Typing(ctx context.Context, p parley.Principal, conversationID string, typing bool, draft string) error {
	if draft != "" {
		if p.Kind != parley.PrincipalConsumer {
			return parley.Errorf(parley.EINVALID, "text: only a visitor's typing carries a draft")
		}
		if !typing {
			return parley.Errorf(parley.EINVALID, "text: a draft goes with typing true")
		}
		if n := utf8.RuneCountInString(draft); n > s.limits.MaxChars {
			return parley.Errorf(parley.ETOOLARGE, "text: %d characters; the limit is %d", n, s.limits.MaxChars)
		}
	}
	c, err := s.Get(ctx, p, conversationID)
	if err != nil {
		return err
	}
	side := parley.SideAgent
	if p.Kind == parley.PrincipalConsumer {
		side = parley.SideConsumer
	}
	preview := ""
	if draft != "" && s.Preview != nil {
		// A brand that turned previews off while widgets still have the
		// old configuration: the draft is dropped, the typing stays.
		masked, on, err := s.Preview(ctx, p.AccountID, draft, s.limits.MaxChars)
		if err != nil {
			return err
		}
		if on {
			preview = masked
		}
	}
	data, _ := json.Marshal(TypingData{ConversationID: c.ID, Side: side, SenderID: p.ID, Name: p.Name, Typing: typing, Text: preview})
	return s.bus.Publish(ctx, []*parley.Event{{AccountID: p.AccountID, Type: EventTyping, ConversationID: c.ID, Data: data}})
}

// Viewing tells the brand's other people following a conversation that p
// has it open in their console (viewing) or has left it, so two agents do
// not answer one visitor at once (Zendesk's agent collision, Intercom's
// "also viewing"). It is not stored; consoles repeat it while open.
func (s *Service) Viewing(ctx context.Context, p parley.Principal, conversationID string, viewing bool) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "viewing is for the brand's people in the console")
	}
	c, err := s.Get(ctx, p, conversationID)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(ViewingData{ConversationID: c.ID, UserID: p.ID, Name: p.Name, Viewing: viewing})
	return s.bus.Publish(ctx, []*parley.Event{{AccountID: p.AccountID, Type: EventViewing, ConversationID: c.ID, Data: data}})
}

// ViewingData is the payload of an ephemeral viewing event.
type ViewingData struct {
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	Name           string `json:"name,omitempty"`
	Viewing        bool   `json:"viewing"`
}

// TypingData is the payload of an ephemeral typing event.
type TypingData struct {
	ConversationID string `json:"conversation_id"`
	Side           string `json:"side"`
	SenderID       string `json:"sender_id"`
	Name           string `json:"name,omitempty"`
	Typing         bool   `json:"typing"`
	// Text is the visitor's draft, masked, when the brand shows agents
	// a typing preview; visitors' own connections never get it back.
	Text string `json:"text,omitempty"`
}

// canSee answers ENOTFOUND (not EFORBIDDEN) when a consumer asks for another
// consumer's conversation, so IDs cannot be probed.
func canSee(p parley.Principal, c *parley.Conversation) error {
	if p.AccountID != c.AccountID {
		return parley.Errorf(parley.ENOTFOUND, "conversation %q not found", c.ID)
	}
	switch p.Kind {
	case parley.PrincipalConsumer:
		if c.ConsumerID != p.ID {
			return parley.Errorf(parley.ENOTFOUND, "conversation %q not found", c.ID)
		}
		return nil
	case parley.PrincipalUser, parley.PrincipalAPIKey:
		return nil
	}
	return parley.Errorf(parley.EFORBIDDEN, "not allowed")
}

func checkShortText(field, s string, max int) error {
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return parley.Errorf(parley.EINVALID, "%s must be valid text of at most %d characters", field, max)
	}
	if len([]rune(s)) > max {
		return parley.Errorf(parley.EINVALID, "%s must be at most %d characters", field, max)
	}
	return nil
}

// Page records a page of the brand's site the visitor loaded while this
// conversation is open (visitor.page_viewed): the agent sees where they
// are and where they have been (docs/widget.md, Pages). Visitors only, in
// their own open conversation; the URL and title are masked like a
// message, since a query string may hold an email or a card number.
func (s *Service) Page(ctx context.Context, p parley.Principal, conversationID, url, title string) error {
	if p.Kind != parley.PrincipalConsumer {
		return parley.Errorf(parley.EFORBIDDEN, "pages are the visitor's")
	}
	switch {
	case !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://"):
		return parley.Errorf(parley.EINVALID, "url must be an http(s) address")
	case len(url) > 2000:
		return parley.Errorf(parley.ETOOLARGE, "url: at most 2000 bytes")
	case utf8.RuneCountInString(title) > 300:
		return parley.Errorf(parley.ETOOLARGE, "title: at most 300 characters")
	case !utf8.ValidString(url) || !utf8.ValidString(title):
		return parley.Errorf(parley.EINVALID, "url and title must be UTF-8")
	}
	if s.Throttle != nil {
		if err := s.Throttle(p); err != nil {
			return err
		}
	}
	c, err := s.Get(ctx, p, conversationID)
	if err != nil {
		return err
	}
	if c.State == parley.StateClosed {
		return parley.Errorf(parley.ECONFLICT, "conversation %q is closed", c.ID)
	}
	if url, err = s.mask(ctx, p.AccountID, url); err != nil {
		return err
	}
	if title, err = s.mask(ctx, p.AccountID, title); err != nil {
		return err
	}
	data, _ := json.Marshal(parley.PageView{URL: url, Title: title})
	return s.store.AppendEvent(ctx, &parley.Event{AccountID: p.AccountID, Type: parley.EventPageViewed, ConversationID: c.ID, Data: data})
}
