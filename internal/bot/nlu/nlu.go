// Package nlu understands what a visitor asks: it turns text into TF-IDF
// features over words, word pairs and character n-grams, and classifies
// intents with a softmax (multinomial logistic) regression trained in
// process. Pure Go, CPU only, no model download. A stronger model can
// replace it behind Classifier.
package nlu

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Example is one training phrase and its intent.
type Example struct {
	Text, Label string
}

// Score is an intent with its probability.
type Score struct {
	Label string  `json:"label"`
	P     float64 `json:"probability"`
}

// Classifier ranks intents for a text, best first; probabilities sum to 1.
type Classifier interface {
	Predict(text string) []Score
}

// Options tune training. Zero fields take the defaults.
type Options struct {
	Epochs       int     // passes over the data (default: 8, more for small sets)
	LearningRate float64 // initial step, decaying linearly to 0 (default 4)
	MinDF        int     // a feature must occur in this many phrases (default 2)
	// Temperature divides the scores before the softmax (default
	// DefaultTemperature): above 1 it tempers the overconfidence of a
	// model trained to separate its phrases, so a probability of 0.8 is
	// right about 80% of the time (`parley bot eval` reports the
	// calibration error).
	Temperature float64
	Seed        uint64
	// Language of the phrases (default English).
	Language *Language
}

// Model is a trained intent classifier.
type Model struct {
	labels []string
	vocab  map[string]int32
	idf    []float32
	w      []float32 // feature-major: w[f*len(labels)+l]
	bias   []float32
	temp   float32
	lang   *Language
}

// DefaultTemperature is 1: with a decaying step and few passes the model
// is already calibrated on BANKING77 (expected calibration error 0.019,
// against 0.13 at 1.5; docs/bot.md), so the option exists for other
// classifiers and data.
const DefaultTemperature = 1.0

var _ Classifier = (*Model)(nil)

// features lists the raw feature strings of a text: words, word pairs and
// character 3- and 4-grams of the normalised text. Words are stemmed
// (Snowball, in the model's language); the character n-grams are not, so
// a typo still shares most of its n-grams with the word meant. Accents are
// dropped after stemming: "Café", "CAFE" and "café" are one word.
func (l *Language) features(text string, add func(string)) {
	ws := words(text)
	stems := make([]string, len(ws))
	for i, w := range ws {
		var alt string
		stems[i], alt = l.stems(w)
		ws[i] = fold(w)
		add("w:" + stems[i])
		if alt != "" {
			add("w:" + alt)
		}
		if i > 0 {
			add("b:" + stems[i-1] + "_" + stems[i])
		}
	}
	joined := []rune(" " + strings.Join(ws, " ") + " ")
	for n := 3; n <= 4; n++ {
		for i := 0; i+n <= len(joined); i++ {
			add("c:" + string(joined[i:i+n]))
		}
	}
}

// sparse is a feature vector: indices and values.
type sparse struct {
	idx []int32
	val []float32
}

// vector turns a text into its L2-normalised TF-IDF vector over the vocabulary.
func (m *Model) vector(text string) sparse {
	var names []string
	m.lang.features(text, func(f string) { names = append(names, f) })
	return m.vectorOf(names)
}

// vectorOf is vector for a text's already extracted features.
func (m *Model) vectorOf(names []string) sparse {
	counts := make(map[int32]float32, len(names))
	for _, f := range names {
		if i, ok := m.vocab[f]; ok {
			counts[i]++
		}
	}
	v := sparse{idx: make([]int32, 0, len(counts)), val: make([]float32, 0, len(counts))}
	var norm float64
	for i, c := range counts {
		x := (1 + float32(math.Log(float64(c)))) * m.idf[i]
		v.idx = append(v.idx, i)
		v.val = append(v.val, x)
		norm += float64(x * x)
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for k := range v.val {
			v.val[k] *= inv
		}
	}
	return v
}

