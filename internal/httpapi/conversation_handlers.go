package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/sentiment"
)

type conversationPage struct {
	Conversations []conversationItem `json:"conversations"`
	NextCursor    string             `json:"next_cursor,omitempty"`
}

// conversationItem is a conversation in a list, with its visitor's name
// (when they gave one) and the start of its last message, so that an
// inbox shows who is writing and what about.
type conversationItem struct {
	*parley.Conversation
	ConsumerName string          `json:"consumer_name,omitempty"`
	LastMessage  *messagePreview `json:"last_message,omitempty"`
}

// messagePreview is the start of a message, for lists.
type messagePreview struct {
	Seq        int64              `json:"seq"`
	SenderKind parley.SenderKind  `json:"sender_kind"`
	Type       parley.MessageType `json:"type"`
	Text       string             `json:"text"`
	CreatedAt  time.Time          `json:"created_at"`
	// Redacted: its words were removed (the console says so).
	Redacted bool `json:"redacted,omitempty"`
	// Mood is how a visitor's text sounds, for the brand's staff only
	// (docs/bot.md, Sentiment): the inbox marks the upset.
	Mood sentiment.Mood `json:"mood,omitempty"`
}

// previewChars is how much of a message's text a list shows.
const previewChars = 140

// With staff, a visitor's text says how it sounds too.
func previewOf(m *parley.Message, staff bool) *messagePreview {
	if m == nil {
		return nil
	}
	text := m.Text
	if r := []rune(text); len(r) > previewChars {
		text = string(r[:previewChars-1]) + "…"
	}
	p := &messagePreview{Seq: m.Seq, SenderKind: m.SenderKind, Type: m.Type, Text: text, CreatedAt: m.CreatedAt, Redacted: m.Redacted != nil}
	if staff && m.SenderKind == parley.SenderConsumer && m.Type == parley.MessageText && m.Redacted == nil {
		p.Mood = sentiment.Of(sentiment.Score(m.Text))
	}
	return p
}

