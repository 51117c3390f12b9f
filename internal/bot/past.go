package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot/nlu"
)

// Replies the brand's people gave before (docs/bot.md, Suggestions for
// agents): when a visitor asks what another visitor asked last week, the
// reply a colleague wrote then is offered beside the brand's articles and
// canned responses, as Intercom's and Zendesk's copilots draw on past
// conversations. The index holds, per account, the visitors' questions of
// the last weeks and where the reply to each sits; the texts a suggestion
// shows are read from the store when it is made, so a message removed or a
// visitor erased since the index was built is never offered.

// SuggestPast is the kind of a reply a person gave before.
const SuggestPast = "past"

// Past-reply limits.
const (
	// pastWindow is how far back replies are looked for.
	pastWindow = 30 * 24 * time.Hour
	// pastChunk is the slice of time a first build reads at once, newest
	// first, so that a busy account's most recent weeks are the ones kept.
	pastChunk = 3 * 24 * time.Hour
	// maxPastPairs bounds the questions an account's index holds (the
	// newest are kept); maxPastScan the messages one build reads.
	maxPastPairs = 5000
	maxPastScan  = 50_000
	// pastRefresh is how old an index may be before the messages since
	// are read into it; pastOverlap how far before that the reading
	// starts, so a reply written just after a refresh to a question asked
	// just before it is still paired.
	pastRefresh = time.Minute
	pastOverlap = 2 * time.Hour
	// pastIdle: an account's index unused this long is dropped.
	pastIdle = time.Hour
	// maxPast past replies at most among an answer's suggestions.
	maxPast = 2
	// minPastCoverage: a past question must hold this share of the
	// visitor's words (and at least two of them): questions are short,
	// so the bar is higher than an article's.
	minPastCoverage = 0.6
	// The question a reply answered: the visitor's last few messages
	// before it, at most this many, and the span of messages re-read.
	pastQuestionMessages = 3
	maxPastSpan          = 40
	// minReplyWords: a shorter message by a person ("Hi Zoe!") greets
	// rather than answers; the question waits for the next.
	minReplyWords = 4
	// maxPastTitle bounds the question shown as a suggestion's title.
	maxPastTitle = 80
)

// pastPair is a visitor's question and where the reply a person gave to
// it sits.
type pastPair struct {
	conversation string
	first, reply int64  // seqs: the question's first message, the reply
	key          uint64 // the reply's words, to count replies given again
	question     string // what the index is built from
	at           time.Time
}

// PastIndex is BM25 over an account's past questions.
type PastIndex struct {
	ix    *index
	pairs []pastPair
	times map[uint64]int // how often each reply (by key) was given
}

func newPastIndex(lang *nlu.Language, pairs []pastPair) *PastIndex {
	docs := make([]Article, len(pairs))
	px := &PastIndex{pairs: pairs, times: map[uint64]int{}}
	for i, p := range pairs {
		docs[i] = Article{ID: strconv.Itoa(i), Body: p.question}
		px.times[p.key]++
	}
	px.ix = newIndex(lang, docs)
	for i := range docs {
		docs[i].Body = "" // the pairs keep the text; the index needs only its terms
	}
	return px
}

// pairing turns messages, conversation by conversation in seq order, into
// past pairs: each visitor question and the first reply by a person that
// follows it.
type pairing struct {
	conversation string
	asked        []*parley.Message // the visitor's messages since the last reply
	pairs        []pastPair
	scanned      int
}

func (pg *pairing) add(m *parley.Message) {
	pg.scanned++
	if m.ConversationID != pg.conversation {
		pg.conversation, pg.asked = m.ConversationID, nil
	}
	if m.Redacted != nil || strings.TrimSpace(m.Text) == "" {
		return
	}
	switch m.SenderKind {
	case parley.SenderConsumer:
		if m.Type != parley.MessageText {
			return
		}
		pg.asked = append(pg.asked, m)
		if len(pg.asked) > pastQuestionMessages {
			pg.asked = pg.asked[1:]
		}
	case parley.SenderAgent:
		if len(pg.asked) == 0 || m.Type != parley.MessageText || len(strings.Fields(m.Text)) < minReplyWords {
			return
		}
		first := pg.asked[0]
		if m.Seq-first.Seq < maxPastSpan && !personal(m.Text) {
			texts := make([]string, len(pg.asked))
			for i, q := range pg.asked {
				texts[i] = q.Text
			}
			pg.pairs = append(pg.pairs, pastPair{conversation: m.ConversationID, first: first.Seq, reply: m.Seq,
				key: replyKey(m.Text, pg.asked[len(pg.asked)-1].SenderName, m.SenderName), question: strings.Join(texts, "\n"), at: m.CreatedAt})
		}
		pg.asked = nil // answered, whether or not the answer can be offered
	}
}

