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
