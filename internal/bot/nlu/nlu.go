// Package nlu understands what a visitor asks: it turns text into TF-IDF
// features over words, word pairs and character n-grams, adds the
// sentence vector of the language's encoder when it has one (English;
// package encoder), and classifies intents with a softmax (multinomial
// logistic) regression trained in process. Pure Go, CPU only, no model
// download. A stronger model can replace it behind Classifier.
package nlu

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/bot/nlu/encoder"
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

// Verdict is whether a bot should answer a message outright with the
// classifier's top guess, and why.
type Verdict struct {
	Answers bool
	// Checked says the model has an answer check; Check is the check's
	// score for the guess (Model.Check).
	Checked bool
	Check   float64
	// Sure is what is compared with the bar: the guess's probability,
	// or the answer check when that is lower.
	Sure float64
	// Bar is what Sure had to reach: answerAt, raised for a model without
	// a sentence vector by ElsewhereWeight × Elsewhere.Score.
	Bar float64
	// Elsewhere is the message's word that most surely belongs to
	// another intent than the guess, if any (with an answer check, only
	// for a guess not answered: it says why).
	Elsewhere Elsewhere
	// Nearest is how alike the guess's nearest training phrase is, for
	// a model with a sentence vector (cosine similarity), else 0.
	Nearest float64
}

// checker is a classifier with an answer check.
type checker interface {
	Check(text string, scores []Score) (Check, bool)
}

// wordPlacer is a classifier that can say whether a message's words
// belong to another label than the one guessed.
type wordPlacer interface {
	Elsewhere(text, label string) Elsewhere
}

// Judge decides whether a bot should answer text outright with the
// classifier's top guess, scores being its ranking of text. A model
// with a sentence vector answers when both the guess's probability and
// its answer check (Model.Check) reach answerAt; any other classifier
// when the probability does, raised by ElsewhereWeight times how surely
// a word of the message belongs to another intent.
func Judge(c Classifier, text string, scores []Score, answerAt float64) Verdict {
	check := func() (Check, bool) { return Check{}, false }
	if ch, ok := c.(checker); ok {
		check = func() (Check, bool) { return ch.Check(text, scores) }
	}
	return judge(c, text, scores, answerAt, check)
}

// Decide ranks the intents for text and judges the top guess: Predict,
// then Judge, reading the text once when c is a Model.
func Decide(c Classifier, text string, answerAt float64) ([]Score, Verdict) {
	m, ok := c.(*Model)
	if !ok {
		scores := c.Predict(text)
		return scores, Judge(c, text, scores, answerAt)
	}
	r := m.read(text)
	scores := m.rank(r)
	return scores, judge(c, text, scores, answerAt, func() (Check, bool) { return m.check(r, text, scores) })
}

func judge(c Classifier, text string, scores []Score, answerAt float64, check func() (Check, bool)) Verdict {
	v := Verdict{Bar: answerAt}
	if len(scores) == 0 {
		return v
	}
	top := scores[0]
	placer, places := c.(wordPlacer)
	if ch, ok := check(); ok {
		v.Checked, v.Check, v.Nearest = true, ch.Score, ch.Nearest
		v.Sure = min(top.P, v.Check)
		v.Answers = v.Sure >= v.Bar
		if !v.Answers && places { // to say why
			v.Elsewhere = placer.Elsewhere(text, top.Label)
		}
		return v
	}
	if places {
		v.Elsewhere = placer.Elsewhere(text, top.Label)
	}
	v.Sure = top.P
	v.Bar += ElsewhereWeight * v.Elsewhere.Score
	v.Answers = v.Sure >= v.Bar
	return v
}

// ElsewhereWeight is how much surer than answerAt a model without a
// sentence vector must be to answer outright when the message has a word
// the guessed intent's phrases never use and another intent's do (see
// Model.Elsewhere): a word wholly another intent's raises the bar by up
// to this much. Near-domain questions the bot was not taught ("my phone
// was stolen" to a bot that knows only stolen cards) land on the nearest
// intent with a word of their own that belongs elsewhere. Chosen in
// session 26 on BANKING77 with every fourth intent held out, for the
// model with a sentence vector (wrong answers 38.7 % → 29.5 %), which the
// answer check has since replaced; words-only models keep it: their
// wrong answers there are 27.4 %, with 86.4 % of the taught questions
// answered right, where an answer check over what they have did worse
// (docs/bot.md).
const ElsewhereWeight = 0.4

