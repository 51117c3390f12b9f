package nlu

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// descend runs stochastic gradient descent on the softmax regression: one
// step per entry of schedule (a phrase's index), the step size falling
// linearly from rate to 0.
//
// A label's scores, gradient and weights depend only on its own column of
// the weights, and on one number the labels share at each step: the
// softmax's normaliser. So the labels are split into blocks, each worked
// on by one core, and the cores agree on the normaliser at each step from
// each block's part of it (exchange). BANKING77's full set trains in a
// little over half the time on two cores as on one (docs/bot.md, Training
// time). The blocks are fixed, whatever the cores: a model is the same to
// the last bit on a machine of one core as on one of many.
func (m *Model) descend(xs []sparse, ys []int, schedule []int32, rate float64) {
	L := len(m.labels)
	if L == 0 || len(schedule) == 0 {
		return // nothing to learn
	}
	blocks := 1
	if L >= 2*leastBlock {
		blocks = 2
	}
	// One core per block when the process has cores to spare: a training
	// already running elsewhere (another bot's, a check's fold) holds its
	// helper, and this one then works through its blocks alone.
	workers := 1
	if blocks > 1 && shareCores {
		if helpers.Add(1) < int32(runtime.GOMAXPROCS(0)) {
			workers = 2
			defer helpers.Add(-1)
		} else {
			helpers.Add(-1)
		}
	}
	all := make([]*labelBlock, blocks)
	for b := range all {
		all[b] = m.newLabelBlock(b, L*b/blocks, L*(b+1)/blocks)
	}
	if workers == 1 {
		m.descendBlocks(xs, ys, schedule, rate, all, all, nil, 0)
	} else {
		ex := &exchange{blocks: make([]blockShare, blocks)}
		var wg sync.WaitGroup
		for w := range workers {
			mine := all[blocks*w/workers : blocks*(w+1)/workers]
			wg.Go(func() { m.descendBlocks(xs, ys, schedule, rate, all, mine, ex, w) })
		}
		wg.Wait()
	}
	for _, b := range all {
		b.writeBack(m)
	}
}

// leastBlock is the fewest labels worth a block of their own: a smaller
// one costs more to agree on than it saves.
const leastBlock = 16

// helpers counts the cores that trainings have taken beyond their own.
var helpers atomic.Int32

// shareCores is whether descend may take a second core. Not under the race
// detector (race.go), whose bookkeeping makes each look at the other
// core's part a locked update of clocks: there the blocks take twice as
// long on two cores as on one. The test that checks the sharing turns it
// on for itself.
var shareCores = true

// labelBlock is the labels lo to hi during descent, with a copy of their
// weights laid out as a row of hi − lo per feature. Were the cores to
// write to their parts of the model's shared rows, the cache lines where
// one block ends and the next begins would travel between the cores at
// every step.
type labelBlock struct {
	lo, hi  int
	index   int // the block's place in the exchange
	weights []float32
	bias    []float32
	scores  []float32
	probs   []float64
	g       []float32
	active  []int32
}

func (m *Model) newLabelBlock(index, lo, hi int) *labelBlock {
	L, n := len(m.labels), hi-lo
	features := len(m.w) / L
	b := &labelBlock{lo: lo, hi: hi, index: index, weights: make([]float32, features*n),
		bias: slices.Clone(m.bias[lo:hi]), scores: make([]float32, n), probs: make([]float64, n),
		g: make([]float32, n), active: make([]int32, 0, n)}
	for f := range features {
		copy(b.weights[f*n:(f+1)*n], m.w[f*L+lo:f*L+hi])
	}
	return b
}

func (b *labelBlock) writeBack(m *Model) {
	L, n := len(m.labels), b.hi-b.lo
	for f := range len(m.w) / L {
		copy(m.w[f*L+b.lo:f*L+b.hi], b.weights[f*n:(f+1)*n])
	}
	copy(m.bias[b.lo:b.hi], b.bias)
}

// descendBlocks is one core's part of descend: the steps for its blocks
// (mine, of all). A core with every block needs no exchange (ex nil).
// With an exchange, core 0 goes on to the end; the other core, the
// helper, stops early when the cores have waited too long for each other
// too often (exchange), and core 0 then takes on its blocks from the step
// it stopped at.
func (m *Model) descendBlocks(xs []sparse, ys []int, schedule []int32, rate float64, all, mine []*labelBlock, ex *exchange, core int) {
	total := float64(len(schedule) + 1)
	parts := make([]part, len(all))
	for step, i := range schedule {
		if ex != nil && core != 0 && (ex.stop.Load() || step == stopHelperAt) {
			ex.retired.Store(int64(step) + 1)
			return
		}
		x := xs[i]
		lr := float32(rate * (1 - float64(step)/total))
		for _, b := range mine {
			parts[b.index] = b.scoreStep(x)
		}
		if ex != nil && !ex.agree(step, mine, parts) {
			// The helper stopped before this step: its blocks are this
			// core's from here on, as they were left.
			for _, b := range all {
				if !slices.Contains(mine, b) {
					parts[b.index] = b.scoreStep(x)
				}
			}
			mine, ex = all, nil
		}
		top, z := normaliser(parts)
		for _, b := range mine {
			b.learn(x, ys[i], lr, math.Exp(parts[b.index].top-top)/z)
		}
	}
}

// stopHelperAt is a step at which the helper stops as if it had waited too
// long, for the test that checks the model comes out the same; -1 never.
var stopHelperAt = -1

