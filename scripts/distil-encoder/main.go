// Command distil-encoder fits the sentence encoder's piece vectors
// (internal/bot/nlu/encoder/english.vec) to a teacher's sentence vectors.
// teacher.js writes what it reads: for each corpus shard, the pieces of
// every sentence (PREFIXtokN.json) and the teacher's vector of it
// (PREFIXembN.f32, little-endian float32), and the teacher's vector of
// each piece alone (static.f32), which is where fitting starts.
// README.md beside this file gives the whole recipe; docs/bot.md, "The
// sentence encoder", the reasons and the results.
package main

import (
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
)

const dim = 512

type sentence struct {
	pieces []int32
	vector []float32
}

func main() {
	static := flag.String("static", "", "the teacher's vector of each piece alone (float32 rows)")
	corpus := flag.String("corpus", "", "comma-separated shard prefixes (PREFIXtok0.json, PREFIXemb0.f32, ...)")
	epochs := flag.Int("epochs", 10, "passes over the corpus")
	rate := flag.Float64("rate", 0.5, "initial step, decaying linearly to 0")
	dims := flag.Int("dims", 128, "principal components to keep")
	out := flag.String("out", "english.vec", "the vector file to write")
	hidden := flag.Int("hidden", 0, "units of the hidden layer after the mean (0: the mean alone)")
	deepEpochs := flag.Int("deep-epochs", 6, "passes over the corpus with the hidden layer")
	deepRate := flag.Float64("deep-rate", 0.05, "initial step of the hidden layer's weights")
	cache := flag.String("cache", "", "keep the mean's fitted vectors and projected sentences here, and start from them when present")
	flag.Parse()
	if *hidden > 0 && *cache != "" {
		if rows, small, err := readCache(*cache); err == nil {
			log.Printf("the mean's vectors from %s", *cache)
			n := deepen(rows, small, *hidden, *deepEpochs, float32(*deepRate))
			if err := os.WriteFile(*out, quantiseDeep(rows, n), 0o644); err != nil {
				log.Fatal(err)
			}
			return
		}
	}
	rows, err := readFloats(*static)
	if err != nil {
		log.Fatal(err)
	}
	var sentences []sentence
	for _, prefix := range strings.Split(*corpus, ",") {
		for shard := 0; ; shard++ {
			s, err := readShard(prefix, shard)
			if os.IsNotExist(err) && shard > 0 {
				break
			}
			if err != nil {
				log.Fatal(err)
			}
			sentences = append(sentences, s...)
		}
	}
	log.Printf("%d pieces, %d sentences", len(rows), len(sentences))
	fit(rows, sentences, *epochs, float32(*rate))
	p := principal(rows, sentences, *dims)
	rows = p.pieces(rows)
	file := quantise(rows)
	if *hidden > 0 {
		small := p.sentences(sentences)
		sentences = nil
		if *cache != "" {
			if err := writeCache(*cache, rows, small); err != nil {
				log.Fatal(err)
			}
		}
		n := deepen(rows, small, *hidden, *deepEpochs, float32(*deepRate))
		file = quantiseDeep(rows, n)
	}
	if err := os.WriteFile(*out, file, 0o644); err != nil {
		log.Fatal(err)
	}
}

// fit moves the piece vectors by stochastic gradient descent on the
// squared distance between the mean of a sentence's pieces and the
// teacher's vector of the sentence.
func fit(rows [][]float32, sentences []sentence, epochs int, rate float32) {
	for _, r := range rows {
		normalise(r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	diff := make([]float32, dim)
	for epoch := range epochs {
		var loss float64
		rng.Shuffle(len(sentences), func(i, j int) { sentences[i], sentences[j] = sentences[j], sentences[i] })
		for _, s := range sentences {
			if len(s.pieces) == 0 {
				continue
			}
			clear(diff)
			for _, id := range s.pieces {
				for j, x := range rows[id] {
					diff[j] += x
				}
			}
			inv := 1 / float32(len(s.pieces))
			for j := range diff {
				diff[j] = diff[j]*inv - s.vector[j]
				loss += float64(diff[j] * diff[j])
			}
			step := rate * inv * (1 - float32(epoch)/float32(epochs))
			for _, id := range s.pieces {
				row := rows[id]
				for j := range row {
					row[j] -= step * diff[j]
				}
			}
		}
		log.Printf("pass %d: mean squared distance %.4f", epoch+1, loss/float64(len(sentences)))
	}
}

// principal centres the piece vectors on the corpus's mean sentence and
// projects them on the k directions along which the corpus's sentences
// vary most. A sentence's vector is the mean of its pieces', so it is
// centred and projected the same way. Ten-shot BANKING77 accuracy is the
// same with 128 dimensions as with 512 (docs/bot.md), and the classifier
// trains four times less on them.
func principal(rows [][]float32, sentences []sentence, k int) projection {
	mean := func(pieces []int32) []float64 {
		v := make([]float64, dim)
		for _, id := range pieces {
			for j, x := range rows[id] {
				v[j] += float64(x)
			}
		}
		for j := range v {
			v[j] /= float64(len(pieces))
		}
		return v
	}
	var sample [][]float64
	for i, s := range sentences {
		if i%4 == 0 && len(s.pieces) > 0 {
			sample = append(sample, mean(s.pieces))
		}
	}
	centre := make([]float64, dim)
	for _, v := range sample {
		for j, x := range v {
			centre[j] += x / float64(len(sample))
		}
	}
	cov := make([]float64, dim*dim)
	for _, v := range sample {
		for j := range v {
			v[j] -= centre[j]
		}
		for a, x := range v {
			row := cov[a*dim : (a+1)*dim]
			for b, y := range v {
				row[b] += x * y / float64(len(sample))
			}
		}
	}
	values, vectors := eigen(cov, dim)
	order := make([]int, dim)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return values[order[a]] > values[order[b]] })
	var kept float64
	var total float64
	for i, c := range order {
		total += values[c]
		if i < k {
			kept += values[c]
		}
	}
	log.Printf("%d of %d directions keep %.1f %% of the variance", k, dim, 100*kept/total)
	p := projection{centre: centre, basis: make([][]float64, k)}
	for c := range k {
		p.basis[c] = make([]float64, dim)
		for j := range dim {
			p.basis[c][j] = vectors[j*dim+order[c]]
		}
	}
	return p
}