func (a *API) handleListConversations(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	q := r.URL.Query()
	f := parley.ConversationFilter{
		State: parley.ConversationState(q.Get("state")), Skill: q.Get("skill"),
		AssigneeID: q.Get("assignee_id"), ConsumerID: q.Get("consumer_id"), After: q.Get("cursor"), Limit: 50,
		Query: strings.TrimSpace(q.Get("q")), Label: q.Get("label"),
	}
	// field[order_number]=A-1042: the conversations whose field holds
	// that value (OpenAPI's deepObject style).
	for name, values := range q {
		key, ok := strings.CutPrefix(name, "field[")
		if !ok {
			continue
		}
		key, ok = strings.CutSuffix(key, "]")
		if !ok || key == "" || len(values) != 1 {
			return parley.Errorf(parley.EINVALID, "%s: write field[key]=value, each key once", name)
		}
		if f.Fields == nil {
			f.Fields = map[string]string{}
		}
		f.Fields[key] = values[0]
	}
	if f.Label != "" {
		if err := parley.ValidLabelName(f.Label); err != nil {
			return parley.Errorf(parley.EINVALID, "label: %v", err)
		}
	}
	switch o := q.Get("order"); o {
	case "", "newest":
	case "queue":
		if f.After != "" {
			return parley.Errorf(parley.EINVALID, "order=queue takes no cursor: raise limit (up to 200) instead")
		}
		f.QueueOrder = true
	default:
		return parley.Errorf(parley.EINVALID, "order must be newest or queue, not %q", o)
	}
	switch sn := q.Get("snoozed"); sn {
	case "":
	case "only", "hide":
		if !p.IsStaff() {
			return parley.Errorf(parley.EFORBIDDEN, "snoozing is for the brand's staff")
		}
		f.Snoozed, f.Now = sn, time.Now()
	default:
		return parley.Errorf(parley.EINVALID, "snoozed must be only or hide, not %q", sn)
	}
	switch m := q.Get("mentioned"); {
	case m == "":
	case !p.IsStaff():
		return parley.Errorf(parley.EFORBIDDEN, "mentions are for the brand's staff")
	case m == "me":
		f.MentionedUserID = p.ID
	case parley.HasIDPrefix(m, "usr"):
		f.MentionedUserID = m
	default:
		return parley.Errorf(parley.EINVALID, "mentioned must be \"me\" or a user ID, not %q", m)
	}
	switch fb := q.Get("followed_by"); {
	case fb == "":
	case !p.IsStaff():
		return parley.Errorf(parley.EFORBIDDEN, "following is for the brand's staff")
	case fb == "me" && p.Kind == parley.PrincipalUser:
		f.FollowedBy = p.ID
	case parley.HasIDPrefix(fb, "usr"):
		f.FollowedBy = fb
	default:
		return parley.Errorf(parley.EINVALID, "followed_by must be \"me\" (a person's own) or a user ID, not %q", fb)
	}
	if len(f.Query) > 200 {
		return parley.Errorf(parley.EINVALID, "q is longer than 200 bytes")
	}
	if f.After != "" && !parley.HasIDPrefix(f.After, "conv") {
		return parley.Errorf(parley.EINVALID, "cursor %q is not a conversation cursor", f.After)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return parley.Errorf(parley.EINVALID, "limit must be a number from 1 to 200")
		}
		f.Limit = n
	}
	list, err := a.conv.List(r.Context(), p, f)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.ConsumerID)
	}
	names, err := a.store.ConsumerNames(r.Context(), p.AccountID, ids)
	if err != nil {
		return err
	}
	ids = ids[:0]
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	last, err := a.store.LastMessages(r.Context(), p.AccountID, ids)
	if err != nil {
		return err
	}
	page := conversationPage{Conversations: make([]conversationItem, len(list))}
	for i, c := range list {
		page.Conversations[i] = conversationItem{Conversation: c, ConsumerName: names[c.ConsumerID], LastMessage: previewOf(last[c.ID], p.IsStaff())}
	}
	if len(list) == f.Limit && !f.QueueOrder {
		page.NextCursor = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

type consumerRef struct {
	ExternalID string            `json:"external_id"`
	Name       string            `json:"name"`
	Email      string            `json:"email"`
	Attributes map[string]string `json:"attributes"`
}

type createConversationRequest struct {
	ConsumerID string       `json:"consumer_id"`
	Consumer   *consumerRef `json:"consumer"`
	Skill      string       `json:"skill"`
	Priority   int          `json:"priority"`
	// AssigneeID (staff): the conversation is that user's at once — the
	// caller's own ID for a person starting a conversation with a contact.
	AssigneeID string `json:"assignee_id"`
	// Engagement (visitors): the proactive engagement they answered.
	Engagement string `json:"engagement"`
	// Invitation (visitors): the agent's invitation they answered.
	Invitation string `json:"invitation"`
}

// handleCreateConversation opens a conversation. A consumer opens their own;
// a brand's server (the API channel) names the consumer by ID or by its own
// external ID, which creates the consumer the first time.
func (a *API) handleCreateConversation(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req createConversationRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	in := conversation.OpenInput{ConsumerID: req.ConsumerID, Skill: req.Skill, Priority: req.Priority, AssigneeID: req.AssigneeID, Engagement: req.Engagement, Invitation: req.Invitation}
	if p.IsStaff() && req.Consumer != nil {
		if req.ConsumerID != "" {
			return parley.Errorf(parley.EINVALID, "give consumer_id or consumer, not both")
		}
		c, err := a.findOrCreateConsumer(r, p, req.Consumer)
		if err != nil {
			return err
		}
		in.ConsumerID = c.ID
	}
	c, err := a.conv.Open(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) findOrCreateConsumer(r *http.Request, p parley.Principal, ref *consumerRef) (*parley.Consumer, error) {
	ref.ExternalID = strings.TrimSpace(ref.ExternalID)
	if ref.ExternalID == "" {
		return nil, parley.Errorf(parley.EINVALID, "consumer.external_id is required")
	}
	for field, v := range map[string]string{"consumer.external_id": ref.ExternalID, "consumer.name": ref.Name, "consumer.email": ref.Email} {
		if err := checkName(field, v); err != nil {
			return nil, err
		}
	}
	if len(ref.Attributes) > 50 {
		return nil, parley.Errorf(parley.EINVALID, "consumer.attributes has more than 50 entries")
	}
	for k, v := range ref.Attributes {
		if err := checkName("consumer.attributes key", k); err != nil {
			return nil, err
		}
		if err := checkName("consumer.attributes."+k, v); err != nil {
			return nil, err
		}
	}
	c, err := a.store.FindConsumerByExternalID(r.Context(), p.AccountID, ref.ExternalID)
	if err == nil {
		return c, nil
	}
	if parley.ErrorCode(err) != parley.ENOTFOUND {
		return nil, err
	}
	c = &parley.Consumer{AccountID: p.AccountID, ExternalID: ref.ExternalID, Name: ref.Name, Email: ref.Email, Attributes: ref.Attributes}
	err = a.store.CreateConsumer(r.Context(), c)
	if parley.ErrorCode(err) == parley.ECONFLICT {
		// Created by a concurrent request: use that one.
		return a.store.FindConsumerByExternalID(r.Context(), p.AccountID, ref.ExternalID)
	}
	return c, err
}

func (a *API) handleGetConversation(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	c, err := a.conv.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// queuePlace is where a waiting conversation stands in its queue.
type queuePlace struct {
	State parley.ConversationState `json:"state"`
	// Position (1: served next) and Waiting (in its queue, itself
	// included) while it waits for a person; absent otherwise.
	Position int `json:"position,omitempty"`
	Waiting  int `json:"waiting,omitempty"`
	// EstimatedWaitSeconds: how long it may still wait, at the pace its
	// queue was served in the last hour; absent when there is too little
	// to tell (fewer than three assignments in the hour).
	EstimatedWaitSeconds int `json:"estimated_wait_seconds,omitempty"`
}

// handleQueuePlace tells a visitor waiting for a person (or the staff)
// their place in line, as Zendesk's and LivePerson's widgets do: the
// conversation's skill queue in the router's order — priority, then the
// longest waiting (docs/widget.md, Place in line).
func (a *API) handleQueuePlace(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	c, err := a.conv.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := queuePlace{State: c.State}
	if c.State == parley.StateQueued && a.Routing != nil {
		place, ok, err := a.Routing.QueuePosition(r.Context(), p.AccountID, c.ID)
		if err != nil {
			return err
		}
		if ok {
			out.Position, out.Waiting = place.Position, place.Waiting
			out.EstimatedWaitSeconds = int((place.EstimatedWait + time.Second - 1) / time.Second)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type closeRequest struct {
	Reason string    `json:"reason"`
	Labels *[]string `json:"labels"` // staff: the labels it ends with
}

func (a *API) handleCloseConversation(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req closeRequest
	if r.ContentLength != 0 {
		if err := decode(r, a.maxBody, &req); err != nil {
			return err
		}
	}
	c, err := a.conv.Close(r.Context(), p, r.PathValue("id"), conversation.CloseInput{Reason: req.Reason, Labels: req.Labels})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type snoozeRequest struct {
	Until *time.Time `json:"until"` // RFC 3339; null: back now
}

// handleSnooze puts a conversation aside until a time, or back.
func (a *API) handleSnooze(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req snoozeRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	c, err := a.conv.Snooze(r.Context(), p, r.PathValue("id"), req.Until)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type priorityRequest struct {
	Priority *int `json:"priority"`
}

// handleFollow makes a person follow the conversation ({user} is "me" or
// a colleague's ID); handleUnfollow stops it. Both answer the
// conversation, with its followers.
func (a *API) handleFollow(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	return a.follow(w, r, p, true)
}

func (a *API) handleUnfollow(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	return a.follow(w, r, p, false)
}

func (a *API) follow(w http.ResponseWriter, r *http.Request, p parley.Principal, on bool) error {
	user := r.PathValue("user")
	if user == "me" {
		if p.Kind != parley.PrincipalUser {
			return parley.Errorf(parley.EFORBIDDEN, "only a person follows conversations: name the follower's user ID")
		}
		user = p.ID
	}
	c, err := a.conv.Follow(r.Context(), p, r.PathValue("id"), user, on)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleSetPriority moves a conversation up or down its queue.
func (a *API) handleSetPriority(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req priorityRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Priority == nil {
		return parley.Errorf(parley.EINVALID, "priority is required (%d to %d; higher is served first)", parley.MinPriority, parley.MaxPriority)
	}
	c, err := a.conv.SetPriority(r.Context(), p, r.PathValue("id"), *req.Priority)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type labelsRequest struct {
	Labels *[]string `json:"labels"`
}

// handleLabelConversation replaces a conversation's labels.
func (a *API) handleLabelConversation(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req labelsRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Labels == nil {
		return parley.Errorf(parley.EINVALID, "labels is required: the conversation's labels, [] for none")
	}
	c, err := a.conv.Label(r.Context(), p, r.PathValue("id"), *req.Labels)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleSetFields changes the values of a conversation's fields: a JSON
// object of keys to values — strings, numbers or booleans — with "" or
// null to clear one (staff).
func (a *API) handleSetFields(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var raw map[string]json.RawMessage
	if err := decode(r, a.maxBody, &raw); err != nil {
		return err
	}
	changes := make(map[string]*string, len(raw))
	for key, v := range raw {
		var s string
		switch t := strings.TrimSpace(string(v)); {
		case t == "null":
			changes[key] = nil
			continue
		case strings.HasPrefix(t, `"`):
			if err := json.Unmarshal(v, &s); err != nil {
				return parley.Errorf(parley.EINVALID, "fields.%s: %v", key, err)
			}
		case t == "true" || t == "false" || json.Valid(v) && (t[0] == '-' || t[0] >= '0' && t[0] <= '9'):
			s = t
		default:
			return parley.Errorf(parley.EINVALID, "fields.%s: a string, a number, true, false or null", key)
		}
		changes[key] = &s
	}
	c, err := a.conv.SetFields(r.Context(), p, r.PathValue("id"), changes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type messagePage struct {
	Messages []*parley.Message `json:"messages"`
	LastSeq  int64             `json:"last_seq"`
}

func (a *API) handleListMessages(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	q := r.URL.Query()
	var after int64
	if v := q.Get("after_seq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return invalidParam("after_seq", err)
		}
		after = n
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return parley.Errorf(parley.EINVALID, "limit must be a number from 1 to 500")
		}
		limit = n
	}
	msgs, err := a.conv.Messages(r.Context(), p, r.PathValue("id"), after, limit)
	if err != nil {
		return err
	}
	page := messagePage{Messages: msgs, LastSeq: after}
	if len(msgs) > 0 {
		page.LastSeq = msgs[len(msgs)-1].Seq
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

type sendRequest struct {
	ClientID string             `json:"client_id"`
	Type     parley.MessageType `json:"type"`
	Text     string             `json:"text"`
	Choices  []parley.Choice    `json:"choices"`
	Card     *parley.Card       `json:"card"`
	// Suggestion: the suggested reply the message began as (staff).
	Suggestion *parley.SuggestionUse `json:"suggestion"`
}

type sendResponse struct {
	Message   *parley.Message `json:"message"`
	Duplicate bool            `json:"duplicate"`
}

// handleSendMessage answers 201 for a new message and 200 with the original
// for a resend of a known client_id.
func (a *API) handleSendMessage(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req sendRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	m, dup, err := a.conv.Send(r.Context(), p, conversation.SendInput{
		ConversationID: r.PathValue("id"), ClientID: req.ClientID, Type: req.Type, Text: req.Text, Choices: req.Choices, Card: req.Card, Suggestion: req.Suggestion,
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	writeJSON(w, status, sendResponse{Message: m, Duplicate: dup})
	return nil
}

type eventPage struct {
	Events     []*parley.Event `json:"events"`
	NextCursor string          `json:"next_cursor"`
}

func (a *API) handleListEvents(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	q := r.URL.Query()
	f := parley.EventFilter{Limit: 100}
	after, err := parley.DecodeCursor(p.AccountID, q.Get("after"))
	if err != nil {
		return err
	}
	f.After = after
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return parley.Errorf(parley.EINVALID, "limit must be a number from 1 to 1000")
		}
		f.Limit = n
	}
	if f.Types, err = eventTypes(q.Get("types")); err != nil {
		return err
	}
	events, err := a.store.ListEvents(r.Context(), p.AccountID, f)
	if err != nil {
		return err
	}
	page := eventPage{Events: events, NextCursor: parley.EncodeCursor(p.AccountID, f.After)}
	if len(events) > 0 {
		page.NextCursor = parley.EncodeCursor(p.AccountID, events[len(events)-1].Seq)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// eventTypes parses a comma-separated list of event types and patterns
// ("conversation.*") into the types they name.
func eventTypes(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	types := strings.Split(list, ",")
	for _, t := range types {
		if !parley.ValidEventType(t) {
			return nil, parley.Errorf(parley.EINVALID, "unknown event type %q (a type, or a pattern like conversation.*)", t)
		}
	}
	return parley.ExpandEventTypes(types), nil
}

// handleActivity is what happened to a conversation besides its messages
// — opened, assigned, labelled, prioritised, a rule's actions, snoozed,
// transferred, closed, rated — for the staff's "why did this go to
// billing?".
func (a *API) handleActivity(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	c, err := a.conv.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	events, err := a.store.ConversationActivity(r.Context(), p.AccountID, c.ID, 500)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
	return nil
}

type profileRequest struct {
	Name       *string           `json:"name"`
	Email      *string           `json:"email"`
	Attributes map[string]string `json:"attributes"`
}

// handleUpdateOwnProfile lets a visitor give their name and email (the
// pre-chat and offline forms) and lets the brand's page set attributes
// through the widget. Attributes merge; an empty value removes one.
func (a *API) handleUpdateOwnProfile(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req profileRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	c, err := a.store.ChangeConsumer(r.Context(), p.AccountID, p.ID, func(c *parley.Consumer) error { return applyProfile(c, req) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// applyProfile checks a profile change and makes it: name and email
// replace, attributes merge (an empty value removes one).
func applyProfile(c *parley.Consumer, req profileRequest) error {
	if req.Name != nil {
		if err := checkName("name", *req.Name); err != nil {
			return err
		}
		c.Name = strings.TrimSpace(*req.Name)
	}
	if req.Email != nil {
		e := strings.TrimSpace(*req.Email)
		if e != "" {
			addr, err := mail.ParseAddress(e)
			if err != nil || addr.Address != e {
				return parley.Errorf(parley.EINVALID, "email %q is not a valid address", e)
			}
		}
		c.Email = e
	}
	if len(req.Attributes) > 0 {
		if c.Attributes == nil {
			c.Attributes = map[string]string{}
		}
		for k, v := range req.Attributes {
			if k == "" || len(k) > 100 || len(v) > 1000 {
				return parley.Errorf(parley.EINVALID, "attribute names have 1-100 bytes and values at most 1000")
			}
			if err := checkName("attributes."+k, k+v); err != nil {
				return err
			}
			if v == "" {
				delete(c.Attributes, k)
			} else {
				c.Attributes[k] = v
			}
		}
		if len(c.Attributes) > 50 {
			return parley.Errorf(parley.EINVALID, "a visitor has at most 50 attributes")
		}
	}
	return nil
}

// handleUpdateConsumer is an agent correcting or completing what the brand
// knows of a visitor — the email they gave in the chat, their plan — as
// in Chatwoot's and Intercom's contact pages. The same rules as the
// visitor's own form; the change is an event (consumer.updated).
func (a *API) handleUpdateConsumer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req profileRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	c, err := a.store.ChangeConsumer(r.Context(), p.AccountID, r.PathValue("id"), func(c *parley.Consumer) error { return applyProfile(c, req) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

type contactPage struct {
	Contacts   []*parley.Contact `json:"contacts"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// handleListConsumers is the contacts list: visitors who have written,
// newest first, searchable by name, email and the brand's own ID.
func (a *API) handleListConsumers(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	q := r.URL.Query()
	f := parley.ConsumerFilter{Query: strings.TrimSpace(q.Get("q")), Before: q.Get("cursor"), Limit: 50}
	if len(f.Query) > 200 {
		return parley.Errorf(parley.EINVALID, "q is longer than 200 bytes")
	}
	if f.Before != "" && !parley.HasIDPrefix(f.Before, "con") {
		return parley.Errorf(parley.EINVALID, "cursor %q is not a contacts cursor", f.Before)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return parley.Errorf(parley.EINVALID, "limit must be a number from 1 to 200")
		}
		f.Limit = n
	}
	list, err := a.store.ListConsumers(r.Context(), p.AccountID, f)
	if err != nil {
		return err
	}
	page := contactPage{Contacts: list}
	if len(list) == f.Limit {
		page.NextCursor = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

type consumerView struct {
	*parley.Consumer
	Conversations []*parley.Conversation `json:"conversations"`
}

// handleGetConsumer is the agents' visitor panel: who the visitor is and
// their recent conversations.
func (a *API) handleGetConsumer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	c, err := a.store.FindConsumer(r.Context(), p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	convs, err := a.store.ListConversations(r.Context(), p.AccountID, parley.ConversationFilter{ConsumerID: c.ID, Limit: 20})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, consumerView{Consumer: c, Conversations: convs})
	return nil
}

// handleBlockConsumer blocks a visitor (abuse, spam): their credentials are
// refused from now on, their open sockets close (4003), and their open
// conversations close with reason "blocked" so they leave the queues.
func (a *API) handleBlockConsumer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	c, err := a.store.BlockConsumer(r.Context(), p.AccountID, r.PathValue("id"), true, p.ID)
	if err != nil {
		return err
	}
	err = a.eachConversation(r.Context(), p.AccountID, parley.ConversationFilter{ConsumerID: c.ID}, func(conv *parley.Conversation) error {
		if conv.State == parley.StateClosed {
			return nil
		}
		_, err := a.store.CloseConversation(r.Context(), p.AccountID, conv.ID, parley.ConversationClose{Reason: parley.CloseBlocked, ClosedBy: p.ID})
		if parley.ErrorCode(err) == parley.ECONFLICT { // closed meanwhile: as good
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// mergeRequest names the contact a duplicate becomes.
type mergeRequest struct {
	Into string `json:"into"`
}

// handleMergeConsumer merges a duplicate contact into another — the same
// person on two devices, or by chat and by email — as Chatwoot, Intercom
// and Zendesk do: the conversations, what the duplicate knew that the
// contact did not, and the browser that still holds the duplicate's token
// (docs/routing.md, Merging contacts). It answers the merged contact.
func (a *API) handleMergeConsumer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req mergeRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if req.Into == "" {
		return parley.Errorf(parley.EINVALID, "into: the contact to merge into is required")
	}
	c, err := a.store.MergeConsumer(r.Context(), p.AccountID, r.PathValue("id"), req.Into, p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleUnblockConsumer lets a blocked visitor back.
func (a *API) handleUnblockConsumer(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	c, err := a.store.BlockConsumer(r.Context(), p.AccountID, r.PathValue("id"), false, p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleTranscript writes a conversation as plain text, a line per
// message (and, for staff who ask with notes=1, per note), in the order
// they were written: to attach to an escalation, or keep.
func (a *API) handleTranscript(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	ctx := r.Context()
	c, err := a.conv.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	withNotes := r.URL.Query().Get("notes") == "1"
	if withNotes && !p.IsStaff() {
		return parley.Errorf(parley.EFORBIDDEN, "notes are for the brand's staff")
	}
	msgs, err := allMessages(func(after int64, limit int) ([]*parley.Message, error) {
		return a.conv.Messages(ctx, p, c.ID, after, limit)
	})
	if err != nil {
		return err
	}
	var notes []*parley.Note
	if withNotes {
		if notes, err = a.store.ListNotes(ctx, p.AccountID, c.ID); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Conversation %s, opened %s", c.ID, c.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	if c.ClosedAt != nil {
		fmt.Fprintf(&b, ", closed %s", c.ClosedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	b.WriteString("\n\n")
	line := func(at time.Time, who, text string) {
		fmt.Fprintf(&b, "[%s] %s: %s\n", at.UTC().Format("2006-01-02 15:04:05"), who, strings.ReplaceAll(text, "\n", "\n    "))
	}
	for len(msgs) > 0 || len(notes) > 0 {
		if len(notes) > 0 && (len(msgs) == 0 || notes[0].CreatedAt.Before(msgs[0].CreatedAt)) {
			n := notes[0]
			notes = notes[1:]
			text := n.Text
			if n.Redacted != nil {
				text = "(removed by " + n.Redacted.ByName + ")"
			}
			line(n.CreatedAt, "Note from "+n.AuthorName, text)
			continue
		}
		m := msgs[0]
		msgs = msgs[1:]
		who := map[parley.SenderKind]string{parley.SenderConsumer: "Visitor", parley.SenderBot: "Bot", parley.SenderSystem: "—"}[m.SenderKind]
		if m.SenderKind == parley.SenderAgent {
			who = m.SenderName
		}
		text := m.Text
		if m.Attachment != nil {
			text = strings.TrimSpace("[file: " + m.Attachment.Name + "] " + text)
		}
		if m.Redacted != nil {
			text = "(removed by " + m.Redacted.ByName + ")"
		}
		line(m.CreatedAt, who, text)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="conversation-`+c.ID+`.txt"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = io.WriteString(w, b.String())
	return err
}

// pageRequest is a page the visitor loaded.
type pageRequest struct {
	URL   string `json:"url"`
	Title string `json:"title"`
}

// handlePage records a page the visitor loaded while their conversation
// is open (the widget sends it), for the agent's "Pages" (docs/widget.md).
func (a *API) handlePage(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req pageRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	if err := a.conv.Page(r.Context(), p, r.PathValue("id"), req.URL, req.Title); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// transcriptEmailRequest asks for a conversation by email: to the address
// the visitor gave, or to email, which becomes theirs.
type transcriptEmailRequest struct {
	Email    *string `json:"email"`
	Language string  `json:"language"`
}

// transcriptEvery is how often a conversation's transcript may be mailed.
const transcriptEvery = 10 * time.Minute

// handleEmailTranscript mails a visitor their conversation, from the
// widget's "Email me this conversation" (docs/widget.md): at most once in
// ten minutes per conversation, since the address is the visitor's word.
func (a *API) handleEmailTranscript(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var req transcriptEmailRequest
	if err := decode(r, a.maxBody, &req); err != nil {
		return err
	}
	ctx := r.Context()
	if !widgetLanguages[req.Language] {
		return parley.Errorf(parley.EINVALID, "language must be empty (the brand's), en, es, fr, de, it, nl, pt, sv, da, nb or fi")
	}
	c, err := a.conv.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if a.MailTranscript == nil {
		return parley.Errorf(parley.ECONFLICT, "this installation sends no email")
	}
	events, err := a.store.ConversationActivity(ctx, p.AccountID, c.ID, 500)
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Type == parley.EventEmailSent && time.Since(e.CreatedAt) < transcriptEvery && bytes.Contains(e.Data, []byte(`"kind":"transcript"`)) {
			return parley.Errorf(parley.ERATELIMITED, "this conversation was mailed to you a few minutes ago")
		}
	}
	visitor, err := a.store.ChangeConsumer(ctx, p.AccountID, p.ID, func(v *parley.Consumer) error {
		if req.Email == nil {
			return nil
		}
		return applyProfile(v, profileRequest{Email: req.Email})
	})
	if err != nil {
		return err
	}
	if visitor.Email == "" {
		return parley.Errorf(parley.EINVALID, "email: give the address to mail the conversation to")
	}
	if err := a.MailTranscript(ctx, p.AccountID, c.ID, req.Language); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleRedact removes what a message said (docs/data.md, Removing a
// message): a card number the masking rules missed, a message sent to the
// wrong visitor. Who did it stays on the message and in the audit log.
func (a *API) handleRedact(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	conv, err := a.conv.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		return parley.Errorf(parley.EINVALID, "seq: a message's number in the conversation, from 1")
	}
	m, err := a.store.RedactMessage(r.Context(), p.AccountID, conv.ID, seq, parley.Redaction{By: p.ID, ByName: p.Name})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// handleRedactNote removes what a note said: its author's call, or a
// supervisor's (docs/data.md, Removing a message).
func (a *API) handleRedactNote(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	conv, err := a.conv.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	notes, err := a.store.ListNotes(r.Context(), p.AccountID, conv.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(notes, func(n *parley.Note) bool { return n.ID == r.PathValue("note") })
	if i < 0 {
		return parley.Errorf(parley.ENOTFOUND, "note %q of conversation %q not found", r.PathValue("note"), conv.ID)
	}
	if notes[i].AuthorID != p.ID && !p.Can(parley.RoleSupervisor) {
		return parley.Errorf(parley.EFORBIDDEN, "only the note's author or a supervisor may remove it")
	}
	n, err := a.store.RedactNote(r.Context(), p.AccountID, conv.ID, notes[i].ID, parley.Redaction{By: p.ID, ByName: p.Name})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}
