package parley

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// EmailReplies mails an agent's replies to a visitor who has not read them
// (Intercom's and Chatwoot's "conversation continuity"): a visitor who
// asked and closed the tab still gets the answer (docs/email.md).
type EmailReplies struct {
	Enabled bool `json:"enabled"`
	// DelayMinutes is how long an agent's message may stay unread before
	// it is mailed (nil: 5; 0: at the next check, about 15 s). Messages
	// that follow within the wait go in the same email.
	DelayMinutes *int `json:"delay_minutes,omitempty"`
	// FromName is the sender's name the visitor sees ("" : the account's
	// name); the address is the installation's (parley serve --mail-from).
	FromName string `json:"from_name,omitempty"`
	// ReplyTo is where the visitor's answer by email goes: the brand's
	// support mailbox ("": no Reply-To, so answers go to the sender's
	// address).
	ReplyTo string `json:"reply_to,omitempty"`
	// SiteURL, when set, ends the email with a link back to the brand's
	// site, where the chat goes on.
	SiteURL string `json:"site_url,omitempty"`
	// Survey: a conversation with a person that closes unrated asks the
	// visitor for a rating by email, SurveyDelay after the close (it
	// needs the installation's public address, for the rating page).
	Survey bool `json:"survey,omitempty"`
}

// SurveyDelay is how long after a close the rating request waits: the
// chat window asks first, and a visitor still there answers it.
const SurveyDelay = 30 * time.Minute

// EmailDelayMaxMinutes is the longest DelayMinutes may be (a day).
const EmailDelayMaxMinutes = 24 * 60

// Delay returns how long a reply stays unread before it is mailed.
func (e EmailReplies) Delay() time.Duration {
	if e.DelayMinutes == nil {
		return 5 * time.Minute
	}
	return time.Duration(*e.DelayMinutes) * time.Minute
}

// Validate checks every field, each with its own message.
func (e EmailReplies) Validate() error {
	if e.DelayMinutes != nil && (*e.DelayMinutes < 0 || *e.DelayMinutes > EmailDelayMaxMinutes) {
		return Errorf(EINVALID, "email_replies.delay_minutes must be from 0 to %d", EmailDelayMaxMinutes)
	}
	if len(e.FromName) > 100 || strings.ContainsAny(e.FromName, "\r\n") {
		return Errorf(EINVALID, "email_replies.from_name must be one line of at most 100 characters")
	}
	if e.ReplyTo != "" {
		a, err := mail.ParseAddress(e.ReplyTo)
		if err != nil || a.Name != "" || len(e.ReplyTo) > 254 {
			return Errorf(EINVALID, "email_replies.reply_to must be an email address, like support@example.com")
		}
	}
	if e.SiteURL != "" {
		u, err := url.Parse(e.SiteURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(e.SiteURL) > 500 {
			return Errorf(EINVALID, "email_replies.site_url must be an http or https address, like https://example.com/help")
		}
	}
	return nil
}

// ReplyEmail is one email owed to a visitor: the agent's messages from
// FromSeq on that they had not read when it was due.
type ReplyEmail struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"` // EmailKindReplies or EmailKindSurvey
	AccountID      string     `json:"account_id"`
	ConversationID string     `json:"conversation_id"`
	FromSeq        int64      `json:"from_seq"` // the first agent message it is for
	State          string     `json:"state"`    // ReplyEmailPending, …
	DueAt          time.Time  `json:"due_at"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error,omitempty"` // or, when skipped, why
	ThroughSeq     int64      `json:"through_seq,omitempty"`
	Messages       int        `json:"messages,omitempty"` // how many went in it
	CreatedAt      time.Time  `json:"created_at"`
	SentAt         *time.Time `json:"sent_at,omitempty"`
}

// Kinds of emails owed to visitors: the agents' unread replies, or a
// request to rate a conversation that closed unrated.
const (
	EmailKindReplies    = "replies"
	EmailKindSurvey     = "survey"
	EmailKindTranscript = "transcript" // the conversation, at the visitor's request from the widget
)

// Reply email states: pending until due; then sent, skipped (read in
// time, no address, the visitor gone) or failed (the mail server refused
// it for good, or kept failing).
const (
	ReplyEmailPending = "pending"
	ReplyEmailSent    = "sent"
	ReplyEmailSkipped = "skipped"
	ReplyEmailFailed  = "failed"
)

// EmailReport is the data of email.sent and email.failed: what went (or
// not) and why. The address is not in it: events outlive erasure.
type EmailReport struct {
	EmailID    string `json:"email_id"`
	Kind       string `json:"kind,omitempty"`
	Messages   int    `json:"messages,omitempty"`
	ThroughSeq int64  `json:"through_seq,omitempty"`
	Error      string `json:"error,omitempty"`
}

// MentionDue is a mention of a person, in a note, that they have neither
// looked at nor been emailed about.
// FollowDue is a message, in a conversation a person follows, that they
// have not been emailed about.
type FollowDue struct {
	AccountID, UserID, ConversationID string
	MessageID                         string
	Sender                            string // who wrote it: the visitor's name or the person's
	FromVisitor                       bool
	Visitor                           string // the conversation's visitor's name, when they gave one
	Text                              string
	At                                time.Time
}

type MentionDue struct {
	AccountID, UserID, ConversationID string
	NoteID, Author, Text              string
	At                                time.Time
}