// Train fits a model to the examples.
func Train(examples []Example, opt Options) *Model {
	if opt.Epochs <= 0 {
		// About 80,000 steps in all: small bots get more passes.
		opt.Epochs = min(40, max(8, 80000/max(1, len(examples))))
	}
	if opt.LearningRate <= 0 {
		opt.LearningRate = 4
	}
	if opt.MinDF <= 0 {
		opt.MinDF = 2
	}
	if opt.Temperature <= 0 {
		opt.Temperature = DefaultTemperature
	}
	if opt.Language == nil {
		opt.Language = English
	}
	m := &Model{vocab: map[string]int32{}, temp: 1, lang: opt.Language}
	labelIdx := map[string]int{}
	df := map[string]int{}
	extracted := make([][]string, len(examples))
	for i, e := range examples {
		if _, ok := labelIdx[e.Label]; !ok {
			labelIdx[e.Label] = len(m.labels)
			m.labels = append(m.labels, e.Label)
		}
		seen := map[string]bool{}
		m.lang.features(e.Text, func(f string) {
			extracted[i] = append(extracted[i], f)
			if !seen[f] {
				seen[f] = true
				df[f]++
			}
		})
	}
	names := make([]string, 0, len(df))
	for f, n := range df {
		if n >= opt.MinDF {
			names = append(names, f)
		}
	}
	sort.Strings(names) // a stable vocabulary makes training reproducible
	m.idf = make([]float32, len(names))
	for i, f := range names {
		m.vocab[f] = int32(i)
		m.idf[i] = float32(math.Log(float64(1+len(examples))/float64(1+df[f])) + 1)
	}
	L := len(m.labels)
	m.w = make([]float32, len(names)*L)
	m.bias = make([]float32, L)
	xs := make([]sparse, len(examples))
	ys := make([]int, len(examples))
	for i, e := range examples {
		xs[i], ys[i] = m.vectorOf(extracted[i]), labelIdx[e.Label]
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 77))
	order := rng.Perm(len(examples))
	probs := make([]float64, L)
	g := make([]float32, L)
	scores := make([]float32, L)
	active := make([]int32, 0, L)
	step := 0
	total := opt.Epochs * len(examples)
	for epoch := 0; epoch < opt.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			lr := float32(opt.LearningRate * (1 - float64(step)/float64(total+1)))
			step++
			m.softmax(xs[i], scores, probs)
			// Only classes with a noticeable gradient are updated: after the
			// first epoch most probabilities are near zero, so this skips most
			// of the work without changing the result measurably.
			active = active[:0]
			for l := 0; l < L; l++ {
				gl := float32(probs[l])
				if l == ys[i] {
					gl--
				}
				if gl > 1e-4 || gl < -1e-4 {
					active = append(active, int32(l))
					g[l] = gl
				}
			}
			for _, l := range active {
				m.bias[l] -= lr * g[l] * 0.1
			}
			for k, f := range xs[i].idx {
				row := m.w[int(f)*L : int(f)*L+L]
				x := lr * xs[i].val[k]
				for _, l := range active {
					row[l] -= x * g[l]
				}
			}
		}
	}
	m.temp = float32(opt.Temperature)
	return m
}

// softmax writes the class probabilities of x into out, using scores as
// scratch space of the same length.
func (m *Model) softmax(x sparse, scores []float32, out []float64) {
	L := len(m.labels)
	copy(scores, m.bias)
	for k, f := range x.idx {
		row := m.w[int(f)*L : int(f)*L+L]
		v := x.val[k]
		s := scores[:len(row)]
		for l, w := range row {
			s[l] += v * w
		}
	}
	max := scores[0]
	for _, s := range scores {
		if s > max {
			max = s
		}
	}
	var sum float64
	for l, s := range scores {
		out[l] = math.Exp(float64((s - max) / m.temp))
		sum += out[l]
	}
	for l := range out {
		out[l] /= sum
	}
}

// Predict ranks the intents for text.
func (m *Model) Predict(text string) []Score {
	probs := make([]float64, len(m.labels))
	m.softmax(m.vector(text), make([]float32, len(m.labels)), probs)
	out := make([]Score, len(m.labels))
	for l, p := range probs {
		out[l] = Score{Label: m.labels[l], P: p}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].P > out[j].P })
	return out
}

// Coverage is the fraction of the words in text that the model saw while
// training (as stems), 0 when text has no words at all. Keyboard mashes
// and punctuation have none: whatever the classifier says about them, it
// says from character fragments alone.
func (m *Model) Coverage(text string) float64 {
	ws := words(text)
	if len(ws) == 0 {
		return 0
	}
	known := 0
	for _, w := range ws {
		stem, alt := m.lang.stems(w)
		_, ok := m.vocab["w:"+stem]
		if _, okAlt := m.vocab["w:"+alt]; ok || (alt != "" && okAlt) {
			known++
		}
	}
	return float64(known) / float64(len(ws))
}

// Labels returns the intents the model knows.
func (m *Model) Labels() []string { return append([]string(nil), m.labels...) }

// Terms returns the stems of a text's words without stopwords, for
// retrieval (BM25) over a knowledge base.
func (l *Language) Terms(text string) []string {
	var out []string
	for _, w := range words(text) {
		if l.stop[fold(w)] {
			continue
		}
		stem, alt := l.stems(w)
		out = append(out, stem)
		if alt != "" {
			out = append(out, alt)
		}
	}
	return out
}
