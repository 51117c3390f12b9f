package parley

import (
	"slices"
	"testing"
	"time"
)

// Event type patterns: "prefix.*" names every type under the prefix, in
// EventTypes' order, each once; a bare "*", a prefix without its dot and
// a pattern that names nothing are not types.
func TestEventTypePatterns(t *testing.T) {
	if got := ExpandEventTypes([]string{"bot.*", "csat.submitted", "bot.answered"}); !slices.Equal(got,
		[]string{EventCSATSubmitted, EventBotUpdated, EventBotAnswered, EventBotMissed, EventBotHandoff, EventBotFeedback}) {
		t.Fatalf("bot.* and csat.submitted = %v", got)
	}
	conv := ExpandEventTypes([]string{"conversation.*"})
	if !slices.Contains(conv, EventConversationLabeled) || !slices.Contains(conv, EventConversationClosed) || slices.Contains(conv, EventConversationsExpired) {
		t.Fatalf("conversation.* = %v (conversations.expired is not under conversation.)", conv)
	}
	for typ, valid := range map[string]bool{
		"conversation.*": true, "message.created": true, "widget.*": true,
		"*": false, "conversation*": false, "nothing.*": false, "message.deleted": false, "": false,
	} {
		if ValidEventType(typ) != valid {
			t.Errorf("ValidEventType(%q) = %v, want %v", typ, !valid, valid)
		}
	}
}

// IDFloor sorts before every ID made at its time or later, and after
// every one made before it.
func TestIDFloorBoundsIDsByTime(t *testing.T) {
	id := NewID("note")
	hourAgo, inAnHour := IDFloor("note", time.Now().Add(-time.Hour)), IDFloor("note", time.Now().Add(time.Hour))
	if !(hourAgo < id && id < inAnHour) {
		t.Fatalf("%s < %s < %s does not hold", hourAgo, id, inAnHour)
	}
	if !HasIDPrefix(hourAgo, "note") {
		t.Fatalf("%s is not shaped like a note's ID", hourAgo)
	}
}
