// Package sentiment scores how a visitor's message sounds — upset,
// neutral or pleased — with VADER (Hutto and Gilbert, 2014): a lexicon of
// 7,500 words and emoticons rated by people, and the rules that adjust a
// word for what surrounds it (negation, "very", capitals, "but",
// exclamation marks). It is English only, needs no training, and scores a
// message in microseconds (docs/bot.md, Sentiment).
//
// The lexicon (data/vader_lexicon.tsv, word and mean rating) comes from
// the vader-sentiment package (Apache-2.0, data/LICENSE-vaderSentiment-js),
// which carries the original's MIT-licensed lexicon.
package sentiment

import (
	_ "embed"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

//go:embed data/vader_lexicon.tsv
var lexiconTSV string

var (
	lexiconOnce sync.Once
	lexicon     map[string]float64
)

func words() map[string]float64 {
	lexiconOnce.Do(func() {
		lexicon = make(map[string]float64, 7600)
		for line := range strings.SplitSeq(lexiconTSV, "\n") {
			w, v, ok := strings.Cut(line, "\t")
			if !ok {
				continue
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				lexicon[w] = f
			}
		}
	})
	return lexicon
}

// The model's constants, as its authors measured them.
const (
	boostUp     = 0.293 // "very good"
	boostDown   = -0.293
	capsBoost   = 0.733 // "GOOD" among lower-case words
	negation    = -0.74 // "not good"
	exclamation = 0.292 // per "!", at most four
	normalAlpha = 15    // how fast the sum approaches ±1
)

var boosters = map[string]float64{}

func init() {
	for _, w := range strings.Fields(`absolutely amazingly awfully completely considerably decidedly deeply effing enormously
		entirely especially exceptionally extremely fabulously flipping flippin fricking frickin frigging friggin fully fucking
		greatly hella highly hugely incredibly intensely majorly more most particularly purely quite really remarkably so
		substantially thoroughly totally tremendously uber unbelievably unusually utterly very`) {
		boosters[w] = boostUp
	}
	for _, w := range strings.Fields(`almost barely hardly kinda kindof kind-of less little marginally occasionally partly
		scarcely slightly somewhat sorta sortof sort-of`) {
		boosters[w] = boostDown
	}
}

var negations = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`aint arent cannot cant couldnt darent didnt doesnt ain't aren't can't couldn't daren't
		didn't doesn't dont hadnt hasnt havent isnt mightnt mustnt neither don't hadn't hasn't haven't isn't mightn't
		mustn't neednt needn't never none nope nor not nothing nowhere oughtnt shant shouldnt uhuh wasnt werent oughtn't
		shan't shouldn't uh-uh wasn't weren't without wont wouldnt won't wouldn't rarely seldom despite`) {
		negations[w] = true
	}
}

func negated(w string) bool { return negations[w] || strings.Contains(w, "n't") }

// Mood is how a message sounds.
type Mood string

const (
	Negative Mood = "negative"
	Neutral  Mood = "neutral"
	Positive Mood = "positive"
)

// Thresholds of Of: VADER's authors put the line at ±0.05; a contact
// centre wants "upset", not "was charged twice" (-0.2), so the lines are
// drawn further out.
const (
	NegativeAt = -0.3
	PositiveAt = 0.3
)

// Of says how a score sounds.
func Of(score float64) Mood {
	switch {
	case score <= NegativeAt:
		return Negative
	case score >= PositiveAt:
		return Positive
	}
	return Neutral
}

