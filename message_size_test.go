package parley

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestAMessageEncodesInOneAllocation: AppendJSON sizes its buffer once for
// a message whose strings need no escaping, whatever their lengths, and
// its length hint is never short of the result.
func TestAMessageEncodesInOneAllocation(t *testing.T) {
	for _, text := range []string{"", "hello, I have a question about my order", strings.Repeat("order 42 ", 455)} {
		m := &Message{ID: NewID("msg"), AccountID: NewID("acct"), ConversationID: NewID("conv"), Seq: math.MaxInt64,
			SenderKind: SenderConsumer, SenderID: NewID("cons"), SenderName: "Ada Lovelace", ClientID: NewID("c") + "-retry-7",
			Type: MessageText, Text: text, CreatedAt: time.Date(2026, 12, 2, 18, 42, 10, 800273000, time.FixedZone("", -9*3600-30*60))}
		if n := len(m.AppendJSON(nil)); n > m.jsonSize() {
			t.Errorf("text of %d bytes: %d bytes of JSON, hint %d", len(text), n, m.jsonSize())
		}
		if allocs := testing.AllocsPerRun(100, func() { m.AppendJSON(nil) }); allocs != 1 {
			t.Errorf("text of %d bytes: %v allocations, want 1", len(text), allocs)
		}
	}
}
