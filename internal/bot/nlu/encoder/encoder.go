// Package encoder turns English text into a sentence vector: a point in a
// space of 128 dimensions where questions that mean much the same lie
// close together even when they share few words ("I would like a
// refund" and "can I get my money back"). The classifier in nlu adds the
// vector to its word and character features: trained on ten phrases per
// intent, it then recognises 3.5 points more of BANKING77's questions.
//
// The vectors are a distilled student of Google's Universal Sentence
// Encoder Lite (Apache-2.0; LICENSE and NOTICE beside this file): one
// vector per vocabulary piece and one hidden layer after their mean (a
// deep averaging network), fitted so that a sentence's vector matches
// the teacher's over a corpus of English mail, speeches and WordNet
// glosses, in the teacher's 128 principal directions. Encoding a sentence
// is a tokenisation, a mean and the layer: about 42 µs, where the
// teacher's transformer would take 10 ms. docs/bot.md, "The sentence
// encoder", says how the file was made.
package encoder

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Encoder holds a vocabulary of pieces and one vector per piece.
type Encoder struct {
	pieces  map[string]piece
	longest int // the longest piece, in runes
	dim     int
	rows    []int8    // rows*dim, quantised
	scales  []float32 // one per row: value = int8 * scale
	layer   *layer    // nil: the mean alone (version 1 files)
}

// layer follows the mean of the pieces: y = m + W2·relu(W1·m + b1) + b2.
// The mean cannot tell which pieces come together; the layer can.
type layer struct {
	hidden int
	w1, b1 []float32 // hidden×dim, hidden
	w2t    []float32 // W2 transposed: hidden×dim
	b2     []float32 // dim
}

var (
	//go:embed english.pieces
	englishPieces []byte
	//go:embed english.vec
	englishVectors []byte
)

// English is the English encoder, read from the binary on first use.
var English = sync.OnceValue(func() *Encoder {
	e, err := Load(englishPieces, englishVectors)
	if err != nil {
		panic("encoder: the embedded English model is damaged: " + err.Error())
	}
	return e
})

// maxHidden bounds the hidden layer, whose output lives on the stack.
const maxHidden = 512

// vecMagic starts a vector file: "PVEC" and a version byte.
var vecMagic = []byte("PVEC")

// Load reads a vocabulary (lines of "score<TAB>piece", in row order) and
// its vectors: vecMagic, version 1 or 2, rows and dim as little-endian
// uint32 (version 2: and the hidden layer's size), then per row a float32
// scale and dim int8 values (version 2: then W1, b1, W2 transposed and b2
// as float32).
func Load(pieces, vectors []byte) (*Encoder, error) {
	e := &Encoder{pieces: map[string]piece{}}
	var texts []string
	sc := bufio.NewScanner(bytes.NewReader(pieces))
	for row := int32(0); sc.Scan(); row++ {
		score, text, ok := strings.Cut(sc.Text(), "\t")
		s, err := strconv.ParseFloat(score, 32)
		if !ok || err != nil || text == "" {
			return nil, fmt.Errorf("pieces line %d: want score<TAB>piece", row+1)
		}
		if row >= reserved {
			e.pieces[text] = piece{id: row, score: float32(s)}
			e.longest = max(e.longest, utf8.RuneCountInString(text))
		}
		texts = append(texts, text)
	}
	for _, text := range texts[min(reserved, len(texts)):] {
		for i := range text {
			if _, ok := e.pieces[text[:i]]; !ok && i > 0 {
				e.pieces[text[:i]] = piece{id: -1}
			}
		}
	}
	if !bytes.HasPrefix(vectors, vecMagic) || len(vectors) < len(vecMagic)+9 {
		return nil, fmt.Errorf("vectors: not a %q file", vecMagic)
	}
	version := vectors[len(vecMagic)]
	b := vectors[len(vecMagic)+1:]
	rows, dim := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	b = b[8:]
	hidden := 0
	switch version {
	case 1:
	case 2:
		if len(b) < 4 {
			return nil, fmt.Errorf("vectors: version 2 without the hidden layer's size")
		}
		hidden = int(binary.LittleEndian.Uint32(b))
		b = b[4:]
		if hidden < 1 || hidden > maxHidden {
			return nil, fmt.Errorf("vectors: a hidden layer of %d, want 1 to %d", hidden, maxHidden)
		}
	default:
		return nil, fmt.Errorf("vectors: version %d, want 1 or 2", version)
	}
	weights := 4 * (2*hidden*dim + hidden + dim)
	if hidden == 0 {
		weights = 0
	}
	if dim == 0 || rows > len(b) || len(b) != rows*(4+dim)+weights {
		return nil, fmt.Errorf("vectors: %d rows of %d and a layer of %d want %d bytes, have %d",
			rows, dim, hidden, rows*(4+dim)+weights, len(b))
	}
	if rows < len(texts) {
		return nil, fmt.Errorf("vectors: %d rows for %d pieces", rows, len(texts))
	}
	e.dim = dim
	e.rows = make([]int8, rows*dim)
	e.scales = make([]float32, rows)
	for r := range rows {
		e.scales[r] = math.Float32frombits(binary.LittleEndian.Uint32(b))
		for j, v := range b[4 : 4+dim] {
			e.rows[r*dim+j] = int8(v)
		}
		b = b[4+dim:]
	}
	if hidden > 0 {
		floats := func(n int) []float32 {
			f := make([]float32, n)
			for i := range f {
				f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			b = b[4*n:]
			return f
		}
		e.layer = &layer{hidden: hidden}
		e.layer.w1, e.layer.b1 = floats(hidden*dim), floats(hidden)
		e.layer.w2t, e.layer.b2 = floats(hidden*dim), floats(dim)
	}
	return e, nil
}

// Dim is the length of a sentence vector.
func (e *Encoder) Dim() int { return e.dim }

// Encode appends the sentence vector of text to out: the mean of its
// pieces' vectors, scaled to length 1. A text without pieces (empty) is
// the zero vector.
func (e *Encoder) Encode(text string, out []float32) []float32 {
	start := len(out)
	out = append(out, make([]float32, e.dim)...)
	v := out[start:]
	tokens := e.Tokens(text)
	for _, id := range tokens {
		row, scale := e.rows[int(id)*e.dim:int(id+1)*e.dim], e.scales[id]
		for j, x := range row {
			v[j] += float32(x) * scale
		}
	}
	if e.layer != nil && len(tokens) > 0 {
		inv := 1 / float32(len(tokens))
		for j := range v {
			v[j] *= inv
		}
		e.layer.apply(v)
	}
	var norm float64
	for _, x := range v {
		norm += float64(x * x)
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for j := range v {
			v[j] *= inv
		}
	}
	return out
}

// apply replaces the mean m with m + W2·relu(W1·m + b1) + b2.
func (l *layer) apply(m []float32) {
	dim := len(m)
	var a [maxHidden]float32
	hidden := a[:l.hidden]
	for k := range hidden {
		s := l.b1[k]
		for j, w := range l.w1[k*dim : (k+1)*dim] {
			s += w * m[j]
		}
		hidden[k] = max(s, 0)
	}
	for j, b := range l.b2 {
		m[j] += b
	}
	// Most units are zero after the relu; W2 is stored by unit, so they
	// cost nothing.
	for k, a := range hidden {
		if a == 0 {
			continue
		}
		for j, w := range l.w2t[k*dim : (k+1)*dim] {
			m[j] += a * w
		}
	}
}
