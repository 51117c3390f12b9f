package encoder

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// wordStart marks the start of a word in the vocabulary's pieces, as in
// SentencePiece.
const wordStart = "\u2581"

// reserved pieces at the start of the vocabulary: unknown, sentence
// start and end, and three unused ones; only unknown (0) is produced.
const reserved = 6

// piece is one vocabulary entry: its row and its log-probability. The
// vocabulary map also holds every proper prefix of a piece that is not a
// piece itself, with id -1, so a search can stop at the first prefix no
// piece has.
type piece struct {
	id    int32
	score float32
}

// Tokens splits text into the vocabulary's pieces with the unigram
// language model's best segmentation (the Viterbi path through the
// pieces' log-probabilities), as the teacher model's own tokenizer does:
// NFKC, a word-start mark before each word, case kept. A character no
// piece starts with is unknown (0); runs of unknowns are one.
func (e *Encoder) Tokens(text string) []int32 {
	if text == "" {
		return nil
	}
	s := wordStart + strings.ReplaceAll(norm.NFKC.String(text), " ", wordStart)
	// at[i] is the byte offset of the i-th symbol (rune), at[n] = len(s).
	at := make([]int, 0, len(s)+1)
	for i := range s {
		at = append(at, i)
	}
	n := len(at)
	at = append(at, len(s))
	// best[end] is the best score of a segmentation of the first end
	// symbols, and lastID/lastLen the piece that ends it.
	best := make([]float32, n+1)
	lastID := make([]int32, n+1)
	lastLen := make([]int32, n+1)
	for start := 0; start < n; start++ {
		matched := false
		for end := start + 1; end <= n && end-start <= e.longest; end++ {
			p, ok := e.pieces[s[at[start]:at[end]]]
			if !ok {
				break // no piece starts with these symbols
			}
			if p.id < 0 {
				continue // a prefix of longer pieces only
			}
			matched = true
			e.relax(best, lastID, lastLen, start, end, p)
		}
		if !matched {
			e.relax(best, lastID, lastLen, start, start+1, piece{id: 0})
		}
	}
	var ids []int32
	for end := n; end > 0; {
		id, length := lastID[end], int(lastLen[end])
		if length == 0 {
			// Reached from a start no piece reaches: the vocabulary has
			// no piece for the symbol, so it is unknown.
			id, length = 0, 1
		}
		ids = append(ids, id)
		end -= length
	}
	// Reverse, and let a run of unknowns count once.
	out := make([]int32, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i] == 0 && len(out) > 0 && out[len(out)-1] == 0 {
			continue
		}
		out = append(out, ids[i])
	}
	return out
}

// relax offers the piece p spanning symbols[start:end] as the end of the
// segmentation of symbols[:end]. Like the teacher's tokenizer, a score of
// exactly 0 counts as unset, and a tie goes to the later offer.
func (e *Encoder) relax(best []float32, lastID, lastLen []int32, start, end int, p piece) {
	score := p.score + best[start]
	if best[end] == 0 || score >= best[end] {
		best[end], lastID[end], lastLen[end] = score, p.id, int32(end-start)
	}
}
