package parley

import (
	"encoding/json"
	"time"
)

// Webhook is an account's subscription to its events: each matching event
// is POSTed to URL, signed with Secret (Standard Webhooks).
type Webhook struct {
	ID        string   `json:"id"`
	AccountID string   `json:"account_id"`
	URL       string   `json:"url"`
	Types     []string `json:"types"` // empty: every event type
	Secret    string   `json:"secret"`
	Active    bool     `json:"active"`
	// DisabledReason says why Parley turned the webhook off (a delivery
	// kept failing); empty when an admin did, or when it is active.
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// Cursor is the last event seq put into the outbox for it.
	Cursor int64 `json:"-"`
}

// WebhookPayload is the body of a delivery (Standard Webhooks' suggested
// shape).
type WebhookPayload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      *Event    `json:"data"`
}

// WebhookBody returns the body that delivers e.
func WebhookBody(e *Event) json.RawMessage {
	b, _ := json.Marshal(WebhookPayload{Type: e.Type, Timestamp: e.CreatedAt, Data: e})
	return b
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // retries exhausted
)

// WebhookDelivery is one event for one webhook, in the durable outbox. Its
// ID is the webhook-id header of every attempt, so receivers can drop
// repeats.
type WebhookDelivery struct {
	ID             string          `json:"id"`
	AccountID      string          `json:"account_id"`
	WebhookID      string          `json:"webhook_id"`
	EventSeq       int64           `json:"event_seq"`
	EventType      string          `json:"event_type"`
	ConversationID string          `json:"conversation_id,omitempty"`
	Payload        json.RawMessage `json:"-"`
	State          string          `json:"state"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  time.Time       `json:"next_attempt_at"`
	LastStatus     int             `json:"last_status,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
}