// elsewhereEvidence is the number of phrases at which an intent's
// vocabulary counts half: a word ten phrases never use says little, a
// word 130 never use says more.
const elsewhereEvidence = 20

// Elsewhere is a word of a message that belongs to another label than
// the one guessed, and how surely it does, from 0 to 1 (Model.Elsewhere).
type Elsewhere struct {
	Score float64
	Word  string // as the message wrote it
	Label string // the label whose phrases use it most
}

// Options tune training. Zero fields take the defaults.
type Options struct {
	Epochs       int     // passes over the data (default: 8 or 5 with a sentence vector, more for small sets)
	LearningRate float64 // initial step, decaying linearly to 0 (default 1.5 with a sentence vector, else 4)
	MinDF        int     // a feature must occur in this many phrases (default 2)
	// Temperature divides the scores before the softmax (default
	// DefaultTemperature, 0.8 with a sentence vector): above 1 it tempers the overconfidence of a
	// model trained to separate its phrases, so a probability of 0.8 is
	// right about 80% of the time (`parley bot eval` reports the
	// calibration error).
	Temperature float64
	Seed        uint64
	// Language of the phrases (default English).
	Language *Language
	// WordsOnly leaves out the language's sentence encoder: the model
	// sees words and characters alone (for comparisons; `parley bot eval
	// --words-only`).
	WordsOnly bool
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
	enc    *encoder.Encoder // nil: no sentence vector
	// uses says, for each word (stem, stopwords left out) of the
	// training phrases, which labels' phrases use it and the largest
	// share of its phrases one label has (see Elsewhere).
	uses    map[string]wordUse
	phrases []int32 // training phrases of each label
	// sentences holds, for each label, the (unit) sentence vectors of its
	// training phrases one after another (the answer check's nearest
	// phrase); nil without an encoder.
	sentences [][]float32
}

// wordUse is where a word of the training phrases is used.
type wordUse struct {
	labels []int32 // sorted label indices
	owner  int32   // the label with the most phrases with the word
	share  float32 // the most phrases one label has with the word, over one more than all the phrases with it
}

// encoderWeight is the length of the sentence vector beside the TF-IDF
// vector (unit length). Chosen on BANKING77 (docs/bot.md): 0.7 is best on
// the full set and as good as any with ten phrases per intent; 1.5 and
// more lose points on both.
const encoderWeight = 0.7

// DefaultTemperature is 1: with words alone, a decaying step and few
// passes the model is already calibrated on BANKING77 (expected
// calibration error 0.019, against 0.13 at 1.5; docs/bot.md).
const DefaultTemperature = 1.0

// encodedTemperature is the default with a sentence vector, whose smaller
// step (Options.LearningRate) leaves the model unsure of itself: at 1 the
// expected calibration error on BANKING77 is 0.068 (ten-shot 0.117), at
// 0.8 0.022 (0.035). 0.7 is closer still on the full set (0.009), but
// it sends more near-domain questions the bot was not taught to a wrong
// answer at the default answer_at (docs/bot.md).
const encodedTemperature = 0.8

var _ Classifier = (*Model)(nil)

// features lists the raw feature strings of a text: words, word pairs and
// character 3- and 4-grams of the normalised text. Words are stemmed
// (Snowball, in the model's language); the character n-grams are not, so
// a typo still shares most of its n-grams with the word meant. Accents are
// dropped after stemming: "Café", "CAFE" and "café" are one word. add gets
// each feature in a buffer that is reused: valid only during the call.
func (l *Language) features(text string, add func(feature []byte)) {
	ws := words(text)
	stems := make([]string, len(ws))
	buf := make([]byte, 0, 64)
	for i, w := range ws {
		var alt string
		stems[i], alt = l.stems(w)
		ws[i] = fold(w)
		buf = append(append(buf[:0], "w:"...), stems[i]...)
		add(buf)
		if alt != "" {
			buf = append(append(buf[:0], "w:"...), alt...)
			add(buf)
		}
		if i > 0 {
			buf = append(append(append(append(buf[:0], "b:"...), stems[i-1]...), '_'), stems[i]...)
			add(buf)
		}
	}
	joined := []rune(" " + strings.Join(ws, " ") + " ")
	for n := 3; n <= 4; n++ {
		for i := 0; i+n <= len(joined); i++ {
			buf = append(buf[:0], "c:"...)
			for _, r := range joined[i : i+n] {
				buf = utf8.AppendRune(buf, r)
			}
			add(buf)
		}
	}
}

