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

// Erased is where an erased event's data starts: the log keeps its seq and
// type, so cursors still work, without anything about the person. Webhook
// deliveries of erased events are written again from the erased event.
const Erased = `{"erased":true}`

// ErasureKeeps names the fields an erased event keeps beside "erased". They
// say what happened — a conversation's state, skill, agent and why it was
// queued again, the brand's labels on it and the options chosen in its
// list and checkbox fields, the brand's engagement it started from, which kind of participant sent a message, a CSAT score, whether a
// bot's answer helped — never who the
// visitor is or what anyone said, and the metrics are computed from them: a
// conversation erased on request or by retention still counts in the
// dashboard of its month.
var ErasureKeeps = []string{"state", "skill", "assignee_id", "requeue_reason", "labels", "priority", "engagement", "sender_kind", "score", "helpful", "categories"}
