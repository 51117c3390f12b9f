package routing

import (
	"container/heap"
	"time"
)

// waiting is a conversation in a queue.
type waiting struct {
	id       string
	skill    string
	priority int
	queuedAt time.Time
	index    int // in its queue's heap
}

// before orders a queue: higher priority first, then first queued first.
func (w *waiting) before(o *waiting) bool {
	if w.priority != o.priority {
		return w.priority > o.priority
	}
	if !w.queuedAt.Equal(o.queuedAt) {
		return w.queuedAt.Before(o.queuedAt)
	}
	return w.id < o.id
}

// queue is one skill's waiting conversations, best first.
type queue []*waiting

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].before(q[j]) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	w := x.(*waiting)
	w.index = len(*q)
	*q = append(*q, w)
}
func (q *queue) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	w.index = -1
	return w
}

func (q *queue) add(w *waiting)    { heap.Push(q, w) }
func (q *queue) remove(w *waiting) { heap.Remove(q, w.index) }
func (q queue) head() *waiting {
	if len(q) == 0 {
		return nil
	}
	return q[0]
}

// How the estimated wait is made (docs/widget.md, Place in line): from
// the pace at which a skill's conversations were given to people lately.
const (
	servedSamples = 20        // the most recent assignments kept per skill
	servedWindow  = time.Hour // older ones say nothing of today's pace
	servedAtLeast = 3         // fewer: no estimate
)

// served is when a skill's conversations were last assigned, oldest first.
type served []time.Time

// add records an assignment at t, keeping the newest servedSamples.
func (s *served) add(t time.Time) {
	i := len(*s)
	for i > 0 && (*s)[i-1].After(t) {
		i--
	}
	*s = append(*s, time.Time{})
	copy((*s)[i+1:], (*s)[i:])
	(*s)[i] = t
	if len(*s) > servedSamples {
		*s = append((*s)[:0], (*s)[len(*s)-servedSamples:]...)
	}
}

// estimate is how long the conversation at place (1: next) may wait: the
// mean time between the assignments of the last hour, times its place. A
// queue no one has served for longer than that is taken at the pace of
// that silence. ok is false with fewer than servedAtLeast assignments in
// the hour.
func (s served) estimate(place int, now time.Time) (wait time.Duration, ok bool) {
	i := 0
	for i < len(s) && now.Sub(s[i]) > servedWindow {
		i++
	}
	recent := s[i:]
	if len(recent) < servedAtLeast || place < 1 {
		return 0, false
	}
	interval := recent[len(recent)-1].Sub(recent[0]) / time.Duration(len(recent)-1)
	if since := now.Sub(recent[len(recent)-1]); since > interval {
		interval = since
	}
	return interval * time.Duration(place), true
}