// Score is the message's compound score, from -1 (most negative) to 1.
func Score(text string) float64 {
	lex := words()
	tokens := tokenize(text)
	if len(tokens) == 0 {
		return 0
	}
	lower := make([]string, len(tokens))
	upper := 0
	for i, t := range tokens {
		lower[i] = strings.ToLower(t)
		if isUpper(t) {
			upper++
		}
	}
	// Capitals stand out only among words that are not all capitals.
	shouting := upper > 0 && upper < len(tokens)

	scores := make([]float64, len(tokens))
	for i, w := range lower {
		if _, ok := boosters[w]; ok {
			continue // it changes its neighbour; alone it says nothing
		}
		if w == "kind" && i+1 < len(lower) && lower[i+1] == "of" {
			continue
		}
		v, ok := lex[w]
		if !ok {
			continue
		}
		if w == "no" && i+1 < len(lower) {
			if _, next := lex[lower[i+1]]; next {
				v = 0 // "no problem": the next word carries it
			}
		}
		if (i > 0 && lower[i-1] == "no") || (i > 1 && lower[i-2] == "no") ||
			(i > 2 && lower[i-3] == "no" && (lower[i-1] == "or" || lower[i-1] == "nor")) {
			v = lex[w] * negation
		}
		if shouting && isUpper(tokens[i]) {
			v += math.Copysign(capsBoost, v)
		}
		// "kind of good", "sort of good": a little less good.
		if i > 1 && lower[i-1] == "of" && (lower[i-2] == "kind" || lower[i-2] == "sort") {
			v -= math.Copysign(-boostDown, v) // toward zero
		}
		// The three words before: boosters, then negation.
		for back := 1; back <= 3 && i-back >= 0; back++ {
			prev := lower[i-back]
			if _, inLex := lex[prev]; inLex {
				continue
			}
			if b, ok := boosters[prev]; ok {
				s := b
				if v < 0 {
					s = -s
				}
				if shouting && isUpper(tokens[i-back]) {
					s += math.Copysign(capsBoost, v)
				}
				switch back {
				case 2:
					s *= 0.95
				case 3:
					s *= 0.9
				}
				v += s
			}
			v = negate(v, lower, i, back)
		}
		// "least": "the least helpful" is not helpful; "at least" is.
		if i > 0 && lower[i-1] == "least" {
			if _, inLex := lex["least"]; !inLex && (i < 2 || (lower[i-2] != "at" && lower[i-2] != "very")) {
				v *= negation
			}
		}
		scores[i] = v
	}
	// "but": what comes after it counts more than what came before.
	for b, w := range lower {
		if w != "but" {
			continue
		}
		for i := range scores {
			switch {
			case i < b:
				scores[i] *= 0.5
			case i > b:
				scores[i] *= 1.5
			}
		}
		break
	}
	sum := 0.0
	for _, s := range scores {
		sum += s
	}
	if sum == 0 {
		return 0
	}
	sum += math.Copysign(emphasis(text), sum)
	score := sum / math.Sqrt(sum*sum+normalAlpha)
	return math.Max(-1, math.Min(1, score))
}

// negate applies a negation back words before word i, with the model's
// exceptions: "never so good" is better, "without doubt" is not negated.
func negate(v float64, lower []string, i, back int) float64 {
	prev := lower[i-back]
	switch back {
	case 2:
		if prev == "never" && (lower[i-1] == "so" || lower[i-1] == "this") {
			return v * 1.25
		}
		if prev == "without" && lower[i-1] == "doubt" {
			return v
		}
	case 3:
		if prev == "never" && (lower[i-2] == "so" || lower[i-2] == "this" || lower[i-1] == "so" || lower[i-1] == "this") {
			return v * 1.25
		}
		if prev == "without" && (lower[i-2] == "doubt" || lower[i-1] == "doubt") {
			return v
		}
	}
	if negated(prev) {
		return v * negation
	}
	return v
}

// emphasis is what exclamation and question marks add to the sum.
func emphasis(text string) float64 {
	e := float64(min(strings.Count(text, "!"), 4)) * exclamation
	switch q := strings.Count(text, "?"); {
	case q > 3:
		e += 0.96
	case q > 1:
		e += float64(q) * 0.18
	}
	return e
}

// tokenize splits on white space, keeps emoticons (":)", ":-("), drops
// one-character tokens, and takes the punctuation off words ("good!" is
// "good").
func tokenize(text string) []string {
	var out []string
	for _, f := range strings.Fields(text) {
		if len([]rune(f)) <= 1 {
			continue
		}
		if stripped := strings.TrimFunc(f, unicode.IsPunct); len([]rune(stripped)) > 1 && stripped != f && hasLetter(stripped) {
			f = stripped
		}
		out = append(out, f)
	}
	return out
}

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

// isUpper: a word with letters, all of them capitals.
func isUpper(s string) bool {
	cased := false
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			cased = true
		}
	}
	return cased
}