// projection centres a vector and keeps its principal components.
type projection struct {
	centre []float64
	basis  [][]float64 // k rows of dim
}

func (p projection) apply(v []float32) []float32 {
	out := make([]float32, len(p.basis))
	for c, b := range p.basis {
		var d float64
		for j, x := range v {
			d += (float64(x) - p.centre[j]) * b[j]
		}
		out[c] = float32(d)
	}
	return out
}

func (p projection) pieces(rows [][]float32) [][]float32 {
	out := make([][]float32, len(rows))
	for r, row := range rows {
		out[r] = p.apply(row)
	}
	return out
}

// sentences projects the teacher's vectors the same way, for deepen.
func (p projection) sentences(s []sentence) []sentence {
	out := make([]sentence, 0, len(s))
	for _, x := range s {
		if len(x.pieces) > 0 {
			out = append(out, sentence{x.pieces, p.apply(x.vector)})
		}
	}
	return out
}

// eigen returns the eigenvalues of the symmetric n×n matrix a (row-major,
// overwritten) and its eigenvectors as the columns of a matrix, by
// cyclic Jacobi rotations.
func eigen(a []float64, n int) (values, vectors []float64) {
	vectors = make([]float64, n*n)
	for i := range n {
		vectors[i*n+i] = 1
	}
	for range 30 {
		var off float64
		for p := range n {
			for q := p + 1; q < n; q++ {
				off += a[p*n+q] * a[p*n+q]
			}
		}
		if off < 1e-20 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				apq := a[p*n+q]
				if math.Abs(apq) < 1e-18 {
					continue
				}
				theta := (a[q*n+q] - a[p*n+p]) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n {
					x, y := a[k*n+p], a[k*n+q]
					a[k*n+p], a[k*n+q] = c*x-s*y, s*x+c*y
				}
				for k := range n {
					x, y := a[p*n+k], a[q*n+k]
					a[p*n+k], a[q*n+k] = c*x-s*y, s*x+c*y
				}
				for k := range n {
					x, y := vectors[k*n+p], vectors[k*n+q]
					vectors[k*n+p], vectors[k*n+q] = c*x-s*y, s*x+c*y
				}
			}
		}
	}
	values = make([]float64, n)
	for i := range n {
		values[i] = a[i*n+i]
	}
	return values, vectors
}

// quantise writes the vector file the encoder reads: each row as int8
// values and one float32 scale (the row's largest magnitude / 127).
func quantise(rows [][]float32) []byte {
	b := append([]byte("PVEC\x01"), make([]byte, 8)...)
	binary.LittleEndian.PutUint32(b[5:], uint32(len(rows)))
	binary.LittleEndian.PutUint32(b[9:], uint32(len(rows[0])))
	for _, r := range rows {
		var peak float32
		for _, x := range r {
			peak = max(peak, float32(math.Abs(float64(x))))
		}
		scale := peak / 127
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scale))
		for _, x := range r {
			q := 0.0
			if scale > 0 {
				q = math.Round(float64(x / scale))
			}
			b = append(b, byte(int8(q)))
		}
	}
	return b
}

func normalise(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x * x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= inv
		}
	}
}

func readFloats(path string) ([][]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%(4*dim) != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not rows of %d float32", path, len(b), dim)
	}
	rows := make([][]float32, len(b)/(4*dim))
	for i := range rows {
		rows[i] = make([]float32, dim)
		for j := range rows[i] {
			rows[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(b[(i*dim+j)*4:]))
		}
	}
	return rows, nil
}

func readShard(prefix string, shard int) ([]sentence, error) {
	b, err := os.ReadFile(fmt.Sprintf("%stok%d.json", prefix, shard))
	if err != nil {
		return nil, err
	}
	var pieces [][]int32
	if err := json.Unmarshal(b, &pieces); err != nil {
		return nil, err
	}
	vectors, err := readFloats(fmt.Sprintf("%semb%d.f32", prefix, shard))
	if err != nil {
		return nil, err
	}
	if len(vectors) != len(pieces) {
		return nil, fmt.Errorf("%s shard %d: %d sentences, %d vectors", prefix, shard, len(pieces), len(vectors))
	}
	s := make([]sentence, len(pieces))
	for i := range s {
		s[i] = sentence{pieces[i], vectors[i]}
	}
	return s, nil
}

type cached struct {
	Rows      [][]float32
	Pieces    [][]int32
	Sentences [][]float32
}

func writeCache(path string, rows [][]float32, s []sentence) error {
	c := cached{Rows: rows}
	for _, x := range s {
		c.Pieces, c.Sentences = append(c.Pieces, x.pieces), append(c.Sentences, x.vector)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gob.NewEncoder(f).Encode(c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readCache(path string) ([][]float32, []sentence, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var c cached
	if err := gob.NewDecoder(f).Decode(&c); err != nil {
		return nil, nil, err
	}
	s := make([]sentence, len(c.Pieces))
	for i := range s {
		s[i] = sentence{c.Pieces[i], c.Sentences[i]}
	}
	return c.Rows, s, nil
}
