package parley

import "time"

// Note is a private remark on a conversation for the brand's staff: an
// agent's note to self or colleagues, a transfer note, a supervisor's
// whisper. Visitors never see notes; they are kept apart from messages so
// the visitor's message seqs stay gap-free.
type Note struct {
	ID             string `json:"id"`
	AccountID      string `json:"account_id"`
	ConversationID string `json:"conversation_id"`
	AuthorID       string `json:"author_id"`
	AuthorName     string `json:"author_name"`
	Text           string `json:"text"`
	// Mentions are the colleagues (user IDs) the note calls on: each is
	// told at once and finds the conversation in their mentions.
	Mentions []string `json:"mentions,omitempty"`
	// ClientID, when set, makes a retried note safe: a second note with
	// the same client ID in the conversation from the same author is the
	// first one (at most 100 bytes; another author's is refused).
	ClientID string `json:"client_id,omitempty"`
	// Redacted, when set, says who removed what the note said, and when.
	Redacted  *Redaction `json:"redacted,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// MaxMentions is how many colleagues one note may mention.
const MaxMentions = 20

// CannedResponse is a saved reply an agent inserts by typing /Shortcut.
type CannedResponse struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Shortcut  string    `json:"shortcut"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}