// A reply holding what is one visitor's own — an email address, a long
// number (an order, a phone, a card), a link with a query (a tracking
// page) — is not offered to another.
var (
	emailLike  = regexp.MustCompile(`[^\s@]+@[^\s@]+\.[^\s@]+`)
	longNumber = regexp.MustCompile(`\d(?:[\s.\-/]?\d){4,}`)
	queryLink  = regexp.MustCompile(`https?://\S*\?\S+`)
)

func personal(text string) bool {
	return emailLike.MatchString(text) || longNumber.MatchString(text) || queryLink.MatchString(text)
}

// replyKey fingerprints a reply as it would be offered (names made
// placeholders, case and spacing evened out), so the same reply given to
// several visitors counts as one, given that many times.
func replyKey(text, visitor, agent string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(strings.Join(strings.Fields(asOffered(text, visitor, agent)), " "))))
	return h.Sum64()
}

// asOffered is a past reply as another visitor's agent gets it: the
// visitor's name it was written to and the name of the person who wrote
// it become the placeholders the console fills for the conversation at
// hand ({{visitor_first_name|there}}, {{agent_first_name}}).
func asOffered(text, visitor, agent string) string {
	text = replaceName(text, visitor, "{{visitor_name|there}}")
	text = replaceName(text, firstName(visitor), "{{visitor_first_name|there}}")
	text = replaceName(text, agent, "{{agent_name}}")
	return replaceName(text, firstName(agent), "{{agent_first_name}}")
}

func firstName(name string) string {
	f, _, _ := strings.Cut(strings.TrimSpace(name), " ")
	return f
}

// replaceName replaces name in text where it stands as a word of its
// own (no letter or digit beside it; "Ann" is not replaced in "Annual").
func replaceName(text, name, with string) string {
	if utf8.RuneCountInString(name) < 2 {
		return text
	}
	var b strings.Builder
	rest := text
	for {
		i := strings.Index(rest, name)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		before, _ := utf8.DecodeLastRuneInString(rest[:i])
		after, _ := utf8.DecodeRuneInString(rest[i+len(name):])
		if i > 0 && isWordRune(before) || i+len(name) < len(rest) && isWordRune(after) {
			b.WriteString(rest[:i+len(name)])
		} else {
			b.WriteString(rest[:i])
			b.WriteString(with)
		}
		rest = rest[i+len(name):]
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' }

// pastEntry is one account's index and when it was last brought up to
// date. mu is held while it is read or refreshed, so two agents asking
// at once read the store once.
type pastEntry struct {
	mu     sync.Mutex
	lang   string
	index  *PastIndex
	pairs  []pastPair
	readTo time.Time // messages before this are in pairs: when it was last brought up to date
	used   time.Time
}

// errEnough stops a scan that has read as many messages as a build may.
var errEnough = errors.New("enough messages read")

// pastIndex returns the account's index of past questions in lang, read
// from the store the first time it is asked for and brought up to date
// with the messages since when it is older than pastRefresh.
func (r *Runtime) pastIndex(ctx context.Context, accountID string, lang *nlu.Language) (*PastIndex, error) {
	now := r.now()
	r.mu.Lock()
	if r.past == nil {
		r.past = map[string]*pastEntry{}
	}
	for id, e := range r.past {
		if id != accountID && e.mu.TryLock() {
			if now.Sub(e.used) > pastIdle {
				delete(r.past, id)
			}
			e.mu.Unlock()
		}
	}
	e := r.past[accountID]
	if e == nil {
		e = &pastEntry{}
		r.past[accountID] = e
	}
	r.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	e.used = now
	if e.index != nil && e.lang == lang.Code && now.Sub(e.readTo) < pastRefresh {
		return e.index, nil
	}
	pairs, readTo, err := r.readPast(ctx, accountID, e, lang, now)
	if err != nil {
		return nil, err
	}
	e.pairs, e.readTo, e.lang = pairs, readTo, lang.Code
	e.index = newPastIndex(lang, pairs)
	return e.index, nil
}

// readPast returns the pairs an entry should hold at now: the messages
// since it was last brought up to date (with pastOverlap before) added to
// what it held, or, the first time (or in another language), the last
// pastWindow read a chunk at a time, newest first.
func (r *Runtime) readPast(ctx context.Context, accountID string, e *pastEntry, lang *nlu.Language, now time.Time) ([]pastPair, time.Time, error) {
	from := now.Add(-pastWindow)
	scan := func(pg *pairing, from, to time.Time) error {
		err := r.store.ScanMessages(ctx, accountID, from, to, func(m *parley.Message) error {
			pg.add(m)
			if pg.scanned >= maxPastScan {
				return errEnough
			}
			return nil
		})
		if errors.Is(err, errEnough) {
			return nil
		}
		return err
	}
	var pairs []pastPair
	if e.index != nil && e.lang == lang.Code {
		pg := &pairing{}
		if err := scan(pg, e.readTo.Add(-pastOverlap), now); err != nil {
			return nil, time.Time{}, err
		}
		type where struct {
			conversation string
			reply        int64
		}
		known := map[where]bool{}
		for _, p := range e.pairs {
			if p.at.After(from) {
				pairs = append(pairs, p)
				known[where{p.conversation, p.reply}] = true
			}
		}
		for _, p := range pg.pairs {
			if !known[where{p.conversation, p.reply}] {
				pairs = append(pairs, p)
			}
		}
	} else {
		pg := &pairing{}
		for to := now; to.After(from) && len(pg.pairs) < maxPastPairs && pg.scanned < maxPastScan; to = to.Add(-pastChunk) {
			start := to.Add(-pastChunk)
			if start.Before(from) {
				start = from
			}
			if err := scan(pg, start, to); err != nil {
				return nil, time.Time{}, err
			}
			pg.conversation, pg.asked = "", nil // a chunk's conversations start afresh
		}
		pairs = pg.pairs
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].at.After(pairs[j].at) })
	return pairs[:min(len(pairs), maxPastPairs)], now, nil
}

