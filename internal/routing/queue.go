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
