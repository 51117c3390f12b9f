package parley

import "time"

// ConversationState is where a conversation is in its life.
type ConversationState string

// Conversation states. A conversation starts with the bot (when the account
// has one) or in a queue, is assigned to one agent, and ends closed.
const (
	StateBot      ConversationState = "bot"
	StateQueued   ConversationState = "queued"
	StateAssigned ConversationState = "assigned"
	StateClosed   ConversationState = "closed"
)

// Valid reports whether s is a known state.
func (s ConversationState) Valid() bool {
	switch s {
	case StateBot, StateQueued, StateAssigned, StateClosed:
		return true
	}
	return false
}

// Channels a conversation can arrive through.
const (
	ChannelWeb = "web" // the website widget
	ChannelAPI = "api" // a brand's server, through the REST API
	// ChannelEmail: the visitor answered an emailed reply after the
	// conversation had closed (docs/email.md).
	ChannelEmail = "email"
)

// Conversation is one thread between a consumer and the brand.
type Conversation struct {
	ID         string            `json:"id"`
	AccountID  string            `json:"account_id"`
	ConsumerID string            `json:"consumer_id"`
	Channel    string            `json:"channel"`
	State      ConversationState `json:"state"`
	Skill      string            `json:"skill,omitempty"`       // skill ID
	AssigneeID string            `json:"assignee_id,omitempty"` // user ID
	Priority   int               `json:"priority"`
	// Engagement is the ID of the proactive engagement the visitor
	// answered to start it ("" for the others).
	Engagement string     `json:"engagement,omitempty"`
	QueuedAt   *time.Time `json:"queued_at,omitempty"` // first time it waited for a person; the queue's order
	// QueueEnteredAt is when it entered the queue it is in (opened, handed
	// off, transferred, overflowed): a skill's overflow counts from then.
	QueueEnteredAt *time.Time `json:"queue_entered_at,omitempty"`
	LastSeq        int64      `json:"last_seq"`
	CloseReason    string     `json:"close_reason,omitempty"`
	ClosedBy       string     `json:"closed_by,omitempty"`
	// CSATScore (1–5) and CSATComment are the visitor's rating of the
	// closed conversation; 0 and "" until they rate it.
	CSATScore   int    `json:"csat_score,omitempty"`
	CSATComment string `json:"csat_comment,omitempty"`
	// SnoozedUntil and SnoozedAt: an agent put the conversation aside until
	// then, at that time. It is snoozed while the time has not come and
	// nothing has happened to it since (see Snoozed).
	SnoozedUntil *time.Time `json:"snoozed_until,omitempty"`
	SnoozedAt    *time.Time `json:"snoozed_at,omitempty"`
	// Labels are the staff's tags, sorted; visitors never see them.
	Labels []string `json:"labels,omitempty"`
	// Fields are the values of the account's conversation fields, by key
	// (ConversationField); visitors never see them.
	Fields map[string]string `json:"fields,omitempty"`
	// Followers are the people of the brand who follow the conversation
	// (user IDs, in the order they came): their consoles hear of its
	// visitor's messages and list it under Following, whoever has it
	// (docs/routing.md, Following); visitors never see them.
	Followers  []string   `json:"followers,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	AssignedAt *time.Time `json:"assigned_at,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	// Receipts: the highest seq each side has had delivered and has read.
	ConsumerDeliveredSeq int64 `json:"consumer_delivered_seq"`
	ConsumerReadSeq      int64 `json:"consumer_read_seq"`
	AgentDeliveredSeq    int64 `json:"agent_delivered_seq"`
	AgentReadSeq         int64 `json:"agent_read_seq"`
}

// Snoozed reports whether c is put aside at now: its snooze has not
// run out, and nothing (a message, a state change) happened to it since.
func (c *Conversation) Snoozed(now time.Time) bool {
	return c.SnoozedUntil != nil && c.SnoozedAt != nil && now.Before(*c.SnoozedUntil) && !c.UpdatedAt.After(*c.SnoozedAt)
}

// MaxSnooze is the longest a conversation may be snoozed.
const MaxSnooze = 90 * 24 * time.Hour

// ConversationFilter selects conversations of one account for listing.
// Results come newest first; After is the ID of the last conversation of the
// previous page.
type ConversationFilter struct {
	State      ConversationState
	Skill      string
	AssigneeID string
	ConsumerID string
	Label      string // carries this label
	// FollowedBy: this user follows the conversation.
	FollowedBy string
	// MentionedUserID: a note on the conversation mentions this user.
	MentionedUserID string
	// Snoozed, when set, keeps only the conversations snoozed at Now
	// ("only") or only those that are not ("hide").
	Snoozed string
	Now     time.Time
	// QueueOrder lists in the queue's order — priority first, then the
	// longest waiting — instead of newest first (no After with it).
	QueueOrder bool
	// Query finds conversations whose visitor's name, email or external ID,
	// or whose messages, contain it (case-insensitive); with SearchFields,
	// the values of their conversation fields too ("A-1042" finds the
	// conversation whose order number it is).
	Query        string
	SearchFields bool // staff only: fields are never shown to visitors
	// Fields keeps the conversations whose field (by key) holds exactly
	// this value, as stored (ConversationField.Value): every pair must
	// hold.
	Fields map[string]string
	After  string
	Limit  int
}

