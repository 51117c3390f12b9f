package server_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkSendDeliver measures one message's trip over loopback WebSockets:
// a visitor sends, the server stores it durably and acks, and the agent
// following the conversation receives it. Each pair sends its next message
// once the agent has the last, so ns/op at pairs=1 is the send→deliver
// latency and msgs/s at more pairs is the delivered throughput.
func BenchmarkSendDeliver(b *testing.B) {
	for _, pairs := range []int{1, 50} {
		b.Run(fmt.Sprintf("pairs=%d", pairs), func(b *testing.B) {
			ts := startServer(b, b.TempDir())
			br := seedBrand(b, ts, "Bench")
			agent := agentWS(b, ts, br.agent)
			type pair struct {
				sender *wsClient
				conv   string
			}
			var ps []pair
			for i := 0; i < pairs; i++ {
				v := ts.newVisitor(b, br.account.ID)
				conv := v.open(b)
				agent.subscribe(conv.ID, 0)
				ps = append(ps, pair{connect(b, ts, v.token, nil), conv.ID})
			}
			// The agent's frames are routed to one channel per conversation.
			delivered := make(map[string]chan time.Time, pairs)
			for _, p := range ps {
				delivered[p.conv] = make(chan time.Time, 16)
			}
			go func() {
				for f := range agent.frames {
					if f.Type == "message" {
						delivered[f.ConversationID] <- time.Now()
					}
				}
			}()
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			per := b.N / pairs
			if per == 0 {
				per = 1
			}
			b.ResetTimer()
			for i, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					local := make([]time.Duration, 0, per)
					for n := 0; n < per; n++ {
						frame, _ := json.Marshal(map[string]any{"type": "send", "conversation_id": p.conv, "client_id": fmt.Sprintf("%d-%d", i, n),
							"message": map[string]string{"type": "text", "text": "Hello, where is my order?"}})
						start := time.Now()
						p.sender.send(frame)
						got := <-delivered[p.conv]
						local = append(local, got.Sub(start))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
