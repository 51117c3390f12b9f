package nlu

import (
	"math"
	"slices"
)

// The answer check: how sure a model with a sentence vector is that its
// top guess is the answer to a message, knowing that visitors also ask
// what the bot was never taught. The guess's probability alone cannot
// say it: a question about an untaught intent lands on the nearest
// taught one, often with a high probability ("my phone was stolen" on
// lost_or_stolen_card). The check is a logistic regression over five
// things the model knows about its guess besides the probability:
//
//   - lead: how far the guess is ahead of the second, log(p1/p2);
//   - words: the probability the message's words and characters alone
//     give it, the sentence vector left out;
//   - shared: the share of the message's known words (stems, stopwords
//     left out) that the guess's phrases use;
//   - nearest: the cosine similarity of the message's sentence vector to
//     the guess's nearest training phrase;
//   - apart: nearest less the same similarity for the next four guesses;
//
// and the guess's number of phrases (a guess with fewer phrases has had
// less chance to use a word), from 10 to 160.
//
// A bot is as sure of its guess as the lower of the guess's probability
// and its check (Judge): the check only holds guesses back, so a bot
// unlike the ones it was fitted on answers no more than the probability
// would let it.
//
// Its weights were fitted once on BANKING77 (docs/bot.md;
// check_fit_test.go refits them): the test questions of every fourth
// intent, held out of training, as questions to refuse, and the other
// intents' as questions to answer right, with the full training set and
// with ten phrases per intent; so they are constants, like the
// encoder's. The bias is then set so that at the default answer_at (0.6)
// the bot answers as many taught questions right as the rule before the
// check (session 26): the check is not a calibrated probability, but it
// rises with the chance the answer is right, and a brand that raises
// answer_at answers fewer questions, right and wrong.
var checkWeights = [checkInputCount]float64{0.456, 1.51, 2.23, 6.51, 5.05, -0.417}

const checkBias = -6.28

// checkInputCount is the number of the answer check's inputs: lead, words,
// shared, nearest, apart and log(phrases), in that order.
const checkInputCount = 6

// The phrase counts the check's weights were fitted on: ten and a little
// over 150. Outside, the count is taken as the nearest end.
const (
	checkFewest = 10
	checkMost   = 160
)

// checkLeadCap bounds the lead, log(p1/p2): with two or three intents the
// second can be a millionth of the first, a lead the fit never saw.
const checkLeadCap = 8.0

// Check is the answer check of a message's top guess (see Model.Check).
type Check struct {
	Score float64 // from 0 to 1; a bot answers outright when it and the probability reach answer_at
	// Nearest is the cosine similarity of the message to the guess's
	// nearest training phrase.
	Nearest float64
}

// Check is the answer check of text's top guess, scores being the
// model's ranking of text (Predict); false for a model without a
// sentence vector.
func (m *Model) Check(text string, scores []Score) (Check, bool) {
	return m.check(m.read(text), text, scores)
}

// check is Check from what was read from text.
func (m *Model) check(r reading, text string, scores []Score) (Check, bool) {
	in, ok := m.checkInputs(r, text, scores)
	if !ok {
		return Check{}, false
	}
	z := checkBias
	for i, w := range checkWeights {
		z += w * in[i]
	}
	return Check{Score: 1 / (1 + math.Exp(-z)), Nearest: in[3]}, true
}

// checkInputs reads the answer check's inputs for text's top guess.
func (m *Model) checkInputs(r reading, text string, scores []Score) (in [checkInputCount]float64, ok bool) {
	if r.sentence == nil || len(scores) == 0 {
		return in, false
	}
	g := slices.Index(m.labels, scores[0].Label)
	if g < 0 {
		return in, false
	}
	lead := checkLeadCap
	if len(scores) > 1 && scores[1].P > 0 {
		lead = min(checkLeadCap, math.Log(scores[0].P/scores[1].P))
	}
	probs := make([]float64, len(m.labels))
	m.softmax(r.words, make([]float32, len(m.labels)), probs)
	sentence := r.sentence // unit length: the encoder's vectors are
	nearest := m.nearest(sentence, g)
	var others float64
	for _, s := range scores[1:min(5, len(scores))] {
		others = max(others, m.nearest(sentence, slices.Index(m.labels, s.Label)))
	}
	n := min(checkMost, max(checkFewest, float64(m.phrases[g])))
	return [checkInputCount]float64{lead, probs[g], m.shared(text, g), nearest, nearest - others, math.Log(n)}, true
}

// nearest is the largest cosine similarity of a sentence vector to label
// l's training phrases (both unit length, as the encoder makes them).
func (m *Model) nearest(sentence []float32, l int) float64 {
	if l < 0 {
		return 0
	}
	dim := len(sentence)
	phrases := m.sentences[l]
	var best float32
	for i := 0; i+dim <= len(phrases); i += dim {
		var dot float32
		for j, x := range phrases[i : i+dim] {
			dot += x * sentence[j]
		}
		best = max(best, dot)
	}
	return float64(best)
}

// shared is the share of text's words known to the training phrases
// (stems, stopwords left out) that label l's phrases use; 1 when it has
// none.
func (m *Model) shared(text string, l int) float64 {
	known, used := 0, 0
	for _, w := range words(text) {
		stem, _ := m.lang.stems(w)
		u, ok := m.uses[stem] // stopwords are not there
		if !ok {
			continue
		}
		known++
		if _, mine := slices.BinarySearch(u.labels, int32(l)); mine {
			used++
		}
	}
	if known == 0 {
		return 1
	}
	return float64(used) / float64(known)
}
