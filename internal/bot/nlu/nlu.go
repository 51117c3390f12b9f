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
	"unicode"
)

// Example is one training phrase and its intent.
type Example struct {
	Text, Label string
}

// Score is an intent with its probability.
type Score struct {
	Label string
	P     float64
}

// Classifier ranks intents for a text, best first; probabilities sum to 1.
type Classifier interface {
	Predict(text string) []Score
}

// Options tune training. Zero fields take the defaults.
type Options struct {
	Epochs       int     // passes over the data (default 5)
	LearningRate float64 // initial step, decaying linearly to 0 (default 2)
	L2           float64 // weight decay per step (default 1e-6)
	MinDF        int     // a feature must occur in this many phrases (default 2)
	Seed         uint64
}

// Model is a trained intent classifier.
type Model struct {
	labels []string
	vocab  map[string]int32
	idf    []float32
	w      []float32 // feature-major: w[f*len(labels)+l]
	bias   []float32
}

var _ Classifier = (*Model)(nil)

// features lists the raw feature strings of a text: words, word pairs and
// character 3- to 5-grams of the normalised text.
func features(text string, add func(string)) {
	norm := normalise(text)
	words := strings.FieldsFunc(norm, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		add("w:" + w)
		if i > 0 {
			add("b:" + words[i-1] + "_" + w)
		}
	}
	joined := []rune(" " + strings.Join(words, " ") + " ")
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= len(joined); i++ {
			add("c:" + string(joined[i:i+n]))
		}
	}
}

// normalise lowercases and folds common Latin accents.
func normalise(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if f, ok := fold[r]; ok {
			return f
		}
		return r
	}, s)
}

var fold = map[rune]rune{'à': 'a', 'á': 'a', 'â': 'a', 'ä': 'a', 'ã': 'a', 'å': 'a', 'ç': 'c', 'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ñ': 'n', 'ò': 'o', 'ó': 'o', 'ô': 'o', 'ö': 'o', 'õ': 'o', 'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u', 'ý': 'y', 'ÿ': 'y'}

// sparse is a feature vector: indices and values.
type sparse struct {
	idx []int32
	val []float32
}

// vector turns a text into its L2-normalised TF-IDF vector over the vocabulary.
func (m *Model) vector(text string) sparse {
	counts := map[int32]float32{}
	features(text, func(f string) {
		if i, ok := m.vocab[f]; ok {
			counts[i]++
		}
	})
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
		opt.Epochs = 5
	}
	if opt.LearningRate <= 0 {
		opt.LearningRate = 2
	}
	if opt.L2 <= 0 {
		opt.L2 = 1e-6
	}
	if opt.MinDF <= 0 {
		opt.MinDF = 2
	}
	m := &Model{vocab: map[string]int32{}}
	labelIdx := map[string]int{}
	df := map[string]int{}
	for _, e := range examples {
		if _, ok := labelIdx[e.Label]; !ok {
			labelIdx[e.Label] = len(m.labels)
			m.labels = append(m.labels, e.Label)
		}
		seen := map[string]bool{}
		features(e.Text, func(f string) {
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
		xs[i], ys[i] = m.vector(e.Text), labelIdx[e.Label]
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 77))
	order := rng.Perm(len(examples))
	probs := make([]float64, L)
	g := make([]float32, L)
	step := 0
	total := opt.Epochs * len(examples)
	for epoch := 0; epoch < opt.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			lr := float32(opt.LearningRate * (1 - float64(step)/float64(total+1)))
			step++
			m.softmax(xs[i], probs)
			for l := 0; l < L; l++ {
				g[l] = float32(probs[l])
			}
			g[ys[i]]--
			for l := 0; l < L; l++ {
				m.bias[l] -= lr * g[l] * 0.1
			}
			// Feature-major rows keep each update within one cache-friendly row.
			decay := 1 - lr*float32(opt.L2)
			for k, f := range xs[i].idx {
				row := m.w[int(f)*L : int(f)*L+L]
				x := lr * xs[i].val[k]
				for l := range row {
					row[l] = row[l]*decay - x*g[l]
				}
			}
		}
	}
	return m
}

// softmax writes the class probabilities of x into out.
func (m *Model) softmax(x sparse, out []float64) {
	L := len(m.labels)
	for l := range out {
		out[l] = float64(m.bias[l])
	}
	for k, f := range x.idx {
		row := m.w[int(f)*L : int(f)*L+L]
		v := float64(x.val[k])
		for l, w := range row {
			out[l] += v * float64(w)
		}
	}
	max := out[0]
	for _, s := range out {
		if s > max {
			max = s
		}
	}
	var sum float64
	for l, s := range out {
		out[l] = math.Exp(s - max)
		sum += out[l]
	}
	for l := range out {
		out[l] /= sum
	}
}

// Predict ranks the intents for text.
func (m *Model) Predict(text string) []Score {
	probs := make([]float64, len(m.labels))
	m.softmax(m.vector(text), probs)
	out := make([]Score, len(m.labels))
	for l, p := range probs {
		out[l] = Score{Label: m.labels[l], P: p}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].P > out[j].P })
	return out
}

// Labels returns the intents the model knows.
func (m *Model) Labels() []string { return append([]string(nil), m.labels...) }
