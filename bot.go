package parley

import (
	"encoding/json"
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
