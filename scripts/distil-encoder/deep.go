package main

import (
	"encoding/binary"
	"log"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// network is the layer after the mean: y = m + W2·relu(W1·m + b1) + b2,
// where m is the mean of a sentence's piece vectors. The mean alone cannot
// tell which pieces come together; the hidden layer can.
type network struct {
	dim, hidden int
	w1, b1      []float32 // hidden×dim, hidden
	w2, b2      []float32 // dim×hidden, dim
}

// deepen fits the hidden layer and the piece vectors together to the
// teacher's (projected) sentence vectors, starting from the mean alone
// (W2 = 0). Workers share the weights without locks, as Hogwild! does.
func deepen(rows [][]float32, sentences []sentence, hidden, epochs int, rate float32) network {
	d := len(rows[0])
	n := network{dim: d, hidden: hidden,
		w1: make([]float32, hidden*d), b1: make([]float32, hidden),
		w2: make([]float32, d*hidden), b2: make([]float32, d)}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range n.w1 {
		n.w1[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(d)))
	}
	workers := runtime.NumCPU()
	log.Printf("the mean alone: mean squared distance %.4f", n.loss(rows, sentences))
	for epoch := range epochs {
		rng.Shuffle(len(sentences), func(i, j int) { sentences[i], sentences[j] = sentences[j], sentences[i] })
		decay := 1 - float32(epoch)/float32(epochs)
		losses := make([]float64, workers)
		var wg sync.WaitGroup
		for w := range workers {
			part := sentences[w*len(sentences)/workers : (w+1)*len(sentences)/workers]
			wg.Go(func() { losses[w] = n.pass(rows, part, rate*decay, 0.2*decay) })
		}
		wg.Wait()
		var loss float64
		for _, l := range losses {
			loss += l
		}
		log.Printf("deep pass %d: mean squared distance %.4f", epoch+1, loss/float64(len(sentences)))
	}
	return n
}

func (n network) pass(rows [][]float32, sentences []sentence, rate, pieceRate float32) float64 {
	d, h := n.dim, n.hidden
	m, y, diff := make([]float32, d), make([]float32, d), make([]float32, d)
	z, a, da := make([]float32, h), make([]float32, h), make([]float32, h)
	dm := make([]float32, d)
	var loss float64
	for _, s := range sentences {
		inv := mean(rows, s.pieces, m)
		n.forward(m, z, a, y)
		for j := range diff {
			diff[j] = y[j] - s.vector[j]
			loss += float64(diff[j] * diff[j])
		}
		// da = W2ᵀ·diff, then W2 and b2 move.
		clear(da)
		for j, g := range diff {
			row := n.w2[j*h : (j+1)*h]
			for k, w := range row {
				da[k] += w * g
			}
			for k, x := range a {
				row[k] -= rate * g * x
			}
			n.b2[j] -= rate * g
		}
		copy(dm, diff)
		for k := range da {
			if z[k] <= 0 {
				continue
			}
			g := da[k]
			row := n.w1[k*d : (k+1)*d]
			for j, w := range row {
				dm[j] += w * g
			}
			for j, x := range m {
				row[j] -= rate * g * x
			}
			n.b1[k] -= rate * g
		}
		step := pieceRate * inv
		for _, id := range s.pieces {
			row := rows[id]
			for j := range row {
				row[j] -= step * dm[j]
			}
		}
	}
	return loss
}

// loss is the mean squared distance over the sentences, without fitting.
func (n network) loss(rows [][]float32, sentences []sentence) float64 {
	m, y := make([]float32, n.dim), make([]float32, n.dim)
	z, a := make([]float32, n.hidden), make([]float32, n.hidden)
	var loss float64
	for _, s := range sentences {
		mean(rows, s.pieces, m)
		n.forward(m, z, a, y)
		for j, x := range y {
			loss += float64((x - s.vector[j]) * (x - s.vector[j]))
		}
	}
	return loss / float64(len(sentences))
}

// mean writes the mean of the pieces' rows into m and returns
// 1/len(pieces).
func mean(rows [][]float32, pieces []int32, m []float32) float32 {
	clear(m)
	for _, id := range pieces {
		for j, x := range rows[id] {
			m[j] += x
		}
	}
	inv := 1 / float32(len(pieces))
	for j := range m {
		m[j] *= inv
	}
	return inv
}

// forward computes y from the mean m, keeping the hidden layer's input z
// and output a for the backward pass.
func (n network) forward(m, z, a, y []float32) {
	d, h := n.dim, n.hidden
	for k := range h {
		s := n.b1[k]
		for j, w := range n.w1[k*d : (k+1)*d] {
			s += w * m[j]
		}
		z[k] = s
		a[k] = max(s, 0)
	}
	for j := range d {
		s := m[j] + n.b2[j]
		for k, w := range n.w2[j*h : (j+1)*h] {
			s += w * a[k]
		}
		y[j] = s
	}
}

// quantiseDeep writes version 2 of the vector file: the version 1 layout
// with the hidden layer's size after dim, and the layer's weights (W1, b1,
// W2 transposed, b2 as little-endian float32) after the rows.
func quantiseDeep(rows [][]float32, n network) []byte {
	v1 := quantise(rows)
	b := append([]byte("PVEC\x02"), v1[5:13]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(n.hidden))
	b = append(b, v1[13:]...)
	w2t := make([]float32, len(n.w2))
	for j := range n.dim {
		for k := range n.hidden {
			w2t[k*n.dim+j] = n.w2[j*n.hidden+k]
		}
	}
	for _, part := range [][]float32{n.w1, n.b1, w2t, n.b2} {
		for _, x := range part {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b
}
