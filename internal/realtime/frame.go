package realtime

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
)

// inFrame is every field a client frame may carry; which ones a frame uses
// depends on its type (docs/protocol.md). Unknown fields are refused.
type inFrame struct {
	Type           string     `json:"type"`
	ID             string     `json:"id,omitempty"`
	Token          string     `json:"token,omitempty"`
	ConversationID string     `json:"conversation_id,omitempty"`
	AfterSeq       *int64     `json:"after_seq,omitempty"`
	ClientID       string     `json:"client_id,omitempty"`
	Message        *inMessage `json:"message,omitempty"`
	Typing         *bool      `json:"typing,omitempty"`
	Viewing        *bool      `json:"viewing,omitempty"`
	Kind           string     `json:"kind,omitempty"`
	Seq            *int64     `json:"seq,omitempty"`
	Skill          string     `json:"skill,omitempty"`
	Engagement     string     `json:"engagement,omitempty"` // open: the proactive engagement the visitor answered
	Invitation     string     `json:"invitation,omitempty"` // open: the agent's invitation the visitor answered
	State          string     `json:"state,omitempty"`
	Reason         string     `json:"reason,omitempty"` // presence: an away reason of the account's
	Auto           bool       `json:"auto,omitempty"`   // presence: the console set it (auto-away)
	Text           string     `json:"text,omitempty"`   // typing: the visitor's draft (typing preview)
	// Suggestion (send, staff): the suggested reply the message began as.
	Suggestion *parley.SuggestionUse `json:"suggestion,omitempty"`
}

type inMessage struct {
	Type    parley.MessageType `json:"type"`
	Text    string             `json:"text"`
	Choices []parley.Choice    `json:"choices,omitempty"`
	Card    *parley.Card       `json:"card,omitempty"`
}

// Server frames. Each has its own struct so the documented shape is the
// encoded shape.
type (
	authenticatedFrame struct {
		Type        string               `json:"type"`
		ID          string               `json:"id,omitempty"`
		AccountID   string               `json:"account_id"`
		Kind        parley.PrincipalKind `json:"kind"`
		PrincipalID string               `json:"principal_id"`
		Role        parley.Role          `json:"role,omitempty"`
		Limits      limitsInfo           `json:"limits"`
	}
	limitsInfo struct {
		MaxChars         int   `json:"max_chars"`
		MaxFrameBytes    int64 `json:"max_frame_bytes"`
		HeartbeatSeconds int   `json:"heartbeat_seconds"`
	}
	ackFrame struct {
		Type           string `json:"type"`
		ID             string `json:"id,omitempty"`
		ConversationID string `json:"conversation_id"`
		ClientID       string `json:"client_id,omitempty"`
		MessageID      string `json:"message_id"`
		Seq            int64  `json:"seq"`
		Duplicate      bool   `json:"duplicate"`
	}
	subscribedFrame struct {
		Type           string `json:"type"`
		ID             string `json:"id,omitempty"`
		ConversationID string `json:"conversation_id"`
		LastSeq        int64  `json:"last_seq"`
		// The conversation's state when the subscription began, so a
		// client learns of a close that happened while it was away.
		State       parley.ConversationState `json:"state"`
		CloseReason string                   `json:"close_reason,omitempty"`
	}
	openedFrame struct {
		Type         string               `json:"type"`
		ID           string               `json:"id,omitempty"`
		Conversation *parley.Conversation `json:"conversation"`
	}
	okFrame struct {
		Type string `json:"type"`
		ID   string `json:"id,omitempty"`
	}
	errorFrame struct {
		Type    string `json:"type"`
		ID      string `json:"id,omitempty"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
)

// appendJSON appends f as encoding/json encodes it, without reflection:
// every message sent is answered with one (TestAcksEncodeAsEncodingJSONWould).
func (f ackFrame) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, f.Type)
	if f.ID != "" {
		b = appendString(append(b, `,"id":`...), f.ID)
	}
	b = appendString(append(b, `,"conversation_id":`...), f.ConversationID)
	if f.ClientID != "" {
		b = appendString(append(b, `,"client_id":`...), f.ClientID)
	}
	b = appendString(append(b, `,"message_id":`...), f.MessageID)
	b = strconv.AppendInt(append(b, `,"seq":`...), f.Seq, 10)
	b = strconv.AppendBool(append(b, `,"duplicate":`...), f.Duplicate)
	return append(b, '}')
}

// size is about the length of f's JSON, never less when its strings need
// no escaping: the keys, quotes, seq and flag take under 128 bytes. A
// fixed guess fell short of the IDs and grew the buffer again (session 36).
func (f ackFrame) size() int {
	return 128 + len(f.Type) + len(f.ID) + len(f.ConversationID) + len(f.ClientID) + len(f.MessageID)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("realtime: encode frame: " + err.Error())
	}
	return b
}

// eventFrame encodes a bus event as the frame subscribers receive, once for
// all of them. It returns nil for events that clients do not see.
func eventFrame(e *parley.Event) []byte {
	b := make([]byte, 0, len(e.Data)+128) // the longest prefix, and the data
	switch e.Type {
	case parley.EventMessageCreated:
		b = append(b, `{"type":"message","conversation_id":`...)
		b = appendString(b, e.ConversationID)
		b = append(b, `,"message":`...)
	case parley.EventMessageRedacted:
		b = append(b, `{"type":"redacted","conversation_id":`...)
		b = appendString(b, e.ConversationID)
		b = append(b, `,"message":`...)
	case parley.EventNoteRedacted:
		b = append(b, `{"type":"redacted","conversation_id":`...)
		b = appendString(b, e.ConversationID)
		b = append(b, `,"note":`...)
	case parley.EventConversationOpened, parley.EventConversationQueued, parley.EventConversationRequeued,
		parley.EventConversationAssigned, parley.EventConversationClosed, parley.EventConversationLabeled, parley.EventConversationFields, parley.EventConversationPriority,
		parley.EventConversationSnoozed, parley.EventConversationFollowed:
		b = append(b, `{"type":"conversation","event":`...)
		b = appendString(b, e.Type)
		b = append(b, `,"conversation":`...)
	case parley.EventReceiptUpdated:
		b = append(b, `{"type":"receipt","receipt":`...)
	case parley.EventNoteCreated:
		b = append(b, `{"type":"note","note":`...)
	case parley.EventCSATSubmitted:
		b = append(b, `{"type":"csat","csat":`...)
	case parley.EventPageViewed:
		b = append(b, `{"type":"page","conversation_id":`...)
		b = appendString(b, e.ConversationID)
		b = append(b, `,"at":`...)
		b = appendString(b, e.CreatedAt.UTC().Format(time.RFC3339Nano))
		b = append(b, `,"page":`...)
	case conversation.EventTyping:
		b = append(b, `{"type":"typing","typing":`...)
	case conversation.EventViewing:
		b = append(b, `{"type":"viewing","viewing":`...)
	default:
		return nil
	}
	b = append(b, e.Data...)
	return append(b, '}')
}

func appendString(b []byte, s string) []byte { return parley.AppendJSONString(b, s) }