// PastReplies returns up to maxPast replies the account's people gave
// before to questions like text, for conversationID (whose own replies are
// left out), each read again from the store: a reply since removed, or a
// conversation erased, is not offered.
func (r *Runtime) PastReplies(ctx context.Context, accountID, conversationID, text string, lang *nlu.Language) ([]Suggestion, error) {
	asked := uniqueTerms(lang, text)
	if len(asked) < 2 {
		return nil, nil
	}
	px, err := r.pastIndex(ctx, accountID, lang)
	if err != nil {
		return nil, err
	}
	var out []Suggestion
	tried := map[uint64]int{}
	for _, h := range px.ix.search(text) {
		if len(out) == maxPast {
			break
		}
		i, _ := strconv.Atoi(h.article.ID)
		p := px.pairs[i]
		if h.coverage < minPastCoverage || float64(len(asked))*h.coverage < 2 || p.conversation == conversationID || tried[p.key] >= 2 || hasKey(out, p.key) {
			continue
		}
		tried[p.key]++
		s, ok, err := r.pastReply(ctx, accountID, p, lang, asked)
		if err != nil {
			return nil, err
		}
		if ok {
			s.Times = px.times[p.key]
			s.Coverage = round(h.coverage)
			out = append(out, s)
		}
	}
	return out, nil
}

func hasKey(out []Suggestion, key uint64) bool {
	for _, s := range out {
		if s.key == key {
			return true
		}
	}
	return false
}

func uniqueTerms(lang *nlu.Language, text string) map[string]bool {
	out := map[string]bool{}
	for _, t := range lang.Terms(text) {
		out[t] = true
	}
	return out
}

// pastReply reads a pair's question and reply from the store as they are
// now, and makes the suggestion, titled with the visitor's message that
// holds most of the words asked; ok is false when either is gone.
func (r *Runtime) pastReply(ctx context.Context, accountID string, p pastPair, lang *nlu.Language, asked map[string]bool) (Suggestion, bool, error) {
	msgs, err := r.store.ListMessages(ctx, accountID, p.conversation, p.first-1, int(p.reply-p.first+1))
	if err != nil || len(msgs) == 0 {
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			err = nil
		}
		return Suggestion{}, false, err
	}
	var question, reply *parley.Message
	best := -1
	for _, m := range msgs {
		switch {
		case m.Seq == p.reply && m.SenderKind == parley.SenderAgent:
			reply = m
		case m.Seq < p.reply && m.SenderKind == parley.SenderConsumer && m.Redacted == nil && m.Text != "":
			held := 0
			for t := range uniqueTerms(lang, m.Text) {
				if asked[t] {
					held++
				}
			}
			if held >= best {
				question, best = m, held
			}
		}
	}
	if question == nil || reply == nil || reply.Redacted != nil || personal(reply.Text) {
		return Suggestion{}, false, nil
	}
	title := strings.Join(strings.Fields(question.Text), " ")
	if r := []rune(title); len(r) > maxPastTitle {
		title = string(r[:maxPastTitle-1]) + "…"
	}
	text := asOffered(reply.Text, question.SenderName, reply.SenderName)
	if r := []rune(text); len(r) > maxSuggestionText {
		text = string(r[:maxSuggestionText-1]) + "…"
	}
	return Suggestion{Kind: SuggestPast, ID: fmt.Sprint(p.conversation, ":", p.reply), Title: title, Text: text,
		By: reply.SenderName, At: &reply.CreatedAt, key: p.key}, true, nil
}

// WithPast places past replies among the brand's suggestions: after what
// the classifier recognised, before what a search matched, within
// MaxSuggestions.
func WithPast(brand, past []Suggestion) []Suggestion {
	out := make([]Suggestion, 0, MaxSuggestions)
	rest := brand
	for len(rest) > 0 && rest[0].Confidence > 0 {
		out, rest = append(out, rest[0]), rest[1:]
	}
	out = append(out, past...)
	out = append(out, rest...)
	return out[:min(len(out), MaxSuggestions)]
}
