package bot

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/nlu"
)

var teamCanned = []*parley.CannedResponse{
	{ID: "can_refund", Shortcut: "refund", Text: "Your refund is on its way, {{visitor_first_name|there}}: 5 working days at most."},
	{ID: "can_hello", Shortcut: "hello", Text: "Hi {{visitor_first_name|there}}, I'm {{agent_first_name}}. How can I help?"},
	{ID: "can_size", Shortcut: "size", Text: "Our jackets run true to size."},
}

func kinds(ss []Suggestion) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Kind+":"+s.ID)
	}
	return strings.Join(out, " ")
}

// TestSuggestionsForAgents: what the brand's knowledge says about the
// visitor's message, the classifier's recognition first, then search,
// then canned responses; nothing for gibberish; canned responses alone for
// a brand without a bot.
func TestSuggestionsForAgents(t *testing.T) {
	b := demoBrain(t)

	got := Suggest(b, "when will my parcel arrive?", NewCannedIndex(b.Language(), teamCanned))
	if len(got) == 0 || got[0].Kind != SuggestArticle || got[0].ID != "delivery" || got[0].Confidence < 0.3 {
		t.Fatalf("a delivery question: %s %+v", kinds(got), got)
	}
	if txt := got[0].Text; !strings.HasPrefix(txt, "Standard delivery takes 3–5 working days") || strings.Contains(txt, "**") {
		t.Fatalf("the article as plain text: %q", txt)
	}

	got = Suggest(b, "I want my refund for the jacket I sent back", NewCannedIndex(b.Language(), teamCanned))
	if k := kinds(got); !strings.Contains(k, "article:returns") || !strings.Contains(k, "canned:can_refund") || strings.Contains(k, "can_hello") {
		t.Fatalf("a refund question: %s", k)
	}
	for _, s := range got {
		if s.Kind == SuggestCanned && (s.Title != "/refund" || !strings.Contains(s.Text, "{{visitor_first_name|there}}")) {
			t.Fatalf("a canned response is offered as written, for the console to fill: %+v", s)
		}
	}
	// A guess the bot would not offer the visitor (below confirm_at, 0.45)
	// is still suggested to the agent from 0.3: the agent reads it first.
	if c := b.Classify("can I buy in bulk"); c.Band != BandMiss || c.sure < suggestFrom {
		t.Fatalf("the test needs a guess between 0.3 and confirm_at: %+v", c)
	}
	if got := Suggest(b, "can I buy in bulk", nil); len(got) == 0 || got[0].Kind != SuggestArticle || got[0].ID != "ordering" || got[0].Confidence == 0 {
		t.Fatalf("a guess under confirm_at: %s %+v", kinds(got), got)
	}
	// An intent with a written answer is offered; one that runs a flow is not.
	if got := Suggest(b, "thank you so much", nil); len(got) == 0 || got[0].Kind != SuggestIntent || got[0].ID != "thanks" || got[0].Text != "You're welcome! Anything else?" {
		t.Fatalf("thanks: %s %+v", kinds(got), got)
	}
	// One shared word of several is no match: "much" is in "How much is
	// delivery?", but this is no question about delivery.
	if k := kinds(Suggest(b, "Perfect, thank you so much.", nil)); strings.Contains(k, "article:") {
		t.Fatalf("thanks with one word of an article: %s", k)
	}
	if k := kinds(Suggest(b, "where is my order?", nil)); strings.Contains(k, "intent:order_status") {
		t.Fatalf("an intent answered by a flow is not a reply to insert: %s", k)
	}
	for _, junk := range []string{"osifhaskdnkauer", "???", ""} {
		if got := Suggest(b, junk, NewCannedIndex(b.Language(), teamCanned)); len(got) != 0 {
			t.Fatalf("%q: %s", junk, kinds(got))
		}
	}
	if k := kinds(Suggest(nil, "Do your jackets run small? What size?", NewCannedIndex(nlu.English, teamCanned))); k != "canned:can_size" {
		t.Fatalf("no bot, canned only: %q", k)
	}
	if n := len(Suggest(b, "delivery returns refund size payment paypal express shipping jacket", NewCannedIndex(b.Language(), teamCanned))); n > MaxSuggestions {
		t.Fatalf("%d suggestions, more than %d", n, MaxSuggestions)
	}
}

func TestPlainTextReadsMarkdownAsAMessage(t *testing.T) {
	got := PlainText("You can return anything within **30 days**.\n\n1. Start a return from *My orders*.\n2. Print the [label](https://shop.example/label).\n\n<script>alert(1)</script>")
	want := "You can return anything within 30 days.\n\nStart a return from My orders.\nPrint the label (https://shop.example/label)."
	if got != want {
		t.Fatalf("PlainText:\n%q\nwant\n%q", got, want)
	}
	if long := PlainText(strings.Repeat("word ", 1000)); len([]rune(long)) != maxSuggestionText || !strings.HasSuffix(long, "…") {
		t.Fatalf("a long body is cut at %d: %d", maxSuggestionText, len([]rune(long)))
	}
}

// BenchmarkSuggest: one request's work with the demo bot and a team of a
// hundred canned responses (docs/bot.md, Suggestions for agents).
func BenchmarkSuggest(b *testing.B) {
	t := &testing.T{}
	brain := demoBrain(t)
	var canned []*parley.CannedResponse
	for i := range 100 {
		canned = append(canned, &parley.CannedResponse{ID: fmt.Sprint("can_", i), Shortcut: fmt.Sprint("reply", i),
			Text: fmt.Sprintf("Thanks for waiting, {{visitor_first_name|there}}: answer number %d about orders, parcels and refunds.", i)})
	}
	rt := &Runtime{}
	for b.Loop() {
		// As a request does: the index comes from the runtime's cache.
		Suggest(brain, "I want my refund for the jacket I sent back two weeks ago", rt.CannedIndex("acc_1", brain.Language(), canned))
	}
}
