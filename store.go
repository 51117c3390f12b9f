package parley

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// Store is the source of truth. Every method is scoped by the account it
// is given: no method can read or change another account's rows, and an ID
// of another account is answered with ENOTFOUND.
//
// Every method that changes state writes the change and its event in one
// transaction; once the method returns without error, the change and its
// event are durable. After commit, in commit order, the store hands the new
// events to the Bus it was opened with.
//
// internal/storetest holds the conformance suite every implementation passes.
type Store interface {
	// Accounts.
	CreateAccount(ctx context.Context, a *Account) error
	FindAccount(ctx context.Context, id string) (*Account, error)
	ListAccounts(ctx context.Context) ([]*Account, error)
	// UpdateAccount replaces the account's name and settings.
	UpdateAccount(ctx context.Context, a *Account) error
	// ChangeAccount reads the account, lets change edit it and writes it
	// back with account.updated, all in one transaction: two changes made
	// at once (two admins, two settings forms) each see the other's, where
	// a FindAccount then UpdateAccount would lose one. An error from change
	// writes nothing and is returned.
	ChangeAccount(ctx context.Context, id string, change func(*Account) error) (*Account, error)
	// SetIdentityKey stores (or, with an empty Alg, removes) the key that
	// verifies the account's visitor identity tokens.
	SetIdentityKey(ctx context.Context, accountID string, k IdentityKey) error
	// FindIdentityKey returns the key; ENOTFOUND when none is set.
	FindIdentityKey(ctx context.Context, accountID string) (*IdentityKey, error)
	// SetSSO stores the account's single sign-on settings (nil removes
	// them) and writes sso.changed, in one transaction. ClientSecret is
	// stored as given: the caller seals it.
	SetSSO(ctx context.Context, accountID string, s *SSO) error
	// FindSSO returns them; ENOTFOUND when the account has none.
	FindSSO(ctx context.Context, accountID string) (*SSO, error)
	// FindSSODomain returns the account whose single sign-on lists domain
	// (lower case) among its Domains; ENOTFOUND when none does. A domain
	// is one account's: SetSSO refuses one another account has
	// (ECONFLICT).
	FindSSODomain(ctx context.Context, domain string) (string, error)

	// Users and skills.
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	// ChangeUser reads the user, lets change edit it and writes it back in
	// one transaction, so two changes at once (two admins, a login spending
	// a one-time code) each see the other's; an error from change writes
	// nothing and is returned. It writes user.updated when what the event
	// shows changed (not for a spent code). When the password or the
	// two-factor secret changed, or the user is not active, the user's
	// sessions end in the same transaction, all
	// but keep (a session's token hash; nil keeps none); the ended
	// sessions' token hashes are returned, to close their sockets.
	ChangeUser(ctx context.Context, accountID, id string, keep []byte, change func(*User) error) (*User, [][]byte, error)
	// SetUserPhoto stores the user's photo (a PNG, made by the avatar
	// package), or removes it (nil), sets the user's Photo to a token that
	// changes with it ("" without one) and writes user.updated.
	SetUserPhoto(ctx context.Context, accountID, userID string, png []byte) (*User, error)
	// UserPhoto returns the user's photo and its token; ENOTFOUND when the
	// user has none (or is not the account's).
	UserPhoto(ctx context.Context, accountID, userID string) ([]byte, string, error)
	// ConversationActivity returns what happened to a conversation — its
	// events but messages and receipts — oldest first, at most limit.
	ConversationActivity(ctx context.Context, accountID, conversationID string, limit int) ([]*Event, error)
	// UnreadMentions counts the notes that mention the user since they last
	// marked their mentions seen; MarkMentionsSeen marks all so far.
	UnreadMentions(ctx context.Context, accountID, userID string) (int, error)
	MarkMentionsSeen(ctx context.Context, accountID, userID string) error
	// SetAgentStatus records a person's new status when it differs from
	// the one they have (status, reason or, between away spans, cause):
	// it ends their current span at c.At (never before it began), begins
	// the new one and writes agent.status_changed, in one transaction.
	// With c.IfSince set, only while their current span began then. It
	// reports whether anything was written; an unknown user is ENOTFOUND.
	SetAgentStatus(ctx context.Context, accountID, userID string, c StatusChange) (bool, error)
	// AgentStatuses returns the account's status spans that overlap
	// [from, to), each person's oldest first; zero times leave that side
	// open (from and to both zero: the spans that last, one per person).
	AgentStatuses(ctx context.Context, accountID string, from, to time.Time) ([]*AgentStatus, error)
	// PresentAgents returns, across accounts, the spans that last and are
	// not offline: the people the status sweep checks are still connected.
	PresentAgents(ctx context.Context) ([]AccountAgentStatus, error)
	// EndSessions ends a user's sessions but keep (nil keeps none) and
	// returns the ended sessions' token hashes.
	EndSessions(ctx context.Context, accountID, userID string, keep []byte) ([][]byte, error)
	FindUser(ctx context.Context, accountID, id string) (*User, error)
	// AddPasskey stores a user's new passkey (pk.CreatedAt is set) and
	// writes user.updated with their new count, in one transaction; at
	// most MaxPasskeysPerUser each (ECONFLICT), an ID already stored is
	// ECONFLICT, an unknown user ENOTFOUND.
	AddPasskey(ctx context.Context, pk *Passkey) error
	// Passkeys lists a user's passkeys, oldest first.
	Passkeys(ctx context.Context, accountID, userID string) ([]*Passkey, error)
	// FindPasskey looks a passkey up by its credential ID across
	// accounts, for sign-in; ENOTFOUND when none has it.
	FindPasskey(ctx context.Context, id string) (*Passkey, error)
	// RenamePasskey changes the name of one of the user's passkeys; an
	// unknown ID (or another user's) is ENOTFOUND.
	RenamePasskey(ctx context.Context, accountID, userID, id, name string) error
	// UsePasskey records a sign-in with the passkey: its updated
	// credential record (the signature counter) and when.
	UsePasskey(ctx context.Context, accountID, id string, credential []byte, at time.Time) error
	// RemovePasskeys removes the user's passkeys of ids — all of them
	// when ids is empty — and writes user.updated when any went; it
	// returns how many did. An unknown ID is ENOTFOUND.
	RemovePasskeys(ctx context.Context, accountID, userID string, ids ...string) (int, error)
	// FindUserByEmail looks a user up across accounts, for login: emails are
	// unique in an installation.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// FindUserBySSOSubject returns the person of the account linked to
	// that account of its identity provider (SSOSubjectOf), ENOTFOUND
	// when none is.
	FindUserBySSOSubject(ctx context.Context, accountID, subject string) (*User, error)
	ListUsers(ctx context.Context, accountID string) ([]*User, error)
	CreateSkill(ctx context.Context, s *Skill) error
	ListSkills(ctx context.Context, accountID string) ([]*Skill, error)
	// ChangeSkill reads a skill, lets change edit its name, overflow and
	// hours (checked as the brand's are) and writes it back with skill.updated, in one transaction (two admins
	// editing one skill keep each other's change). The overflow's target
	// must be another skill of the account (or "", the general queue) and
	// no chain of overflows may come back to a skill it left (EINVALID); a
	// name taken is ECONFLICT; an error from change writes nothing.
	ChangeSkill(ctx context.Context, accountID, id string, change func(*Skill) error) (*Skill, error)

	// Credentials.
	CreateSession(ctx context.Context, s *Session) error
	FindSession(ctx context.Context, tokenHash []byte) (*Session, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	CreateAPIKey(ctx context.Context, k *APIKey) error
	FindAPIKey(ctx context.Context, id string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, accountID string) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, accountID, id string) error

	// Consumers.
	CreateConsumer(ctx context.Context, c *Consumer) error
	FindConsumer(ctx context.Context, accountID, id string) (*Consumer, error)
	FindConsumerByExternalID(ctx context.Context, accountID, externalID string) (*Consumer, error)
	// UpdateConsumer replaces a consumer's name, email and attributes.
	UpdateConsumer(ctx context.Context, c *Consumer) error
	// ChangeConsumer reads the consumer, lets change edit its name, email
	// and attributes and writes them with consumer.updated, in one
	// transaction (an agent's edit and the visitor's own form at once keep
	// both); an error from change writes nothing; the same values write no
	// event.
	ChangeConsumer(ctx context.Context, accountID, id string, change func(*Consumer) error) (*Consumer, error)
	// ListConsumers lists the account's contacts — consumers who have had
	// a conversation — newest first (docs/routing.md, Contacts).
	ListConsumers(ctx context.Context, accountID string, f ConsumerFilter) ([]*Contact, error)
	// BlockConsumer blocks (or unblocks) a consumer of the account and
	// writes consumer.blocked (or consumer.unblocked) naming by; the state
	// it already has changes nothing and writes no event.
	BlockConsumer(ctx context.Context, accountID, id string, blocked bool, by string) (*Consumer, error)
	// MergeConsumer merges the consumer from into into (the same person
	// twice, on two devices or channels) in one transaction: from's
	// conversations become into's; into keeps its name, email and
	// attributes and takes from's where it has none, and its external ID
	// when it has none (two different external IDs are two people:
	// ECONFLICT); blocked if either was. from stays, emptied, naming into,
	// so its tokens reach into. Writes consumer.merged and returns into.
	MergeConsumer(ctx context.Context, accountID, fromID, intoID, by string) (*Consumer, error)
	// ConsumerNames maps those of ids that are the account's consumers
	// with a name to that name (for lists that show who wrote); other
	// accounts' IDs and unknown ones are simply absent.
	ConsumerNames(ctx context.Context, accountID string, ids []string) (map[string]string, error)

	// Conversations.
	// OpenConversation opens a conversation (with the bot, or queued and,
	// with o.AssigneeID, assigned at once) and writes its events.
	OpenConversation(ctx context.Context, accountID string, o ConversationOpen) (*Conversation, error)
	FindConversation(ctx context.Context, accountID, id string) (*Conversation, error)
	ListConversations(ctx context.Context, accountID string, f ConversationFilter) ([]*Conversation, error)
	// ClaimConversation assigns a queued conversation to a user. It fails
	// with ECONFLICT when the conversation is not queued (another agent took
	// it, or it closed) or when the user is inactive or already has
	// MaxConcurrent assigned conversations — counted in the same transaction,
	// so no race can give one conversation two agents or an agent too many.
	ClaimConversation(ctx context.Context, accountID, id, userID string) (*Conversation, error)
	// ReassignConversation moves a conversation straight from one user to
	// another in one transaction (a transfer to a named agent): it must be
	// assigned to from (or queued, when from is ""), and to must be active
	// and below capacity; ECONFLICT otherwise. No router can take it between.
	ReassignConversation(ctx context.Context, accountID, id, from, to string) (*Conversation, error)
	// RequeueConversation puts an assigned conversation back in the queue,
	// optionally into another skill's, keeping its first-queued time so it
	// is served before later arrivals. expectAssignee, when set, must be the
	// current assignee (ECONFLICT otherwise).
	RequeueConversation(ctx context.Context, accountID, id string, r Requeue) (*Conversation, error)
	// RateConversation records the visitor's satisfaction (1–5, optional
	// comment) with a closed conversation, once: ECONFLICT when it is not
	// closed or already rated — except that a comment may follow a score
	// given without one (the same score again, with the comment), as the
	// widget asks "anything to add?" after the stars.
	RateConversation(ctx context.Context, accountID, id string, score int, comment string) error
	// CloseConversation fails with ECONFLICT when it is already closed, or
	// when c.IdleSince is set and the conversation changed after it.
	CloseConversation(ctx context.Context, accountID, id string, c ConversationClose) (*Conversation, error)
	// LabelConversation replaces the conversation's labels (checked by the
	// caller against the account's, sorted) and writes conversation.labeled
	// naming by; the labels it already has change nothing and write no
	// event. It works in every state: a closed conversation is labelled
	// after the fact too.
	LabelConversation(ctx context.Context, accountID, id string, labels []string, by string) (*Conversation, error)
	// SetConversationFields changes the values of its conversation fields
	// (checked by the caller; "" clears one), keeping the others, and
	// writes conversation.fields_changed with the keys that changed, if
	// any did. categories are the keys of the account's list and checkbox
	// fields: the event also carries their values as FieldChange.Categories.
	SetConversationFields(ctx context.Context, accountID, id string, fields map[string]string, categories []string, by string) (*Conversation, error)
	// SnoozeConversation puts an open conversation aside until until
	// (nil: back now) and writes conversation.snoozed naming by. ECONFLICT
	// when it is closed.
	SnoozeConversation(ctx context.Context, accountID, id string, until *time.Time, by string) (*Conversation, error)
	// FollowConversation makes userID (a person of the account) follow the
	// conversation, or stop (follow false), and writes conversation.followed
	// naming by; following twice, or stopping what one does not follow,
	// changes nothing. It does not count as activity (a snoozed
	// conversation stays snoozed). ENOTFOUND for a user or conversation
	// not of the account; ECONFLICT to follow a closed conversation, for an
	// inactive user, or past MaxFollowers.
	FollowConversation(ctx context.Context, accountID, id, userID string, follow bool, by string) (*Conversation, error)
	// SetPriority changes an open conversation's priority (its place in
	// the queue) and writes conversation.prioritized naming by; the same
	// priority changes nothing. ECONFLICT when it is closed.
	SetPriority(ctx context.Context, accountID, id string, priority int, by string) (*Conversation, error)
	// IdleConversations lists up to limit conversations in a state that
	// wait on their visitor — the last message that is not the system's is
	// not the visitor's, or there is none — and that nothing has happened
	// to since before (no message, no state change), longest idle first.
	IdleConversations(ctx context.Context, accountID string, state ConversationState, before time.Time, limit int) ([]IdleConversation, error)
	// UpdateReceipt raises a side's delivered or read seq; a lower or equal
	// seq changes nothing and returns changed=false. A seq beyond the last
	// message is EINVALID; another visitor's conversation (r.ConsumerID
	// set) is ENOTFOUND.
	UpdateReceipt(ctx context.Context, accountID string, r Receipt) (changed bool, err error)

	// Messages.
	// AppendMessage assigns the next seq and stores m, unless a message with
	// the same ClientID exists in the conversation: then it returns that
	// original and duplicate=true. Appending to a closed conversation is
	// ECONFLICT; a consumer (SenderKind consumer) appending to another
	// consumer's conversation is ENOTFOUND.
	AppendMessage(ctx context.Context, m *Message) (stored *Message, duplicate bool, err error)
	// SaveAttachment stores an attachment's bytes and description. It is
	// visible to others once a message refers to it.
	SaveAttachment(ctx context.Context, a *Attachment, content []byte) error
	// OpenAttachment returns an attachment of the account and its bytes.
	OpenAttachment(ctx context.Context, accountID, id string) (*Attachment, io.ReadCloser, error)
	// RedactMessage removes what a message of the conversation says — its
	// text, file, card, choices — and keeps that it was sent, by whom and
	// when: the message gets r (At set by the store), its message.created
	// event becomes the message as it is now, a bot.missed event quoting
	// it loses the quote, queued webhook deliveries of those events are
	// written again, and message.redacted is written, in one transaction;
	// the file is deleted after. A system message is EINVALID, one already
	// removed ECONFLICT.
	RedactMessage(ctx context.Context, accountID, conversationID string, seq int64, r Redaction) (*Message, error)
	// RedactNote removes what a note of the conversation says, as
	// RedactMessage does for a message: the note keeps its author and
	// time and gets r, its mentions are withdrawn (no email, no unread
	// count), its note.created event becomes the note as it is now, queued
	// webhook deliveries of it are written again, and note.redacted is
	// written, in one transaction. A note removed already is ECONFLICT.
	RedactNote(ctx context.Context, accountID, conversationID, noteID string, r Redaction) (*Note, error)
	// ListMessages returns messages with seq > afterSeq in seq order.
	ListMessages(ctx context.Context, accountID, conversationID string, afterSeq int64, limit int) ([]*Message, error)
	// LastMessages maps those of conversationIDs that are the account's
	// conversations with messages to their last message that is not the
	// system's (an inbox's preview, and who waits on whom: "Ann joined"
	// after the visitor's question leaves the question the last word);
	// other accounts' IDs and conversations with none are absent.
	LastMessages(ctx context.Context, accountID string, conversationIDs []string) (map[string]*Message, error)
	// UnansweredByBot returns the account's visitor messages stored before
	// the time given that are the last message of a conversation still
	// with the bot (the bot owes them an answer), after the conversation
	// ID after, by conversation ID, at most limit.
	UnansweredByBot(ctx context.Context, accountID string, before time.Time, after string, limit int) ([]*Message, error)

	// Notes (staff only) and canned responses.
	// AddNote stores a note; its Mentions (user IDs, checked by the
	// caller) make the conversation one of each mentioned user's
	// (ConversationFilter.MentionedUserID). A note with a ClientID its
	// author already used in the conversation is not stored again: n
	// becomes the stored one and duplicate is true; another author's use
	// of the same client ID is ECONFLICT.
	AddNote(ctx context.Context, n *Note) (duplicate bool, err error)
	ListNotes(ctx context.Context, accountID, conversationID string) ([]*Note, error)
	CreateCannedResponse(ctx context.Context, c *CannedResponse) error
	ListCannedResponses(ctx context.Context, accountID string) ([]*CannedResponse, error)
	// UpdateCannedResponse replaces a canned response's shortcut and text:
	// ENOTFOUND for another account's, ECONFLICT for a shortcut taken.
	UpdateCannedResponse(ctx context.Context, c *CannedResponse) error
	DeleteCannedResponse(ctx context.Context, accountID, id string) error

	// Bots. PutBot saves an account's bot configuration and writes
	// bot.updated; with expectVersion > 0 it fails with ECONFLICT unless
	// that is the current version (two admins editing at once).
	PutBot(ctx context.Context, accountID string, config json.RawMessage, expectVersion int64) (*BotRecord, error)
	// FindBot returns the account's bot configuration (ENOTFOUND: none).
	FindBot(ctx context.Context, accountID string) (*BotRecord, error)
	// SaveBotSession keeps where the bot is in a conversation (a flow step,
	// misses in a row); FindBotSession returns it, or nil when there is none.
	SaveBotSession(ctx context.Context, accountID, conversationID string, state json.RawMessage) error
	FindBotSession(ctx context.Context, accountID, conversationID string) (json.RawMessage, error)
	// ApplyBotTurn writes a bot turn in one transaction (see BotTurn). It
	// reports false, writing nothing, when the session already records
	// the turn's trigger: a repeated turn changes nothing. ECONFLICT: the
	// conversation is no longer the bot's (closed, or taken by a person).
	ApplyBotTurn(ctx context.Context, t *BotTurn) (applied bool, err error)

	// Reply emails (docs/email.md): agents' replies mailed to visitors who
	// did not read them.
	// EmailCursor returns how far the account's event log has been read
	// for them, starting at the log's end the first time it is asked.
	EmailCursor(ctx context.Context, accountID string) (int64, error)
	// StartEmailCursor moves it to the log's end (email replies turned
	// on: what comes next is mailed, nothing before).
	StartEmailCursor(ctx context.Context, accountID string) error
	// QueueReplyEmails records the emails owed — one pending per
	// conversation: one that has an email pending keeps it, with its
	// earlier message and due time — and moves the account's cursor from
	// from to to, in one transaction; ECONFLICT when the cursor is no
	// longer at from. Conversations not the account's are left out.
	QueueReplyEmails(ctx context.Context, accountID string, emails []*ReplyEmail, from, to int64) error
	// DueReplyEmails returns every account's pending emails due at now,
	// the longest due first, at most limit.
	DueReplyEmails(ctx context.Context, now time.Time, limit int) ([]*ReplyEmail, error)
	// ListReplyEmails returns a conversation's emails, oldest first.
	ListReplyEmails(ctx context.Context, accountID, conversationID string) ([]*ReplyEmail, error)
	// FinishReplyEmail records a pending email's outcome: still pending
	// (a retry at DueAt), or sent, skipped or failed; sent writes
	// email.sent and failed email.failed, in the same transaction.
	// ECONFLICT when it is no longer pending.
	FinishReplyEmail(ctx context.Context, e *ReplyEmail) error
	// DueMentionEmails returns, across accounts, mentions in notes written
	// from since to before, of active users who want mention emails, that
	// they have neither marked seen nor been emailed about, oldest first.
	DueMentionEmails(ctx context.Context, since, before time.Time, limit int) ([]MentionDue, error)
	// MarkMentionsEmailed records that the user was emailed about the
	// notes up to noteID; false when they already were.
	MarkMentionsEmailed(ctx context.Context, accountID, userID, noteID string) (bool, error)
	// DueFollowEmails returns, across accounts, the messages visitors and
	// people wrote from since to before in conversations followed by
	// active users who want follow emails: written after they began
	// following, by someone else, newer than the last they were emailed
	// about, oldest first, at most limit.
	DueFollowEmails(ctx context.Context, since, before time.Time, limit int) ([]FollowDue, error)
	// MarkFollowsEmailed records that the user was emailed about those
	// messages up to messageID; false when they already were.
	MarkFollowsEmailed(ctx context.Context, accountID, userID, messageID string) (bool, error)
	// ReplyAddress returns the token of the conversation's own reply
	// address, making token it when it has none (ENOTFOUND: not the
	// account's conversation).
	ReplyAddress(ctx context.Context, accountID, conversationID, token string) (string, error)
	// FindReplyAddress returns the account and conversation a reply
	// address's token names; ENOTFOUND for none. The token is the
	// credential, so it is looked up across accounts, like a session's.
	FindReplyAddress(ctx context.Context, token string) (accountID, conversationID string, err error)

	// Webhooks and their durable outbox.
	CreateWebhook(ctx context.Context, w *Webhook) error // starts at the current end of the event log
	FindWebhook(ctx context.Context, accountID, id string) (*Webhook, error)
	ListWebhooks(ctx context.Context, accountID string) ([]*Webhook, error)
	// ListActiveWebhooks returns every account's active webhooks (for the dispatcher).
	ListActiveWebhooks(ctx context.Context) ([]*Webhook, error)
	UpdateWebhook(ctx context.Context, w *Webhook) error // URL, types, active (re-activating clears the reason)
	DeleteWebhook(ctx context.Context, accountID, id string) error
	// EnqueueDeliveries puts deliveries into the outbox and moves the
	// webhook's cursor to cursor, in one transaction; ECONFLICT when the
	// cursor moved meanwhile (another dispatcher did it).
	EnqueueDeliveries(ctx context.Context, w *Webhook, ds []*WebhookDelivery, cursor int64) error
	// DueDeliveries returns pending deliveries due at now, each the oldest
	// pending one of its webhook and conversation (order per conversation),
	// and holds them for the caller: their next attempt moves to now+lease,
	// so no other sender (another node's) takes them until RecordAttempt
	// says how the attempt went, or the lease runs out (the caller died).
	DueDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error)
	// RecordAttempt saves a delivery's attempt; a delivery that failed for
	// good also disables its webhook (with reason) and writes webhook.disabled.
	RecordAttempt(ctx context.Context, d *WebhookDelivery, disableReason string) error
	ListDeliveries(ctx context.Context, accountID, webhookID string, limit int) ([]*WebhookDelivery, error)
	// Redeliver makes a delivery pending again, due now.
	Redeliver(ctx context.Context, accountID, deliveryID string) (*WebhookDelivery, error)

	// Exports: each calls fn for every row of the account created in
	// [from, to), in order, reading a page at a time (constant memory).
	ScanConversations(ctx context.Context, accountID string, from, to time.Time, fn func(*Conversation) error) error
	ScanMessages(ctx context.Context, accountID string, from, to time.Time, fn func(*Message) error) error
	ScanEvents(ctx context.Context, accountID string, from, to time.Time, fn func(*Event) error) error

	// Privacy. EraseConversations deletes the conversations' messages,
	// notes, attachments and bot sessions, strips their events of content
	// but for the fields metrics read (ErasureKeeps) and their webhook
	// payloads of everything (Erased); the conversation rows stay, for
	// metrics. EraseConsumer does that for all of a visitor's
	// conversations, strips their consumer events, blanks the visitor's
	// name, email, external ID and attributes, and writes consumer.erased.
	EraseConversations(ctx context.Context, accountID string, ids []string) error
	EraseConsumer(ctx context.Context, accountID, consumerID string) error
	// ExpiredConversations lists conversations closed before a time whose
	// content is still there, oldest first.
	ExpiredConversations(ctx context.Context, accountID string, closedBefore time.Time, limit int) ([]string, error)
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns the account's audit entries newest first, before
	// the entry with ID before ("" from the newest).
	ListAudit(ctx context.Context, accountID, before string, limit int) ([]*AuditEntry, error)

	// Metrics rollup (internal/analytics/rollup.go). RollupCursor is the
	// seq of the last event the account's rollup has read (0: none);
	// RollupRows returns the rows of a kind with those items, in no order;
	// ScanRollup calls fn for every row with End >= from and Start < to;
	// SaveRollup writes rows (replacing those with the same kind and item)
	// and moves the cursor from one seq to another in one transaction, or
	// fails with ECONFLICT, writing nothing, when the cursor is not at from.
	// SaveRollupRows writes rows and leaves the cursor. Neither replaces a
	// row with one of a lower Seq.
	RollupCursor(ctx context.Context, accountID string) (int64, error)
	RollupRows(ctx context.Context, accountID, kind string, items []string) ([]*RollupRow, error)
	ScanRollup(ctx context.Context, accountID string, from, to time.Time, fn func(*RollupRow) error) error
	SaveRollup(ctx context.Context, accountID string, fromSeq, toSeq int64, rows []*RollupRow) error
	SaveRollupRows(ctx context.Context, accountID string, rows []*RollupRow) error

	// Events.
	// AppendEvent records an event that has no other row (a widget signal,
	// for example); it sets e.Seq and e.CreatedAt.
	AppendEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, accountID string, f EventFilter) ([]*Event, error)

	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	Close() error
}

// Bus carries "something changed" notifications between the parts of one
// node and, in cluster mode, between nodes. It is not durable: whoever needs
// every change catches up from the Store, using event and message seqs to
// find what it missed.
type Bus interface {
	// Publish hands events to every subscriber. It must not block on slow
	// subscribers.
	Publish(ctx context.Context, events []*Event) error
	// Subscribe calls fn for every published event until the returned
	// function is called. fn must return quickly.
	Subscribe(fn func(*Event)) (unsubscribe func())
}

// Clock returns the current time; tests may replace it.
type Clock func() time.Time