// sparse is a feature vector: indices and values.
type sparse struct {
	idx []int32
	val []float32
}

// reading is what a model reads from a text: its TF-IDF vector over the
// vocabulary and, with an encoder, its sentence vector. Ranking the
// intents and the answer check both start from it (Decide reads once).
type reading struct {
	words    sparse
	sentence []float32 // nil without an encoder
}

func (m *Model) read(text string) reading {
	r := reading{words: m.words(text)}
	if m.enc != nil {
		r.sentence = m.enc.Encode(asTyped(text), nil)
	}
	return r
}

// words is the L2-normalised TF-IDF vector of a text over the vocabulary.
func (m *Model) words(text string) sparse {
	var idx []int32
	m.lang.features(text, func(f []byte) {
		if i, ok := m.vocab[string(f)]; ok {
			idx = append(idx, i)
		}
	})
	return m.tfidf(idx)
}

// Elsewhere is how surely a word of text belongs to another label than
// label, from 0 to 1, and the word. Of the words of text that the
// training phrases used and label's phrases never use, it takes the one
// with the largest share of one other label among the phrases with it
// (counting one phrase more, so that a word seen once is weak evidence),
// weighed by how many phrases label has (half at elsewhereEvidence).
// Score 0 when every word of text is label's or unknown.
func (m *Model) Elsewhere(text, label string) Elsewhere {
	l := slices.Index(m.labels, label)
	if l < 0 {
		return Elsewhere{}
	}
	var most wordUse
	var word string
	look := func(w, stem string) {
		u, ok := m.uses[stem]
		if _, mine := slices.BinarySearch(u.labels, int32(l)); ok && !mine && u.share > most.share {
			most, word = u, w
		}
	}
	for _, w := range words(text) {
		stem, alt := m.lang.stems(w)
		look(w, stem)
		if alt != "" {
			look(w, alt)
		}
	}
	if word == "" {
		return Elsewhere{}
	}
	n := float64(m.phrases[l])
	return Elsewhere{Score: float64(most.share) * n / (n + elsewhereEvidence), Word: word, Label: m.labels[most.owner]}
}

// placeWords fills m.uses and m.phrases from the training phrases: the
// label of each and the IDs of its features, named by names. A word is
// its stem's feature ("w:stem"); stopwords' stems are left out.
func (m *Model) placeWords(labels []int, features [][]int32, names []string) {
	L := int64(len(m.labels))
	m.phrases = make([]int32, L)
	phrases := map[int64]int32{}      // word ID × L + label → phrases of the label with the word
	last := make([]int32, len(names)) // the phrase, +1, that counted an ID last
	for i, ids := range features {
		l := labels[i]
		m.phrases[l]++
		for _, id := range ids {
			if last[id] == int32(i)+1 {
				continue
			}
			last[id] = int32(i) + 1
			if stem, ok := strings.CutPrefix(names[id], "w:"); ok && !m.lang.stopped[stem] {
				phrases[int64(id)*L+int64(l)]++
			}
		}
	}
	type tally struct {
		labels           []int32
		all, most, owner int32
	}
	byWord := map[int32]*tally{}
	for key, n := range phrases {
		id, l := int32(key/L), int32(key%L)
		t := byWord[id]
		if t == nil {
			t = &tally{}
			byWord[id] = t
		}
		t.labels = append(t.labels, l)
		t.all += n
		if n > t.most || n == t.most && l < t.owner { // ties: the first label, whatever the map's order
			t.most, t.owner = n, l
		}
	}
	m.uses = make(map[string]wordUse, len(byWord))
	for id, t := range byWord {
		slices.Sort(t.labels)
		// One phrase more: a word seen once is weak evidence.
		m.uses[names[id][2:]] = wordUse{labels: t.labels, owner: t.owner, share: float32(t.most) / float32(t.all+1)}
	}
}

// withVector appends a sentence vector (the encoder's, for this model's
// vocabulary) to v.
func (m *Model) withVector(v sparse, sentence []float32) sparse {
	base := int32(len(m.idf))
	for j, x := range sentence {
		v.idx = append(v.idx, base+int32(j))
		v.val = append(v.val, x*encoderWeight)
	}
	return v
}

