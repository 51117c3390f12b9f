package parley

import "time"

// AuditEntry records one action of a brand's staff: who, what, when, from where.
type AuditEntry struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actor_id"`
	ActorKind string    `json:"actor_kind"` // user or api_key
	ActorName string    `json:"actor_name,omitempty"`
	Action    string    `json:"action"` // the route: "PUT /api/v1/bot"
	Target    string    `json:"target"` // the path called, with its IDs
	IP        string    `json:"ip"`
	Status    int       `json:"status"`
}

// Erased replaces the data of events and webhook payloads whose personal
// content was erased: the log keeps its seq and type, so cursors and
// metrics still work, without anything about the person.
const Erased = `{"erased":true}`
