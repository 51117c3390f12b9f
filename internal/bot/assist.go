package bot

import (
	"html"
	"regexp"
	"strings"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/nlu"
)

// Suggested replies for agents (docs/bot.md, Suggestions for agents): what
// the brand's knowledge — intents' answers, articles, the team's canned
// responses — says about the visitor's last message, for the agent to
// insert, edit and send, as LivePerson's Conversation Assist and Zendesk's
// suggested articles do.

// Suggestion kinds.
const (
	SuggestIntent  = "intent"
	SuggestArticle = "article"
	SuggestCanned  = "canned"
)

// Suggestion is one reply the console offers. Text is what the composer
// gets: plain text (an article's or answer's Markdown read as text), or a
// canned response as written, placeholders and all (the console fills
// them as it does for /shortcut).
type Suggestion struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
	// Confidence is the classifier's calibrated probability (intents and
	// articles it recognised); Coverage the share of the message's words
	// a search match holds.
	Confidence float64 `json:"confidence,omitempty"`
	Coverage   float64 `json:"coverage,omitempty"`
}

// Suggestion limits.
const (
	MaxSuggestions = 5
	maxCanned      = 2
	// minCoverage: a search match must hold at least this share of the
	// message's words, so one common word does not make a suggestion.
	minCoverage = 0.34
	// maxSuggestionText bounds what goes into the composer; the agent sees
	// it before sending, and the message limit applies then.
	maxSuggestionText = 2000
)

// Suggest returns up to MaxSuggestions replies for text, the best first:
// what the classifier recognises (an intent with a written answer, or an
// article) when it is at least fairly sure, then the articles the search
// finds, then the canned responses whose words match. b may be nil (a
// brand without a bot): canned responses are then matched in English.
func Suggest(b *Brain, text string, canned []*parley.CannedResponse) []Suggestion {
	var out []Suggestion
	seen := map[string]bool{}
	add := func(s Suggestion) {
		if len(out) < MaxSuggestions && !seen[s.Kind+":"+s.ID] {
			seen[s.Kind+":"+s.ID] = true
			out = append(out, s)
		}
	}
	lang := nlu.English
	if b != nil {
		if l, ok := nlu.LanguageFor(b.cfg.Language); ok {
			lang = l
		}
		c := b.Classify(text)
		if c.Confidence >= b.cfg.Handoff.ConfirmAt && (c.Band == BandAnswer || c.Band == BandConfirm) {
			if name, ok := strings.CutPrefix(c.Label, labelIntent); ok && b.intents[name] != nil && b.intents[name].Answer != "" {
				add(Suggestion{Kind: SuggestIntent, ID: name, Title: strings.ReplaceAll(name, "_", " "), Text: PlainText(b.intents[name].Answer), Confidence: round(c.Confidence)})
			}
			if id, ok := strings.CutPrefix(c.Label, labelArticle); ok && b.articles[id] != nil {
				a := b.articles[id]
				add(Suggestion{Kind: SuggestArticle, ID: id, Title: a.Title, Text: PlainText(a.Body), Confidence: round(c.Confidence)})
			}
		}
		for _, h := range b.index.search(text) {
			if h.coverage >= minCoverage {
				add(Suggestion{Kind: SuggestArticle, ID: h.article.ID, Title: h.article.Title, Text: PlainText(h.article.Body), Coverage: round(h.coverage)})
			}
		}
	}
	for _, c := range matchCanned(lang, text, canned) {
		add(Suggestion{Kind: SuggestCanned, ID: c.ID, Title: "/" + c.Shortcut, Text: c.Text})
	}
	if out == nil {
		out = []Suggestion{}
	}
	return out
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// PlainText reads Markdown as the text a visitor would see in a plain
// message: the words, one paragraph or list item per line, no markup,
// cut at maxSuggestionText.
func PlainText(markdown string) string {
	rendered := RenderMarkdown(markdown)
	// A link keeps its address beside its words.
	rendered = linkTag.ReplaceAllString(rendered, "$2 ($1)")
	text := html.UnescapeString(plain.Sanitize(rendered))
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	text = strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
	if r := []rune(text); len(r) > maxSuggestionText {
		text = string(r[:maxSuggestionText-1]) + "…"
	}
	return text
}

var linkTag = regexp.MustCompile(`<a href="([^"]*)"[^>]*>([^<]*)</a>`)

var placeholder = regexp.MustCompile(`\{\{[^}]*\}\}`)

// matchCanned returns up to maxCanned canned responses for text: first
// those whose shortcut's words are all in it (agents name shortcuts by
// what they answer: "refund", "size"), then those whose words hold
// enough of it, best first.
func matchCanned(lang *nlu.Language, text string, canned []*parley.CannedResponse) []*parley.CannedResponse {
	if len(canned) == 0 {
		return nil
	}
	asked := map[string]bool{}
	for _, t := range lang.Terms(text) {
		asked[t] = true
	}
	docs := make([]Article, len(canned))
	byID := map[string]*parley.CannedResponse{}
	for i, c := range canned {
		docs[i] = Article{ID: c.ID, Title: strings.NewReplacer("-", " ", "_", " ").Replace(c.Shortcut), Body: placeholder.ReplaceAllString(c.Text, " ")}
		byID[c.ID] = c
	}
	var named, matched []*parley.CannedResponse
	for _, h := range newIndex(lang, docs).search(text) {
		c := byID[h.article.ID]
		terms := lang.Terms(h.article.Title)
		all := len(terms) > 0
		for _, t := range terms {
			all = all && asked[t]
		}
		switch {
		case all:
			named = append(named, c)
		case h.coverage >= minCoverage:
			matched = append(matched, c)
		}
	}
	out := append(named, matched...)
	return out[:min(len(out), maxCanned)]
}
