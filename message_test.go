package parley_test

import (
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

func TestMessageValidate(t *testing.T) {
	l := parley.MessageLimits{MaxChars: 10, MaxChoices: 2, MaxClientID: 8}
	cases := []struct {
		name string
		m    parley.Message
		code string
	}{
		{"text", parley.Message{Type: parley.MessageText, Text: "hello"}, ""},
		{"ten characters of two bytes each", parley.Message{Type: parley.MessageText, Text: strings.Repeat("é", 10)}, ""},
		{"eleven characters", parley.Message{Type: parley.MessageText, Text: strings.Repeat("é", 11)}, parley.ETOOLARGE},
		{"blank", parley.Message{Type: parley.MessageText, Text: " \n "}, parley.EINVALID},
		{"NUL", parley.Message{Type: parley.MessageText, Text: "a\x00b"}, parley.EINVALID},
		{"invalid UTF-8", parley.Message{Type: parley.MessageText, Text: "a\xffb"}, parley.EINVALID},
		{"no type", parley.Message{Text: "x"}, parley.EINVALID},
		{"unknown type", parley.Message{Type: "video", Text: "x"}, parley.EINVALID},
		{"long client id", parley.Message{Type: parley.MessageText, Text: "x", ClientID: "123456789"}, parley.EINVALID},
		{"text with choices", parley.Message{Type: parley.MessageText, Text: "x", Choices: []parley.Choice{{Label: "a"}}}, parley.EINVALID},
		{"quick replies", parley.Message{Type: parley.MessageQuickReplies, Text: "Pick", Choices: []parley.Choice{{Label: "Yes"}, {Label: "No"}}}, ""},
		{"quick replies without choices", parley.Message{Type: parley.MessageQuickReplies, Text: "Pick"}, parley.EINVALID},
		{"too many choices", parley.Message{Type: parley.MessageButtons, Choices: []parley.Choice{{Label: "a"}, {Label: "b"}, {Label: "c"}}}, parley.EINVALID},
		{"choice without label", parley.Message{Type: parley.MessageButtons, Choices: []parley.Choice{{Value: "v"}}}, parley.EINVALID},
		{"javascript URL", parley.Message{Type: parley.MessageButtons, Choices: []parley.Choice{{Label: "a", URL: "data:x"}}}, parley.EINVALID},
		{"card", parley.Message{Type: parley.MessageCard, Card: &parley.Card{Title: "Boots", ImageURL: "https://a", Buttons: []parley.Choice{{Label: "Buy", URL: "https://x"}}}}, ""},
		{"card without title", parley.Message{Type: parley.MessageCard, Card: &parley.Card{}}, parley.EINVALID},
		{"card with long title", parley.Message{Type: parley.MessageCard, Card: &parley.Card{Title: strings.Repeat("x", 11)}}, parley.ETOOLARGE},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parley.ErrorCode(tc.m.Validate(l)); got != tc.code {
				t.Fatalf("Validate = %q, want %q", got, tc.code)
			}
		})
	}
}

func TestNewIDSortsInCreationOrder(t *testing.T) {
	prev := parley.NewID("conv")
	for i := 0; i < 10000; i++ {
		id := parley.NewID("conv")
		if id <= prev {
			t.Fatalf("%s does not sort after %s", id, prev)
		}
		if !parley.HasIDPrefix(id, "conv") {
			t.Fatalf("%s lacks its prefix", id)
		}
		prev = id
	}
}
