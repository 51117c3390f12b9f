package parley

import (
	"encoding/json"
	"strings"
	"time"
)

// BotRecord is an account's bot configuration as stored: the document
// (validated by internal/bot before it is saved; the store keeps it as it
// is) and a version that grows by one with every save.
type BotRecord struct {
	AccountID string          `json:"account_id"`
	Config    json.RawMessage `json:"config"`
	Version   int64           `json:"version"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// BotTurn is everything the bot decided for one visitor message (or a
// conversation's opening), written by Store.ApplyBotTurn in one
// transaction: all of it, or — after a crash, or when the conversation
// closed meanwhile — none of it.
type BotTurn struct {
	AccountID, ConversationID string
	// Trigger names what the turn answers (the visitor message's ID, or
	// "greeting"); a turn whose trigger the conversation's bot session
	// already records is not written again.
	Trigger string
	// Messages are the bot's, in order.
	Messages []*Message
	// Session is the bot's state in the conversation after the turn.
	Session json.RawMessage
	// Consumer, when set, is the visitor with what a flow collected.
	Consumer *Consumer
	// Events are the turn's bot.* events (type and data).
	Events []*Event
	// A handoff leaves a Note for the agent and a Requeue; Close ends the
	// conversation instead.
	Note    *Note
	Requeue *Requeue
	Close   *ConversationClose
}

// SuggestionUse says that an agent's reply began as one of the suggested
// replies (docs/bot.md, Suggestions for agents): which one — an intent's
// answer, an article, a canned response, a reply given before — and
// whether the agent changed it before sending. suggestion.used carries
// it, with the conversation, the message's seq and the agent, so the
// brand learns which of its answers help its people.
type SuggestionUse struct {
	Kind string `json:"kind"` // "intent", "article", "canned" or "past"
	// Ref is the intent's name, the article's ID, the canned response's
	// ID, or a past reply's conversation ID and seq ("ID:seq").
	Ref    string `json:"ref"`
	Edited bool   `json:"edited"`
	// Set by the server: where it was sent, and by whom.
	ConversationID string `json:"conversation_id,omitempty"`
	MessageSeq     int64  `json:"message_seq,omitempty"`
	By             string `json:"by,omitempty"`
}

// Validate checks what a client says about the suggestion it used.
func (u *SuggestionUse) Validate() error {
	switch u.Kind {
	case "intent", "article", "canned", "past":
	default:
		return Errorf(EINVALID, "suggestion.kind must be intent, article, canned or past")
	}
	if u.Ref == "" || len(u.Ref) > 100 || strings.ContainsFunc(u.Ref, func(r rune) bool { return r < ' ' }) {
		return Errorf(EINVALID, "suggestion.ref must be the suggestion's ID or name (1-100 characters, on one line)")
	}
	return nil
}
