// Package masking hides sensitive data — payment card numbers, and the
// patterns a brand adds — in what people write, before it is stored
// (parley.Masking). The conversation service calls Masker.Mask on every
// message and note; nothing unmasked reaches the store, so events,
// webhooks, exports, the bot and the console never see it.
package masking

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/parleychat/parley"
)

// Rules is one account's masking, compiled.
type Rules struct {
	cards bool
	rules []rule
	// previews: the brand shows agents visitors' drafts (typing preview),
	// which are masked like messages.
	previews bool
}

type rule struct {
	re          *regexp.Regexp
	replacement string
}

// Compile checks m and compiles it.
func Compile(m parley.Masking) (*Rules, error) {
	res, err := m.Compile()
	if err != nil {
		return nil, err
	}
	r := &Rules{cards: m.MasksCards()}
	for i, re := range res {
		repl := m.Rules[i].Replacement
		if repl == "" {
			repl = parley.DefaultMaskReplace
		}
		r.rules = append(r.rules, rule{re: re, replacement: repl})
	}
	return r, nil
}

// Apply returns text with card numbers and the rules' matches masked. The
// result never grows beyond max runes (when max > 0): a brand's rule with a
// replacement longer than what it matches cannot inflate a message past
// the limit it was checked against.
func (r *Rules) Apply(text string, max int) string {
	out := text
	if r.cards {
		out = maskCards(out)
	}
	for _, ru := range r.rules {
		// Literal: a "$1" in a replacement is text, not a group.
		out = ru.re.ReplaceAllLiteralString(out, ru.replacement)
	}
	if max > 0 && len(out) > len(text) && len(out) > max {
		if rs := []rune(out); len(rs) > max {
			out = string(rs[:max])
		}
	}
	return out
}

// maskCards masks every card number in text: every digit but the last four
// becomes '*', separators stay. It looks at runs of digits in which one
// space or dash may separate two digits (how people write card numbers, and
// phone numbers, order numbers, dates…). A card number is a span of whole
// groups of a run (groups being what separators part) with 13 to 19 digits
// that passes the Luhn check — so "4242 4242 4242 4242 12/27" masks the
// card and keeps the expiry, and a longer unbroken number (a tracking
// number) is left alone rather than masked in part. The scan is by hand,
// not a regular expression: every message goes through it.
func maskCards(text string) string {
	digits := 0
	for i := 0; i < len(text); i++ {
		if isDigit(text[i]) {
			digits++
		}
	}
	if digits < 13 {
		return text // most messages: nothing to look at
	}
	var out []byte // a copy of text, made at the first card
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(text) {
			if isDigit(text[j]) {
				j++
			} else if (text[j] == ' ' || text[j] == '-') && j+1 < len(text) && isDigit(text[j+1]) {
				j += 2
			} else {
				break
			}
		}
		if j-i >= 13 {
			out = maskRun(out, text, i, j)
		}
		i = j
	}
	if out == nil {
		return text
	}
	return string(out)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// maskRun masks the card numbers in the run text[start:end] (see
// maskCards), writing into out, a copy of text it makes when it first has
// something to mask; it returns out.
func maskRun(out []byte, text string, start, end int) []byte {
	run := text[start:end]
	// Each group's byte span in run, and its digits.
	type group struct{ start, end, digits int }
	var buf [12]group
	groups := buf[:0]
	for i := 0; i < len(run); {
		j := i
		for j < len(run) && isDigit(run[j]) {
			j++
		}
		groups = append(groups, group{i, j, j - i})
		i = j + 1 // past the separator
	}
	for i := 0; i < len(groups); {
		// The longest span of whole groups from i that is a card.
		last, n := -1, 0
		for j := i; j < len(groups) && n+groups[j].digits <= 19; j++ {
			n += groups[j].digits
			if n >= 13 && luhn(run[groups[i].start:groups[j].end]) {
				last = j
			}
		}
		if last < 0 {
			i++
			continue
		}
		if out == nil {
			out = []byte(text)
		}
		left := 0
		for k := start + groups[last].end - 1; k >= start+groups[i].start; k-- {
			if !isDigit(out[k]) {
				continue
			}
			if left++; left > 4 {
				out[k] = '*'
			}
		}
		i = last + 1
	}
	return out
}

// luhn reports whether the digits of s pass the Luhn check (separators are
// skipped).
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Masker keeps each account's compiled rules, read from the store on first
// use and forgotten when the account changes (OnEvent, on every node of a
// cluster; Forget, at once on the node that made the change).
type Masker struct {
	store parley.Store
	mu    sync.Mutex
	rules map[string]*Rules
	// gen counts forgets, so that rules read before a forget are not kept
	// after it.
	gen uint64
}

// New returns a Masker over store.
func New(store parley.Store) *Masker {
	return &Masker{store: store, rules: map[string]*Rules{}}
}

// Mask returns text masked by the account's rules; max is the message
// limit in runes (see Rules.Apply).
func (m *Masker) Mask(ctx context.Context, accountID, text string, max int) (string, error) {
	if strings.TrimSpace(text) == "" {
		return text, nil
	}
	r, err := m.Rules(ctx, accountID)
	if err != nil {
		return "", err
	}
	return r.Apply(text, max), nil
}

// Preview returns a visitor's draft masked by the account's rules, and
// whether the brand shows drafts to its agents at all.
func (m *Masker) Preview(ctx context.Context, accountID, draft string, max int) (string, bool, error) {
	r, err := m.Rules(ctx, accountID)
	if err != nil || !r.previews {
		return "", false, err
	}
	return r.Apply(draft, max), true, nil
}

// Rules returns the account's compiled rules.
func (m *Masker) Rules(ctx context.Context, accountID string) (*Rules, error) {
	m.mu.Lock()
	r, gen := m.rules[accountID], m.gen
	m.mu.Unlock()
	if r != nil {
		return r, nil
	}
	acc, err := m.store.FindAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if r, err = Compile(acc.Settings.Masking); err != nil {
		// Settings are checked before they are saved; a stored rule that
		// no longer compiles masks with cards alone rather than stop
		// every message.
		r = &Rules{cards: acc.Settings.Masking.MasksCards()}
	}
	r.previews = acc.Settings.Widget.TypingPreview
	m.mu.Lock()
	if m.gen == gen {
		m.rules[accountID] = r
	}
	m.mu.Unlock()
	return r, nil
}

// Forget drops the account's compiled rules; the next message reads them
// again.
func (m *Masker) Forget(accountID string) {
	m.mu.Lock()
	delete(m.rules, accountID)
	m.gen++
	m.mu.Unlock()
}

// OnEvent forgets an account's rules when its settings change.
func (m *Masker) OnEvent(e *parley.Event) {
	if e.Type == parley.EventAccountUpdated {
		m.Forget(e.AccountID)
	}
}
