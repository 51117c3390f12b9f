package parley

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Event types. Every state change writes exactly one event in the same
// transaction as the change.
const (
	EventConversationOpened   = "conversation.opened"
	EventConversationQueued   = "conversation.queued"
	EventConversationAssigned = "conversation.assigned"
	EventConversationClosed   = "conversation.closed"
	EventConversationRequeued = "conversation.requeued"
	EventConversationLabeled  = "conversation.labeled"       // staff changed its labels (data: LabelChange)
	EventConversationPriority = "conversation.prioritized"   // staff changed its priority (data: PriorityChange)
	EventConversationSnoozed  = "conversation.snoozed"       // staff put it aside, or back (data: the conversation, snoozed_by)
	EventConversationFollowed = "conversation.followed"      // someone of the brand began or stopped following it (data: FollowChange)
	EventReplyOverdue         = "conversation.reply_overdue" // a visitor waited on the agent's reply past the reply target (data: conversation.ReplyOverdue)
	EventMessageCreated       = "message.created"
	EventReceiptUpdated       = "receipt.updated"
	EventConsumerCreated      = "consumer.created"
	EventConsumerUpdated      = "consumer.updated"
	EventConsumerBlocked      = "consumer.blocked"   // staff blocked a visitor (data: consumer_id, blocked_by)
	EventConsumerUnblocked    = "consumer.unblocked" // and let them back (data: consumer_id, unblocked_by)
	EventConsumerMerged       = "consumer.merged"    // staff merged a duplicate into a contact (data: ConsumerMerged)
	EventUserCreated          = "user.created"
	EventUserUpdated          = "user.updated"
	EventSkillCreated         = "skill.created"
	EventSkillUpdated         = "skill.updated" // an admin changed a skill's name or overflow (data: the skill)
	EventAPIKeyCreated        = "api_key.created"
	EventAPIKeyRevoked        = "api_key.revoked"
	EventAccountUpdated       = "account.updated"
	EventWidgetLoaded         = "widget.loaded"
	EventWidgetOpened         = "widget.opened"
	EventWidgetTampered       = "widget.tampered"
	EventWidgetSuspected      = "widget.suspected_tamper"
	EventWidgetForged         = "widget.forged_message"
	EventIdentityKeyChanged   = "identity_key.changed"
	EventIdentityRejected     = "widget.identity_rejected"
	EventEngagementShown      = "engagement.shown"
	EventEngagementClicked    = "engagement.clicked"
	EventEngagementDismissed  = "engagement.dismissed"
	EventConversationFields   = "conversation.fields_changed"  // staff set its fields (data: FieldChange)
	EventVisitorInvited       = "visitor.invited"              // an agent invited a browsing visitor to chat (data: pv, url, agent_id)
	EventInvitationDeclined   = "visitor.invitation_declined"  // the visitor dismissed it (data: pv, url, invitation, agent_id)
	EventInvitationWithdrawn  = "visitor.invitation_withdrawn" // staff took it back before the visitor answered (data: pv, url, invitation, agent_id, by)
	EventInvitationAnswered   = "visitor.invitation_answered"  // the visitor answered it: the conversation it opens is the agent's if they have room (data: pv, url, invitation, agent_id)
	EventCSATSubmitted        = "csat.submitted"
	EventNoteCreated          = "note.created"
	EventBotUpdated           = "bot.updated"           // the configuration changed (data: version)
	EventBotAnswered          = "bot.answered"          // the bot answered from an intent, an article or a flow
	EventBotMissed            = "bot.missed"            // the bot did not understand
	EventBotHandoff           = "bot.handoff"           // the bot handed the conversation to people
	EventBotFeedback          = "bot.feedback"          // the visitor said whether an answer helped
	EventWebhookDisabled      = "webhook.disabled"      // a webhook kept failing and was turned off
	EventConsumerErased       = "consumer.erased"       // a visitor's data was erased on request (data: the ID only)
	EventConversationsExpired = "conversations.expired" // retention removed old conversations' content (data: how many)
	EventAutomationApplied    = "automation.applied"    // a brand's rule matched a conversation (data: AutomationApplied)
	EventMacroApplied         = "macro.applied"         // a person applied a macro to a conversation, every step done (data: MacroApplied)
	EventEmailSent            = "email.sent"            // an agent's unread replies were mailed to the visitor (data: EmailReport)
	EventEmailFailed          = "email.failed"          // the mail server refused them for good (data: EmailReport)
	EventHelpArticleViewed    = "help.article_viewed"   // a visitor read an article in the widget's help center (data: pv, url, article)
	EventHelpArticleRated     = "help.article_rated"    // and said whether it helped (data: pv, url, article, helpful)
	EventSuggestionUsed       = "suggestion.used"       // an agent sent a reply begun from a suggestion (data: SuggestionUse)
	EventPageViewed           = "visitor.page_viewed"   // the visitor loaded a page of the site during a conversation (data: PageView)
	EventAgentStatusChanged   = "agent.status_changed"  // a person went online, away or offline (data: StatusChanged)
	EventSSOChanged           = "sso.changed"           // an admin set or removed single sign-on (data: SSOChanged, never the secret)
	EventMessageRedacted      = "message.redacted"      // staff removed what a message said (data: the message as it is now, with redacted)
	EventNoteRedacted         = "note.redacted"         // its author or a supervisor removed what a note said (data: the note as it is now)
)

