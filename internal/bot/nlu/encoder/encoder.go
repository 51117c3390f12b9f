// Package encoder turns English text into a sentence vector: a point in a
// space of 128 dimensions where questions that mean much the same lie
// close together even when they share few words ("I would like a
// refund" and "can I get my money back"). The classifier in nlu adds the
// vector to its word and character features: trained on ten phrases per
// intent, it then recognises 2.6 points more of BANKING77's questions.
//
// The vectors are a distilled student of Google's Universal Sentence
// Encoder Lite (Apache-2.0; LICENSE and NOTICE beside this file): one
// vector per vocabulary piece, fitted so that the mean of a sentence's
// pieces matches the teacher's sentence vector over a corpus of English
// mail, speeches and WordNet glosses, then reduced to its 128 principal
// directions. Encoding a sentence is a tokenisation and a sum, a
// few microseconds; the teacher's transformer would take 10 ms.
// docs/bot.md, "The sentence encoder", says how the file was made.
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

// vecMagic starts a vector file: "PVEC", version 1.
var vecMagic = []byte("PVEC\x01")

// Load reads a vocabulary (lines of "score<TAB>piece", in row order) and
// its vectors (vecMagic, rows and dim as little-endian uint32, then per
// row a float32 scale and dim int8 values).
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
	if !bytes.HasPrefix(vectors, vecMagic) || len(vectors) < len(vecMagic)+8 {
		return nil, fmt.Errorf("vectors: not a %q file", vecMagic[:4])
	}
	b := vectors[len(vecMagic):]
	rows, dim := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	b = b[8:]
	if dim == 0 || len(b) != rows*(4+dim) {
		return nil, fmt.Errorf("vectors: %d rows of %d want %d bytes, have %d", rows, dim, rows*(4+dim), len(b))
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
	for _, id := range e.Tokens(text) {
		row, scale := e.rows[int(id)*e.dim:int(id+1)*e.dim], e.scales[id]
		for j, x := range row {
			v[j] += float32(x) * scale
		}
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
