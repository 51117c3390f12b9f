package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/pgtest"
)

// TestABatchOfWritesOnPostgresAnswersAsOneByOne: the PostgreSQL writer
// sends a batch's appends and receipts in one round trip (runPipelined);
// each still gets the answer it would get alone — a resend its original,
// a closed conversation, another visitor's or another account's a refusal,
// a client ID sent twice in one batch one message, a receipt beyond the
// last message an error — and the messages, receipts and their events keep
// the batch's order, gap-free.
func TestABatchOfWritesOnPostgresAnswersAsOneByOne(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPostgres(ctx, pgtest.Database(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc, other := &parley.Account{Name: "A"}, &parley.Account{Name: "B"}
	for _, a := range []*parley.Account{acc, other} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	visitor, intruder := &parley.Consumer{AccountID: acc.ID}, &parley.Consumer{AccountID: acc.ID}
	for _, c := range []*parley.Consumer{visitor, intruder} {
		if err := db.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	conv := map[string]string{}
	for _, name := range []string{"A", "B", "C", "D", "E", "F"} {
		c, err := db.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		conv[name] = c.ID
	}
	fromVisitor := func(c, body, clientID string) *parley.Message {
		return &parley.Message{AccountID: acc.ID, ConversationID: conv[c], SenderKind: parley.SenderConsumer,
			SenderID: visitor.ID, Type: parley.MessageText, Text: body, ClientID: clientID}
	}
	first, _, err := db.AppendMessage(ctx, fromVisitor("B", "b0", "cb0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CloseConversation(ctx, acc.ID, conv["C"], parley.ConversationClose{Reason: "done", ClosedBy: "system"}); err != nil {
		t.Fatal(err)
	}
	before, err := db.ListEvents(ctx, acc.ID, parley.EventFilter{Newest: true, Limit: 1})
	if err != nil || len(before) != 1 {
		t.Fatalf("last event: %v %v", before, err)
	}

	agent := &parley.Message{AccountID: acc.ID, ConversationID: conv["A"], SenderKind: parley.SenderAgent,
		SenderID: "usr_1", Type: parley.MessageText, Text: "a2"}
	intruding := fromVisitor("D", "d1", "cd1")
	intruding.SenderID = intruder.ID
	elsewhere := fromVisitor("F", "f1", "cf1")
	elsewhere.AccountID = other.ID
	type want struct {
		seq       int64
		text      string
		duplicate bool
		changed   bool // a receipt moved
		code      string
	}
	type writeCase struct {
		m       *parley.Message // an append
		receipt *parley.Receipt // or a receipt
		want    want
	}
	run := func(cases []writeCase) []*writeOp {
		t.Helper()
		batch := make([]*writeOp, len(cases))
		for i, c := range cases {
			if c.receipt != nil {
				batch[i], err = db.receiptOp(ctx, acc.ID, *c.receipt)
			} else {
				batch[i], err = db.appendOp(ctx, c.m)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		db.runBatch(batch)
		for i, c := range cases {
			err := <-batch[i].done
			if c.want.code != "" {
				if parley.ErrorCode(err) != c.want.code {
					t.Errorf("write %d: error %v, want %s", i, err, c.want.code)
				}
				continue
			}
			if c.receipt != nil {
				if changed := batch[i].pipe.(*pendingReceipt).changed; err != nil || changed != c.want.changed {
					t.Errorf("receipt %d: changed=%v %v, want changed=%v", i, changed, err, c.want.changed)
				}
				continue
			}
			a := batch[i].pipe.(*pendingAppend)
			if err != nil || a.stored == nil || a.stored.Seq != c.want.seq || a.stored.Text != c.want.text || a.duplicate != c.want.duplicate {
				t.Errorf("append %d (%s): %+v duplicate=%v %v; want %+v", i, c.m.Text, a.stored, a.duplicate, err, c.want)
			}
		}
		return batch
	}
	readUpTo := func(c string, seq int64) *parley.Receipt {
		return &parley.Receipt{ConversationID: conv[c], Side: parley.SideAgent, Kind: parley.ReceiptRead, Seq: seq}
	}

	// Resends and a client ID twice in one batch: each gets its original,
	// looked up one by one in the same transaction. Receipts among them:
	// one for a message stored earlier in the same round trip, one that
	// moves nothing.
	batch := run([]writeCase{
		{m: fromVisitor("A", "a1", "ca1"), want: want{seq: 1, text: "a1"}},
		{m: fromVisitor("B", "b0 again", "cb0"), want: want{seq: 1, text: "b0", duplicate: true}},
		{receipt: readUpTo("A", 1), want: want{changed: true}},
		{m: agent, want: want{seq: 2, text: "a2"}},
		{m: fromVisitor("E", "e1", "ce"), want: want{seq: 1, text: "e1"}},
		{m: fromVisitor("E", "e1 again", "ce"), want: want{seq: 1, text: "e1", duplicate: true}},
		{receipt: readUpTo("A", 1), want: want{changed: false}},
		{m: fromVisitor("A", "a3", "ca3"), want: want{seq: 3, text: "a3"}},
		{m: fromVisitor("B", "b2", "cb2"), want: want{seq: 2, text: "b2"}},
	})
	if !batch[0].piped || !batch[2].piped || !batch[3].piped || !batch[7].piped {
		t.Fatal("conversation A's appends and receipt were not sent together: this test no longer covers runPipelined")
	}
	if batch[1].piped || batch[5].piped || batch[6].piped {
		t.Fatal("a resend or a receipt that moves nothing was done in the pipeline, not by op.fn")
	}
	if got := batch[1].pipe.(*pendingAppend).stored; got == nil || got.ID != first.ID {
		t.Errorf("the resend got %+v, want the original %s", got, first.ID)
	}
	// Refusals fail their own appends only (the batch runs again one by one).
	run([]writeCase{
		{m: fromVisitor("A", "a4", "ca4"), want: want{seq: 4, text: "a4"}},
		{m: fromVisitor("C", "c1", "cc1"), want: want{code: parley.ECONFLICT}},
		{m: intruding, want: want{code: parley.ENOTFOUND}},
		{receipt: readUpTo("A", 9), want: want{code: parley.EINVALID}},
		{m: elsewhere, want: want{code: parley.ENOTFOUND}},
		{m: fromVisitor("A", "a5", "ca5"), want: want{seq: 5, text: "a5"}},
		{receipt: readUpTo("A", 5), want: want{changed: true}},
		{m: fromVisitor("E", "e2", "ce2"), want: want{seq: 2, text: "e2"}},
	})

	for name, texts := range map[string][]string{"A": {"a1", "a2", "a3", "a4", "a5"}, "B": {"b0", "b2"}, "C": nil, "D": nil, "E": {"e1", "e2"}, "F": nil} {
		msgs, err := db.ListMessages(ctx, acc.ID, conv[name], 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Errorf("conversation %s: message %d has seq %d", name, i, m.Seq)
			}
			got = append(got, m.Text)
		}
		if fmt.Sprint(got) != fmt.Sprint(texts) {
			t.Errorf("conversation %s holds %v, want %v", name, got, texts)
		}
		if c, _ := db.FindConversation(ctx, acc.ID, conv[name]); c.LastSeq != int64(len(texts)) {
			t.Errorf("conversation %s: last seq %d, want %d", name, c.LastSeq, len(texts))
		}
	}
	events, err := db.ListEvents(ctx, acc.ID, parley.EventFilter{After: before[0].Seq})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for i, e := range events {
		if e.Seq != before[0].Seq+int64(i)+1 {
			t.Errorf("event %d has seq %d after %d: a gap", i, e.Seq, before[0].Seq)
		}
		switch e.Type {
		case parley.EventMessageCreated:
			var m parley.Message
			if err := json.Unmarshal(e.Data, &m); err != nil || m.Seq != e.MessageSeq {
				t.Errorf("event %d: %s (%v), message seq %d", e.Seq, e.Data, err, e.MessageSeq)
			}
			order = append(order, m.Text)
		case parley.EventReceiptUpdated:
			var r parley.Receipt
			json.Unmarshal(e.Data, &r)
			order = append(order, fmt.Sprintf("read%d", r.Seq))
		default:
			t.Errorf("event %d: %s", e.Seq, e.Type)
		}
	}
	// One event per stored message and moved receipt, in the batch's order.
	if want := "[a1 read1 a2 e1 a3 b2 a4 a5 read5 e2]"; fmt.Sprint(order) != want {
		t.Errorf("events for %v, want %s", order, want)
	}
	if c, _ := db.FindConversation(ctx, acc.ID, conv["A"]); c.AgentReadSeq != 5 {
		t.Errorf("agent read seq %d, want 5", c.AgentReadSeq)
	}
}
