package routing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkDecide measures one assignment decision with 10,000 queued
// conversations over 20 skills and 1,000 agents with 2 skills each. Each
// iteration decides, applies the assignment, then frees the agent and puts
// the conversation back at the end of its queue, so the state stays steady.
func BenchmarkDecide(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Now()
	acc := newAccount()
	skills := make([]string, 20)
	for i := range skills {
		skills[i] = fmt.Sprintf("skl_%02d", i)
	}
	for i := 0; i < 1000; i++ {
		a := &agent{id: fmt.Sprintf("usr_%04d", i), skills: map[string]bool{}, max: 3, active: true,
			person: &person{presence: Online, connections: 1, lastAssigned: now.Add(-time.Duration(rng.IntN(3600)) * time.Second)}}
		a.skills[skills[rng.IntN(20)]] = true
		a.skills[skills[rng.IntN(20)]] = true
		a.load = rng.IntN(3)
		acc.agents[a.id] = a
	}
	for i := 0; i < 10000; i++ {
		w := &waiting{id: fmt.Sprintf("conv_%05d", i), skill: skills[rng.IntN(20)], priority: rng.IntN(3), queuedAt: now.Add(time.Duration(i) * time.Millisecond)}
		q := acc.queues[w.skill]
		if q == nil {
			q = &queue{}
			acc.queues[w.skill] = q
		}
		q.add(w)
		acc.waiting[w.id] = w
	}
	later := now.Add(time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, a := acc.decide(now, time.Minute, func(string) Presence { return "" })
		if w == nil {
			b.Fatal("nothing to assign")
		}
		acc.queues[w.skill].remove(w)
		a.load++
		a.lastAssigned = now
		// Release, so the next iteration faces the same shape of problem.
		a.load--
		later = later.Add(time.Millisecond)
		w.queuedAt = later
		acc.queues[w.skill].add(w)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/decision")
}