// PageView is visitor.page_viewed's data: a page of the brand's site the
// visitor loaded while the conversation was open (masked like a message).
type PageView struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// ConsumerMerged is consumer.merged's data: the contact that remains, the
// duplicate merged into it, who did it and how many conversations moved.
type ConsumerMerged struct {
	ConsumerID    string `json:"consumer_id"`
	MergedID      string `json:"merged_id"`
	MergedBy      string `json:"merged_by"`
	Conversations int    `json:"conversations"`
}

// MacroApplied is macro.applied's data: the macro, who applied it, the
// request's client ID (a retry with it is answered from this record) and
// what each step did ("add_label: done").
type MacroApplied struct {
	Macro    string   `json:"macro"`
	By       string   `json:"by"` // the user or API key that applied it
	ClientID string   `json:"client_id"`
	Steps    []string `json:"steps"`
}

// AutomationApplied is automation.applied's data: which rule matched, on
// which event, and what its actions did ("done", "unchanged", or why not).
type AutomationApplied struct {
	Rule     string   `json:"rule"`
	On       string   `json:"on"`        // the rule's event
	EventSeq int64    `json:"event_seq"` // the event that set it off
	Actions  []string `json:"actions"`   // "add_label billing: done"
}

// EventTypes lists every event type, for validating filters.
var EventTypes = []string{
	EventConversationOpened, EventConversationQueued, EventConversationAssigned,
	EventConversationClosed, EventConversationRequeued, EventConversationLabeled, EventConversationFields, EventConversationPriority, EventConversationSnoozed, EventConversationFollowed, EventReplyOverdue, EventMessageCreated, EventReceiptUpdated,
	EventConsumerCreated, EventConsumerUpdated, EventConsumerBlocked, EventConsumerUnblocked, EventConsumerMerged, EventUserCreated, EventUserUpdated, EventSkillCreated, EventSkillUpdated,
	EventAPIKeyCreated, EventAPIKeyRevoked, EventAccountUpdated,
	EventWidgetLoaded, EventWidgetOpened, EventWidgetTampered, EventWidgetSuspected, EventWidgetForged,
	EventIdentityKeyChanged, EventIdentityRejected,
	EventEngagementShown, EventEngagementClicked, EventEngagementDismissed, EventVisitorInvited, EventInvitationDeclined, EventInvitationWithdrawn, EventInvitationAnswered, EventCSATSubmitted, EventNoteCreated,
	EventBotUpdated, EventBotAnswered, EventBotMissed, EventBotHandoff, EventBotFeedback,
	EventWebhookDisabled, EventConsumerErased, EventConversationsExpired, EventAutomationApplied, EventMacroApplied,
	EventEmailSent, EventEmailFailed, EventHelpArticleViewed, EventHelpArticleRated, EventSuggestionUsed, EventAgentStatusChanged, EventPageViewed,
	EventSSOChanged, EventMessageRedacted, EventNoteRedacted,
}

// ValidEventType reports whether t names events: a known type, or a
// pattern "prefix.*" that covers at least one ("conversation.*").
func ValidEventType(t string) bool {
	return len(ExpandEventTypes([]string{t})) > 0
}

// ExpandEventTypes turns types, some of them patterns ("bot.*": every type
// that starts "bot."), into the types they name, each once, in the order
// of EventTypes. Patterns are expanded when events are read, so a webhook
// on "conversation.*" also gets the conversation events of later versions.
func ExpandEventTypes(types []string) []string {
	var out []string
	for _, known := range EventTypes {
		for _, t := range types {
			prefix, pattern := strings.CutSuffix(t, "*")
			if known == t || (pattern && strings.HasSuffix(prefix, ".") && strings.HasPrefix(known, prefix)) {
				out = append(out, known)
				break
			}
		}
	}
	return out
}

// Event is an append-only record of a state change. Seq is the account's
// cursor: it grows by one with every event of that account, with no gaps.
// Data is the changed thing as JSON (a message, a conversation, ...).
type Event struct {
	AccountID      string `json:"account_id"`
	Seq            int64  `json:"seq"`
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id,omitempty"`
	// MessageSeq is the message's seq for message.created events.
	MessageSeq int64           `json:"message_seq,omitempty"`
	Data       json.RawMessage `json:"data"`
	CreatedAt  time.Time       `json:"created_at"`
}

// EventFilter selects events of one account after a cursor, oldest first
// — or, with Newest, the last Limit of them, newest first (recent
// activity, such as the questions the bot missed lately).
type EventFilter struct {
	After  int64
	Types  []string
	Limit  int
	Newest bool
}

// Event cursors are opaque to clients: the account and the seq, so a cursor
// used with another account's credentials is recognised and refused.
const cursorPrefix = "v1:"

// EncodeCursor returns the cursor just after event seq of the account.
func EncodeCursor(accountID string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + accountID + ":" + strconv.FormatInt(seq, 10)))
}

// DecodeCursor returns the seq of a cursor of the account; "" is the start
// of the log. A malformed cursor or one of another account is EINVALID.
func DecodeCursor(accountID, cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if err != nil || !ok {
		return 0, Errorf(EINVALID, "cursor %q is malformed: use next_cursor from a previous page", cursor)
	}
	acc, seqText, ok := strings.Cut(rest, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 0 {
		return 0, Errorf(EINVALID, "cursor %q is malformed: use next_cursor from a previous page", cursor)
	}
	if acc != accountID {
		return 0, Errorf(EINVALID, "cursor %q belongs to another account", cursor)
	}
	return seq, nil
}
