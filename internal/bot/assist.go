package bot

import (
	"hash/fnv"
	"html"
	"regexp"
	"strings"
	"time"

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
	// SuggestPast (past.go): a reply the brand's people gave before.
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
	// A past reply says who gave it and when, and how many times the
	// same reply was given in the weeks the index holds.
	By    string     `json:"by,omitempty"`
	At    *time.Time `json:"at,omitempty"`
	Times int        `json:"times,omitempty"`

	key uint64 // a past reply's words (pastPair.key)
}

// Suggestion limits.
const (
	MaxSuggestions = 5
	maxCanned      = 2
	// suggestFrom: the classifier's guess is suggested to an agent from
	// this sureness even where the bot would not offer it to the visitor
	// (a brand's confirm_at above it): the agent reads it before it goes
	// anywhere.
	suggestFrom = 0.3
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
// brand without a bot), and so may canned.
func Suggest(b *Brain, text string, canned *CannedIndex) []Suggestion {
	var out []Suggestion
	seen := map[string]bool{}
	add := func(s Suggestion) {
		if len(out) < MaxSuggestions && !seen[s.Kind+":"+s.ID] {
			seen[s.Kind+":"+s.ID] = true
			out = append(out, s)
		}
	}
	if b != nil {
		c := b.Classify(text)
		if c.Band == BandAnswer || c.Band == BandConfirm || c.Label != "" && c.sure >= suggestFrom {
			if name, ok := strings.CutPrefix(c.Label, labelIntent); ok && b.intents[name] != nil && b.intents[name].Answer != "" {
				add(Suggestion{Kind: SuggestIntent, ID: name, Title: strings.ReplaceAll(name, "_", " "), Text: PlainText(b.intents[name].Answer), Confidence: round(c.Confidence)})
			}
			if id, ok := strings.CutPrefix(c.Label, labelArticle); ok && b.articles[id] != nil {
				a := b.articles[id]
				add(Suggestion{Kind: SuggestArticle, ID: id, Title: a.Title, Text: PlainText(a.Body), Confidence: round(c.Confidence)})
			}
		}
		asked := len(uniqueTerms(b.Language(), text))
		for _, h := range b.index.search(text) {
			if enoughWords(h.coverage, asked) {
				add(Suggestion{Kind: SuggestArticle, ID: h.article.ID, Title: h.article.Title, Text: PlainText(h.article.Body), Coverage: round(h.coverage)})
			}
		}
	}
	if canned != nil {
		for _, c := range canned.match(text) {
			add(Suggestion{Kind: SuggestCanned, ID: c.ID, Title: "/" + c.Shortcut, Text: c.Text})
		}
	}
	if out == nil {
		out = []Suggestion{}
	}
	return out
}

// Language returns the language the brain understands (English when its
// configuration names none).
func (b *Brain) Language() *nlu.Language {
	if l, ok := nlu.LanguageFor(b.cfg.Language); ok {
		return l
	}
	return nlu.English
}

// CannedIndex is BM25 over a team's canned responses, built once for a
// list (Runtime.CannedIndex keeps one per account while the list is the
// same).
type CannedIndex struct {
	lang      *nlu.Language
	ix        *index
	byID      map[string]*parley.CannedResponse
	shortcuts map[string][]string // ID → the shortcut's terms
	key       uint64              // the list and language it was built from
}

var placeholder = regexp.MustCompile(`\{\{[^}]*\}\}`)

// NewCannedIndex indexes canned responses in lang: each one's shortcut
// (as words: "refund-policy" is "refund policy") and its text without its
// placeholders.
func NewCannedIndex(lang *nlu.Language, canned []*parley.CannedResponse) *CannedIndex {
	cx := &CannedIndex{lang: lang, byID: map[string]*parley.CannedResponse{}, shortcuts: map[string][]string{}, key: cannedKey(lang, canned)}
	docs := make([]Article, len(canned))
	words := strings.NewReplacer("-", " ", "_", " ")
	for i, c := range canned {
		docs[i] = Article{ID: c.ID, Title: words.Replace(c.Shortcut), Body: placeholder.ReplaceAllString(c.Text, " ")}
		cx.byID[c.ID] = c
		cx.shortcuts[c.ID] = lang.Terms(docs[i].Title)
	}
	cx.ix = newIndex(lang, docs)
	return cx
}

// cannedKey fingerprints a list of canned responses and a language.
func cannedKey(lang *nlu.Language, canned []*parley.CannedResponse) uint64 {
	h := fnv.New64a()
	h.Write([]byte(lang.Code))
	for _, c := range canned {
		for _, s := range []string{c.ID, c.Shortcut, c.Text} {
			h.Write([]byte{0})
			h.Write([]byte(s))
		}
	}
	return h.Sum64()
}

// match returns up to maxCanned canned responses for text: first those
// whose shortcut's words are all in it (agents name shortcuts by what they
// answer: "refund", "size"), then those whose words hold enough of it,
// best first.
func (cx *CannedIndex) match(text string) []*parley.CannedResponse {
	asked := map[string]bool{}
	for _, t := range cx.lang.Terms(text) {
		asked[t] = true
	}
	var named, matched []*parley.CannedResponse
	for _, h := range cx.ix.search(text) {
		terms := cx.shortcuts[h.article.ID]
		all := len(terms) > 0
		for _, t := range terms {
			all = all && asked[t]
		}
		switch {
		case all:
			named = append(named, cx.byID[h.article.ID])
		case enoughWords(h.coverage, len(asked)):
			matched = append(matched, cx.byID[h.article.ID])
		}
	}
	out := append(named, matched...)
	return out[:min(len(out), maxCanned)]
}

// enoughWords says whether a search match holding coverage of a message's
// asked words is a suggestion: at least minCoverage of them, and two when
// there are two or more ("Perfect, thank you so much" is not about
// delivery because "How much is delivery?" shares "much").
func enoughWords(coverage float64, asked int) bool {
	return coverage >= minCoverage && (asked < 2 || coverage*float64(asked) >= 1.5)
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
