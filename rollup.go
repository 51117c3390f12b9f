package parley

import (
	"encoding/json"
	"time"
)

// RollupRow is a row of an account's metrics rollup: what the analytics
// package read from the event log about one conversation or one hour, kept
// so that a report need not read those events again. The store keeps the
// rows and finds them by time; what Data says is the analytics package's.
type RollupRow struct {
	Kind  string    // RollupConversation or RollupHour
	Item  string    // the conversation's ID, or the hour (RFC 3339)
	Seq   int64     // the last event read into it
	Start time.Time // the first moment it is about
	End   time.Time // the last one; RollupOpen while it can still change
	Data  json.RawMessage
}

// Kinds of rollup rows.
const (
	RollupConversation = "conversation"
	RollupHour         = "hour"
)

// RollupOpen is the End of a row that later events can still change.
var RollupOpen = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