// asTyped evens out what the way a message was typed changes and its
// meaning does not, before the sentence encoder (which, as its teacher,
// keeps case and sees each space): whitespace of any kind and length is
// one space (a line break, a double space), and a message written all in
// capitals (caps lock, shouting) is read in lower case. A word in
// capitals among lower case is left as it is: mostly names ("DHL", "PIN",
// "VISA"), which the teacher knows in capitals. A message that starts in
// lower case gets its capital, and one that ends without "?", "." or "!"
// a question mark: "can i order by phone" is read as "Can i order by
// phone?" (BANKING77's test questions typed so: accuracy 0.9110 →
// 0.9182, with the well-typed ones 0.9253 → 0.9244; docs/bot.md).
func asTyped(text string) string {
	if !evenlySpaced(text) {
		text = strings.Join(strings.Fields(text), " ")
	}
	if strings.IndexFunc(text, unicode.IsLower) < 0 {
		text = strings.ToLower(text)
	}
	if r, size := utf8.DecodeRuneInString(text); unicode.IsLower(r) {
		text = string(unicode.ToUpper(r)) + text[size:]
		if !strings.ContainsAny(text[len(text)-1:], "?.!") {
			text += "?"
		}
	}
	return text
}

// evenlySpaced reports whether text's words are parted by single ASCII
// spaces, with none at either end: most messages, which then need no copy
// (training encodes every phrase on every pass).
func evenlySpaced(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ':
			if i == 0 || i == len(text)-1 || text[i+1] == ' ' {
				return false
			}
		case c < ' ':
			return false // a tab, a line break
		case c >= utf8.RuneSelf:
			// Beyond ASCII, a space of another kind (a no-break space) may
			// come: the slow way, when the rest has any space at all.
			return !strings.ContainsFunc(text[i:], unicode.IsSpace)
		}
	}
	return true
}

