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
	p := previewOf(&parley.Message{Text: long, SenderKind: parley.SenderConsumer, Type: parley.MessageText})
	if n := utf8.RuneCountInString(p.Text); n != previewChars || !utf8.ValidString(p.Text) || !strings.HasSuffix(p.Text, "…") {
		t.Fatalf("preview of 200 characters: %d characters, valid %v: %q", n, utf8.ValidString(p.Text), p.Text)
	}
	if p := previewOf(&parley.Message{Text: "Where is my order?"}); p.Text != "Where is my order?" {
		t.Fatalf("short text changed: %q", p.Text)
	}
	if previewOf(nil) != nil {
		t.Fatal("no message, yet a preview")
	}
}