// addScores adds x's scores to s, from weights laid out as a row of
// stride per feature (s takes the first len(s) of each row). Four
// features at a time: each score is read and written once per four rows
// rather than once per row (the sentence vector gives every phrase over a
// hundred features).
func addScores(s, weights []float32, stride int, x sparse) {
	k := 0
	for ; k+4 <= len(x.idx); k += 4 {
		r0 := weights[int(x.idx[k])*stride:][:len(s)]
		r1 := weights[int(x.idx[k+1])*stride:][:len(s)]
		r2 := weights[int(x.idx[k+2])*stride:][:len(s)]
		r3 := weights[int(x.idx[k+3])*stride:][:len(s)]
		v0, v1, v2, v3 := x.val[k], x.val[k+1], x.val[k+2], x.val[k+3]
		for l := range s {
			s[l] += v0*r0[l] + v1*r1[l] + v2*r2[l] + v3*r3[l]
		}
	}
	for ; k < len(x.idx); k++ {
		row := weights[int(x.idx[k])*stride:][:len(s)]
		v := x.val[k]
		for l, w := range row {
			s[l] += v * w
		}
	}
}

// part is a block's part of a step's softmax normaliser: its largest
// score, and the sum of exp(score − top) over its labels.
type part struct{ top, sum float64 }

// normaliser returns the largest score of all the parts and the
// normaliser against it, summed in the blocks' order (so every core, and
// one core alone, gets the same bits).
func normaliser(parts []part) (all, z float64) {
	all = math.Inf(-1)
	for _, p := range parts {
		all = max(all, p.top)
	}
	for _, p := range parts {
		z += p.sum * math.Exp(p.top-all)
	}
	return all, z
}

// scoreStep writes the block's scores of x and their exp(score − top),
// and returns top (the block's largest score) and the sum of the exps.
func (b *labelBlock) scoreStep(x sparse) part {
	s := b.scores
	copy(s, b.bias)
	addScores(s, b.weights, b.hi-b.lo, x)
	best := s[0]
	for _, v := range s {
		best = max(best, v)
	}
	probs := b.probs[:len(s)]
	var sum float64
	for l, v := range s {
		probs[l] = math.Exp(float64(v - best))
		sum += probs[l]
	}
	return part{float64(best), sum}
}

// learn takes one step for the block's labels, given the factor that turns
// its exps into probabilities, and y, the label x has.
func (b *labelBlock) learn(x sparse, y int, lr float32, norm float64) {
	// Locals, not the block's fields: the compiler would read a field
	// again after every store to the weights.
	n, weights, g, bias := b.hi-b.lo, b.weights, b.g[:b.hi-b.lo], b.bias
	// Only classes with a noticeable gradient are updated: after the
	// first epoch most probabilities are near zero, so this skips most of
	// the work without changing the result measurably.
	active := b.active[:0]
	for l, p := range b.probs[:n] {
		gl := float32(p * norm)
		if b.lo+l == y {
			gl--
		}
		if gl > 1e-4 || gl < -1e-4 {
			active = append(active, int32(l))
			g[l] = gl
		}
	}
	b.active = active
	for _, l := range active {
		bias[l] -= lr * g[l] * 0.1
	}
	for k, f := range x.idx {
		row := weights[int(f)*n:][:n]
		xk := lr * x.val[k]
		for _, l := range active {
			row[l] -= xk * g[l]
		}
	}
}

// exchange is where the cores of descend agree on each step's softmax
// normaliser. Each core posts its blocks' parts and waits, spinning, for
// the other blocks' parts of the same step: a step is a few microseconds,
// far shorter than parking a goroutine and waking it again. Parts
// alternate between two slots, so a core a step ahead never overwrites a
// part that a core behind is still reading. (A core alone needs none of
// this, which matters under the race detector: it keeps clocks for every
// atomic, and a step's four would cost more than the step.)
//
// Spinning pays only while both cores run. When another process takes one
// of them (a busy or shared machine), the other would spin through the
// whole of the time slice it lost, at every step: repeated waits longer
// than longWait stop the helper, and the rest of the training runs on one
// core, as it would have from the start.
type exchange struct {
	blocks    []blockShare
	stop      atomic.Bool  // the cores waited too long, too often
	longWaits atomic.Int32 // waits longer than longWait so far
	retired   atomic.Int64 // the step before which the helper stopped, +1; 0 while it works
}

// A wait longer than longWait (a step takes about 10 µs) means the other
// core lost its turn; the helper is stopped at the longWaitsToStop-th.
// One is not enough: a quiet machine has the odd hiccup too (BANKING77's
// full set trained in 1.37–1.52 s when the first one stopped the helper,
// 1.01–1.13 s with this).
const (
	longWait        = 200 * time.Microsecond
	longWaitsToStop = 16
)

type blockShare struct {
	posted atomic.Int64 // the last step posted, +1
	part   [2]part
	_      [64]byte // a cache line of its own
}

// agree posts the parts of mine at step and fills in the other blocks'.
// It returns false, to core 0, when the helper stopped before posting this
// step's parts.
func (e *exchange) agree(step int, mine []*labelBlock, parts []part) bool {
	for _, b := range mine {
		sh := &e.blocks[b.index]
		sh.part[step&1] = parts[b.index]
		sh.posted.Store(int64(step) + 1)
	}
	var since time.Time
	counted := false
	for b := range e.blocks {
		sh := &e.blocks[b]
		for spins := 1; sh.posted.Load() <= int64(step); spins++ {
			if spins&127 != 0 {
				continue
			}
			if e.retired.Load() == int64(step)+1 {
				return false
			}
			if since.IsZero() {
				since = time.Now()
			} else if !counted && time.Since(since) > longWait {
				counted = true
				if e.longWaits.Add(1) >= longWaitsToStop {
					e.stop.Store(true)
				}
			}
			runtime.Gosched() // the block's core may be waiting for this one's
		}
		parts[b] = sh.part[step&1]
	}
	return true
}
