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

// CheckRange validates a time range [from, to) of at most max: both ends
// set, forwards, not empty, not too long. what names it in the error
// ("one export", "metrics").
func CheckRange(from, to time.Time, max time.Duration, what string) error {
	if from.IsZero() || to.IsZero() {
		return Errorf(EINVALID, "from and to are required")
	}
	if !from.Before(to) {
		return Errorf(EINVALID, "the range is backwards or empty: from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > max {
		return Errorf(EINVALID, "the range is %d days; %s covers at most %d", int(to.Sub(from).Hours()/24), what, int(max.Hours()/24))
	}
	return nil
}
