package httpapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleychat/parley"
)

// TestPreviewsKeepTheStartOfLongMessages: an inbox preview is at most
// previewChars characters, cut on a character (never inside one), marked
// with an ellipsis; short texts are whole.
func TestPreviewsKeepTheStartOfLongMessages(t *testing.T) {
	long := strings.Repeat("é", 200)
	p := previewOf(&parley.Message{Text: long, SenderKind: parley.SenderConsumer, Type: parley.MessageText}, false)
	if n := utf8.RuneCountInString(p.Text); n != previewChars || !utf8.ValidString(p.Text) || !strings.HasSuffix(p.Text, "…") {
		t.Fatalf("preview of 200 characters: %d characters, valid %v: %q", n, utf8.ValidString(p.Text), p.Text)
	}
	if p := previewOf(&parley.Message{Text: "Where is my order?"}, false); p.Text != "Where is my order?" {
		t.Fatalf("short text changed: %q", p.Text)
	}
	if previewOf(nil, true) != nil {
		t.Fatal("no message, yet a preview")
	}
}

// TestPreviewsSayHowTheVisitorSoundsToStaffOnly: an upset visitor's last
// message is marked for the brand's staff, never in the visitor's own
// list; an agent's words and a removed message are not judged.
func TestPreviewsSayHowTheVisitorSoundsToStaffOnly(t *testing.T) {
	angry := &parley.Message{Text: "This is ridiculous, you are useless!", SenderKind: parley.SenderConsumer, Type: parley.MessageText}
	if p := previewOf(angry, true); p.Mood != "negative" {
		t.Fatalf("an angry visitor to staff: %q", p.Mood)
	}
	if p := previewOf(angry, false); p.Mood != "" {
		t.Fatalf("the visitor's own list judges them: %q", p.Mood)
	}
	if p := previewOf(&parley.Message{Text: "Thanks, that helped a lot!", SenderKind: parley.SenderConsumer, Type: parley.MessageText}, true); p.Mood != "positive" {
		t.Fatalf("a pleased visitor: %q", p.Mood)
	}
	if p := previewOf(&parley.Message{Text: "This is ridiculous, sorry", SenderKind: parley.SenderAgent, Type: parley.MessageText}, true); p.Mood != "" {
		t.Fatalf("an agent's words judged: %q", p.Mood)
	}
	removed := &parley.Message{SenderKind: parley.SenderConsumer, Type: parley.MessageText, Redacted: &parley.Redaction{By: "usr_x"}}
	if p := previewOf(removed, true); p.Mood != "" || !p.Redacted {
		t.Fatalf("a removed message: %+v", p)
	}
}
