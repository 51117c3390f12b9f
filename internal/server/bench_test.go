package server_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
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

// BenchmarkBotAnswer measures a visitor's question to the bot's answer
// arriving on the visitor's socket (the target: within 100 ms), with
// the demo bot, over a real WebSocket and the real store.
func BenchmarkBotAnswer(b *testing.B) {
	ts := startServer(b, b.TempDir())
	br := seedBrand(b, ts, "Bench")
	withDemoBot(b, ts, br)
	questions := []string{"How long does delivery take?", "can I pay with paypal", "what size should I order", "how do I return an item", "hello"}
	v := ts.newVisitor(b, br.account.ID)
	var lat []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; {
		// A fresh conversation every 20 turns keeps the history short, as in life.
		b.StopTimer()
		conv := v.open(b)
		ws := connect(b, ts, v.token, nil)
		ws.subscribe(conv.ID, 0)
		b.StartTimer()
		for i := 0; i < 20 && n < b.N; i, n = i+1, n+1 {
			start := time.Now()
			ack := ws.sendText(conv.ID, fmt.Sprint(i), questions[i%len(questions)])
			// The first of the bot's messages for this question (earlier
			// turns' "Did this help?" may still be in the channel).
			first := fmt.Sprintf(`"client_id":"bot:%s:0"`, ack.MessageID)
			ws.next(func(f frame) bool { return f.Type == "message" && strings.Contains(string(f.Message), first) })
			lat = append(lat, time.Since(start))
		}
		ws.ws.CloseNow()
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
