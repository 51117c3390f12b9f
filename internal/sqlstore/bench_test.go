package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sqlstore"
)

func benchStore(b *testing.B, conversations int) (*sqlstore.DB, string, []string) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	a := &parley.Account{Name: "Bench"}
	db.CreateAccount(ctx, a)
	c := &parley.Consumer{AccountID: a.ID}
	db.CreateConsumer(ctx, c)
	var ids []string
	for i := 0; i < conversations; i++ {
		conv, err := db.OpenConversation(ctx, a.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, conv.ID)
	}
	return db, a.ID, ids
}

// BenchmarkAppendSingle appends from one goroutine: every message waits for
// its own commit and fsync.
func BenchmarkAppendSingle(b *testing.B) {
	db, account, convs := benchStore(b, 1)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: account, ConversationID: convs[0], SenderKind: parley.SenderAgent,
			Type: parley.MessageText, Text: "hello, I have a question about my order", ClientID: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAppendBatched appends from many goroutines into many
// conversations: writes that wait together share one commit.
func BenchmarkAppendBatched(b *testing.B) {
	for _, writers := range []int{16, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, account, convs := benchStore(b, 100)
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism((writers + 1) / 2) // RunParallel runs GOMAXPROCS × this goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: account, ConversationID: convs[i%int64(len(convs))], SenderKind: parley.SenderAgent,
						Type: parley.MessageText, Text: "hello, I have a question about my order", ClientID: parley.NewID("c")}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkAppendChat appends the way chat traffic does: each of 64
// writers has its own conversation and one message in flight, so a batch
// holds one message of each of many conversations (as `parley bench max`
// does). It reports the process's CPU time per message, a steadier measure
// than the rate when the machine is busy.
func BenchmarkAppendChat(b *testing.B) { appendChat(b, false) }

// BenchmarkAppendChatWithReceipts is AppendChat with what the console
// adds to each visitor message it shows: a read receipt, a write of its
// own (docs/performance.md, session 8).
func BenchmarkAppendChatWithReceipts(b *testing.B) { appendChat(b, true) }

func appendChat(b *testing.B, receipts bool) {
	const writers = 64
	db, account, convs := benchStore(b, writers)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism((writers + 1) / 2)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conv := convs[next.Add(1)%writers]
		for pb.Next() {
			// Time-ordered client IDs, as Parley's widget and console send.
			m, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: account, ConversationID: conv, SenderKind: parley.SenderAgent,
				Type: parley.MessageText, Text: "hello, I have a question about my order", ClientID: parley.NewID("c")})
			if err != nil {
				b.Fatal(err)
			}
			if !receipts {
				continue
			}
			if _, err := db.UpdateReceipt(ctx, account, parley.Receipt{ConversationID: conv, Side: parley.SideAgent, Kind: parley.ReceiptRead, Seq: m.Seq}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}
