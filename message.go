package parley

import (
	"strings"
	"time"
	"unicode/utf8"
)

// SenderKind says who wrote a message.
type SenderKind string

// Sender kinds.
const (
	SenderConsumer SenderKind = "consumer"
	SenderAgent    SenderKind = "agent"
	SenderBot      SenderKind = "bot"
	SenderSystem   SenderKind = "system"
)

// MessageType is the shape of a message's content.
type MessageType string

// Message types. Rich types carry Choices or a Card beside an optional text.
const (
	MessageText         MessageType = "text"
	MessageQuickReplies MessageType = "quick_replies"
	MessageButtons      MessageType = "buttons"
	MessageCard         MessageType = "card"
	MessageFile         MessageType = "file" // an attachment, with optional text as its caption
)

// Message is one entry in a conversation. Seq numbers the messages of a
// conversation from 1 with no gaps.
type Message struct {
	ID             string      `json:"id"`
	AccountID      string      `json:"account_id"`
	ConversationID string      `json:"conversation_id"`
	Seq            int64       `json:"seq"`
	SenderKind     SenderKind  `json:"sender_kind"`
	SenderID       string      `json:"sender_id,omitempty"`
	SenderName     string      `json:"sender_name,omitempty"`
	ClientID       string      `json:"client_id,omitempty"`
	Type           MessageType `json:"type"`
	Text           string      `json:"text,omitempty"`
	// HTML is Text rendered from Markdown and sanitised, set by the server
	// for the bot's answers only; clients show it instead of Text.
	HTML       string      `json:"html,omitempty"`
	Choices    []Choice    `json:"choices,omitempty"`
	Card       *Card       `json:"card,omitempty"`
	Attachment *Attachment `json:"attachment,omitempty"`
	// Notice, on a system message, is what it announces, so that a client
	// can say it in the visitor's language; Text is the English sentence.
	Notice *Notice `json:"notice,omitempty"`
	// Redacted, when set, says staff removed what the message said (its
	// text, file, card or choices) after it was sent (docs/data.md,
	// Removing a message).
	Redacted  *Redaction `json:"redacted,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// Redaction is who removed a message's content, and when.
type Redaction struct {
	By     string    `json:"by"`
	ByName string    `json:"by_name,omitempty"`
	At     time.Time `json:"at"`
}

// Notice is what a system message announces: Code names the sentence and
// Args fill it in.
type Notice struct {
	Code string            `json:"code"`
	Args map[string]string `json:"args,omitempty"`
}

// Notice codes.
const (
	NoticeAgentJoined = "agent_joined" // args: name
	NoticeTransferred = "transferred"  // to another agent or queue
	NoticeInLine      = "in_line"      // still waiting for an agent
	NoticeIdleWarning = "idle_warning" // auto-close is near; args: minutes
	// NoticeEngagement is the brand's proactive invitation the visitor
	// answered; Text is the brand's own words. args: id, name
	NoticeEngagement = "engagement"
	// NoticeInvitation is an agent's invitation the visitor answered;
	// Text is the agent's words. args: id, name (the agent's)
	NoticeInvitation = "invitation"
)

// Choice is a quick reply or a button. A button with a URL opens it; any
// other choice sends its Value (or Label) back as the consumer's reply.
type Choice struct {
	Label string `json:"label"`
	Value string `json:"value,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Card is a titled block with an optional image and buttons.
type Card struct {
	Title    string   `json:"title"`
	Subtitle string   `json:"subtitle,omitempty"`
	ImageURL string   `json:"image_url,omitempty"`
	Buttons  []Choice `json:"buttons,omitempty"`
}

// MessageLimits are the configurable bounds on message content.
type MessageLimits struct {
	MaxChars    int // characters of Text (default 4096)
	MaxChoices  int
	MaxClientID int
}

// DefaultMessageLimits are the limits used when none are configured.
var DefaultMessageLimits = MessageLimits{MaxChars: 4096, MaxChoices: 13, MaxClientID: 128}

// Validate checks a message's content against the limits. It checks the
// fields a sender controls: type, text, choices, card and client ID.
func (m *Message) Validate(l MessageLimits) error {
	if err := validText("text", m.Text, l.MaxChars); err != nil {
		return err
	}
	if len(m.ClientID) > l.MaxClientID {
		return Errorf(EINVALID, "client_id is longer than %d bytes", l.MaxClientID)
	}
	if err := validText("client_id", m.ClientID, l.MaxClientID); err != nil {
		return err
	}
	switch m.Type {
	case MessageText:
		if m.Attachment != nil {
			return Errorf(EINVALID, "a text message has no attachment")
		}
		if strings.TrimSpace(m.Text) == "" {
			return Errorf(EINVALID, "text is empty")
		}
		if len(m.Choices) > 0 || m.Card != nil {
			return Errorf(EINVALID, "a text message has no choices or card")
		}
	case MessageQuickReplies, MessageButtons:
		if len(m.Choices) == 0 {
			return Errorf(EINVALID, "a %s message needs at least one choice", m.Type)
		}
		if err := validChoices("choices", m.Choices, l); err != nil {
			return err
		}
		if m.Card != nil {
			return Errorf(EINVALID, "a %s message has no card", m.Type)
		}
	case MessageCard:
		if m.Card == nil || strings.TrimSpace(m.Card.Title) == "" {
			return Errorf(EINVALID, "a card message needs a card with a title")
		}
		for name, s := range map[string]string{"card.title": m.Card.Title, "card.subtitle": m.Card.Subtitle, "card.image_url": m.Card.ImageURL} {
			if err := validText(name, s, l.MaxChars); err != nil {
				return err
			}
		}
		if err := validChoices("card.buttons", m.Card.Buttons, l); err != nil {
			return err
		}
	case MessageFile:
		if m.Attachment == nil || m.Attachment.ID == "" {
			return Errorf(EINVALID, "a file message needs an attachment")
		}
	case "":
		return Errorf(EINVALID, "type is missing")
	default:
		return Errorf(EINVALID, "unknown message type %q", m.Type)
	}
	return nil
}

func validChoices(field string, cs []Choice, l MessageLimits) error {
	if len(cs) > l.MaxChoices {
		return Errorf(EINVALID, "%s has more than %d entries", field, l.MaxChoices)
	}
	for _, c := range cs {
		if strings.TrimSpace(c.Label) == "" {
			return Errorf(EINVALID, "%s has an entry without a label", field)
		}
		for _, s := range []string{c.Label, c.Value, c.URL} {
			if err := validText(field, s, l.MaxChars); err != nil {
				return err
			}
		}
		if c.URL != "" && !strings.HasPrefix(c.URL, "https://") && !strings.HasPrefix(c.URL, "http://") {
			return Errorf(EINVALID, "%s: url must be http or https", field)
		}
	}
	return nil
}

// validText rejects invalid UTF-8, NUL bytes and text over max characters.
func validText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Errorf(EINVALID, "%s contains a NUL byte", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Errorf(ETOOLARGE, "%s has %d characters; the limit is %d", field, n, max)
	}
	return nil
}