// ConversationOpen describes a new conversation.
type ConversationOpen struct {
	ConsumerID string
	Channel    string
	State      ConversationState // StateBot or StateQueued
	Skill      string
	Priority   int
	// AssigneeID, when set, assigns the new conversation to that user in
	// the same transaction (conversation.opened, then
	// conversation.assigned): an agent starting a conversation with a
	// contact answers it. The user must be active with room (ECONFLICT).
	AssigneeID string
	// Engagement, when set, is the proactive engagement the visitor
	// answered: its ID goes on the conversation and its text is the
	// conversation's first message (a system message with the notice
	// "engagement"), in the same transaction.
	Engagement *Engagement
	// Invitation, when set, is the agent's invitation the visitor
	// answered: its text is the conversation's first message (a system
	// message with the notice "invitation"), in the same transaction.
	Invitation *Invitation
}

// Requeue describes a conversation going back to a queue.
type Requeue struct {
	Skill          string // "" keeps the conversation's skill
	ChangeSkill    bool   // true to set Skill (even to "": the general queue)
	ExpectAssignee string // when set, the conversation must be assigned to this user
	Reason         string // "transfer", "agent_offline", "agent_disconnected", "overflow", ...
	// ExpectQueuedIn, when set, requires the conversation to be waiting in
	// that skill's queue still (an overflow must not take it from an agent
	// who claimed it meanwhile).
	ExpectQueuedIn string
}

// Priorities a conversation may have: higher is served first.
const (
	MinPriority = 0
	MaxPriority = 10
)

// PriorityChange is conversation.prioritized's data: the conversation
// with its new priority, the one before and who changed it.
// FollowChange is the data of conversation.followed: who began or
// stopped following it, and who did that (themself, or the note that
// mentioned them).
type FollowChange struct {
	*Conversation
	UserID    string `json:"user_id"`
	Following bool   `json:"following"`
	By        string `json:"by"`
}

// MaxFollowers bounds the people following one conversation.
const MaxFollowers = 50

type PriorityChange struct {
	*Conversation
	FromPriority int    `json:"from_priority"`
	ChangedBy    string `json:"changed_by"`
}

// ConversationClose describes how a conversation ended.
type ConversationClose struct {
	Reason   string
	ClosedBy string // a principal's ID, or "system"
	// IdleSince, when set, is the conversation's UpdatedAt as the closer
	// saw it: if anything happened since (a message, an assignment), the
	// close is ECONFLICT and changes nothing.
	IdleSince time.Time
}

// CloseInactive is the close reason of a conversation closed because its
// visitor stopped answering (AccountSettings.AutoClose).
const CloseInactive = "inactive"

// CloseBlocked is the close reason of the open conversations of a visitor
// the brand blocked.
const CloseBlocked = "blocked"

// IdleConversation is a conversation that waits on its visitor and that
// nothing has happened to for a while, as the auto-close sweep sees it.
type IdleConversation struct {
	ID        string
	UpdatedAt time.Time
	// LastSystemClientID is the client ID of its last message when that
	// is a system message ("" otherwise): auto-close knows by it that it
	// has already asked the visitor whether they are still there.
	LastSystemClientID string
	// Its snooze, if an agent put it aside (see Conversation.Snoozed).
	SnoozedUntil, SnoozedAt *time.Time
}

// Snoozed reports whether the conversation is put aside at now.
func (ic IdleConversation) Snoozed(now time.Time) bool {
	c := Conversation{UpdatedAt: ic.UpdatedAt, SnoozedUntil: ic.SnoozedUntil, SnoozedAt: ic.SnoozedAt}
	return c.Snoozed(now)
}

// Receipt says a side of the conversation has had messages up to Seq
// delivered or read.
type Receipt struct {
	ConversationID string `json:"conversation_id"`
	Side           string `json:"side"` // "consumer" or "agent"
	Kind           string `json:"kind"` // "delivered" or "read"
	Seq            int64  `json:"seq"`
	// ConsumerID, when set, is the visitor sending the receipt: the
	// conversation must be theirs (checked in the write; NOTFOUND if not).
	ConsumerID string `json:"-"`
}

// Receipt sides and kinds.
const (
	SideConsumer     = "consumer"
	SideAgent        = "agent"
	ReceiptDelivered = "delivered"
	ReceiptRead      = "read"
)