// tfidf is the L2-normalised TF-IDF vector of a text whose features have
// the vocabulary indices idx (one per occurrence; idx is sorted in place).
func (m *Model) tfidf(idx []int32) sparse {
	slices.Sort(idx)
	v := sparse{idx: make([]int32, 0, len(idx)), val: make([]float32, 0, len(idx))}
	var norm float64
	for k := 0; k < len(idx); {
		i, c := idx[k], 0
		for k < len(idx) && idx[k] == i {
			k, c = k+1, c+1
		}
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
	if opt.Language == nil {
		opt.Language = English
	}
	encoded := opt.Language.encoder != nil && !opt.WordsOnly
	if opt.Epochs <= 0 {
		// About 80,000 steps in all: small bots get more passes, up to 40.
		// With sentence vectors a step is dearer and the smaller first
		// step needs more passes to settle: 80,000 steps less 3 per
		// phrase, at least 5 passes and up to 100. BANKING77's 10,003
		// phrases get 5 passes, as accurate as 7 and under 2 s; ten per
		// intent get 91 (0.8015, against 0.7995 at 40; docs/bot.md).
		steps, least, most := 80000, 8, 40
		if encoded {
			steps, least, most = max(0, 80000-3*len(examples)), 5, 100
		}
		opt.Epochs = min(most, max(least, steps/max(1, len(examples))))
	}
	if opt.LearningRate <= 0 {
		// The sentence vector is dense and sure of itself: a smaller
		// first step lets it teach the model without swamping the words
		// (BANKING77: 0.9244 full set and 0.8005 ten-shot at 1.5, against
		// 0.9218 and 0.7974 at 4; docs/bot.md).
		opt.LearningRate = 4
		if encoded {
			opt.LearningRate = 1.5
		}
	}
	if opt.MinDF <= 0 {
		opt.MinDF = 2
	}
	if opt.Temperature <= 0 {
		opt.Temperature = DefaultTemperature
		if encoded {
			opt.Temperature = encodedTemperature
		}
	}
	m := &Model{vocab: map[string]int32{}, temp: 1, lang: opt.Language}
	if encoded {
		m.enc = opt.Language.encoder()
	}
	// Each phrase's sentence vector depends on nothing but the phrase, and
	// is most of the work before the passes: the cores encode while this
	// goroutine reads the words and characters below.
	workers := runtime.GOMAXPROCS(0)
	var sentences [][]float32
	var encoding sync.WaitGroup
	if m.enc != nil {
		sentences = make([][]float32, len(examples))
		for w := range workers {
			encoding.Go(func() {
				for i := w; i < len(examples); i += workers {
					sentences[i] = m.enc.Encode(asTyped(examples[i].Text), nil)
				}
			})
		}
	}
	labelIdx := map[string]int{}
	// Every feature seen gets an ID at first sight; a phrase's features
	// are kept as IDs, and df counts the phrases each occurs in (last: the
	// phrase, +1, that counted it last).
	ids := map[string]int32{}
	var names []string
	var df, last []int32
	extracted := make([][]int32, len(examples))
	for i, e := range examples {
		if _, ok := labelIdx[e.Label]; !ok {
			labelIdx[e.Label] = len(m.labels)
			m.labels = append(m.labels, e.Label)
		}
		m.lang.features(e.Text, func(f []byte) {
			id, ok := ids[string(f)]
			if !ok {
				id = int32(len(names))
				name := string(f)
				ids[name] = id
				names, df, last = append(names, name), append(df, 0), append(last, 0)
			}
			extracted[i] = append(extracted[i], id)
			if last[id] != int32(i)+1 {
				last[id] = int32(i) + 1
				df[id]++
			}
		})
	}
	// The vocabulary: features of at least MinDF phrases, in name order (a
	// stable vocabulary makes training reproducible).
	var keep []int32
	for id, n := range df {
		if int(n) >= opt.MinDF {
			keep = append(keep, int32(id))
		}
	}
	slices.SortFunc(keep, func(a, b int32) int { return strings.Compare(names[a], names[b]) })
	inVocab := make([]int32, len(names))
	for id := range inVocab {
		inVocab[id] = -1
	}
	m.idf = make([]float32, len(keep))
	for i, id := range keep {
		inVocab[id] = int32(i)
		m.vocab[names[id]] = int32(i)
		m.idf[i] = float32(math.Log(float64(1+len(examples))/float64(1+df[id])) + 1)
	}
	L := len(m.labels)
	features := len(keep)
	if m.enc != nil {
		features += m.enc.Dim()
	}
	m.w = make([]float32, features*L)
	m.bias = make([]float32, L)
	xs := make([]sparse, len(examples))
	ys := make([]int, len(examples))
	for i, e := range examples {
		ys[i] = labelIdx[e.Label]
	}
	m.placeWords(ys, extracted, names)
	encoding.Wait()
	var vectors sync.WaitGroup
	for w := range workers {
		vectors.Go(func() {
			for i := w; i < len(examples); i += workers {
				idx := extracted[i][:0]
				for _, id := range extracted[i] {
					if v := inVocab[id]; v >= 0 {
						idx = append(idx, v)
					}
				}
				xs[i] = m.tfidf(idx)
				if sentences != nil {
					xs[i] = m.withVector(xs[i], sentences[i])
				}
			}
		})
	}
	vectors.Wait()
	if sentences != nil {
		m.sentences = make([][]float32, L)
		for i, v := range sentences {
			m.sentences[ys[i]] = append(m.sentences[ys[i]], v...)
		}
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 77))
	order := rng.Perm(len(examples))
	schedule := make([]int32, 0, opt.Epochs*len(examples))
	for range opt.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			schedule = append(schedule, int32(i))
		}
	}
	m.descend(xs, ys, schedule, opt.LearningRate)
	m.temp = float32(opt.Temperature)
	return m
}

// softmax writes the class probabilities of x into out, using scores as
// scratch space of the same length.
func (m *Model) softmax(x sparse, scores []float32, out []float64) {
	L := len(m.labels)
	if L == 0 {
		return
	}
	copy(scores, m.bias)
	addScores(scores[:L], m.w, L, x)
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
func (m *Model) Predict(text string) []Score { return m.rank(m.read(text)) }

// rank ranks the intents for what was read from a text.
func (m *Model) rank(r reading) []Score {
	x := r.words
	if r.sentence != nil {
		// Clipped, so that the sentence lands in new arrays and r.words
		// stays the words alone.
		x = m.withVector(sparse{idx: slices.Clip(x.idx), val: slices.Clip(x.val)}, r.sentence)
	}
	probs := make([]float64, len(m.labels))
	m.softmax(x, make([]float32, len(m.labels)), probs)
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
