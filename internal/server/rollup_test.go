package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/server"
)

// The server keeps each account's metrics rollup up with its event log,
// and the Dashboard's numbers read from it are the log's.
func TestTheMetricsRollupFollowsTheLog(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.RollupTick = 20 * time.Millisecond })
	b := seedBrand(t, ts, "Acme")
	other := seedBrand(t, ts, "Other")
	ctx := context.Background()
	acc := b.account.ID
	visitor := ts.newVisitor(t, acc)
	for i := range 3 {
		c := visitor.open(t)
		for j := range 4 {
			kind, who := parley.SenderConsumer, visitor.consumer.ID
			if j%2 == 1 {
				kind, who = parley.SenderAgent, b.agent.ID
			}
			if _, _, err := ts.Store.AppendMessage(ctx, &parley.Message{AccountID: acc, ConversationID: c.ID, SenderKind: kind, SenderID: who, Type: parley.MessageText, Text: fmt.Sprint("message ", j)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ts.Store.ClaimConversation(ctx, acc, c.ID, b.agent.ID); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if _, err := ts.Store.CloseConversation(ctx, acc, c.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: b.agent.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	last, err := ts.Store.ListEvents(ctx, acc, parley.EventFilter{Newest: true, Limit: 1})
	if err != nil || len(last) != 1 {
		t.Fatalf("newest event: %v", err)
	}
	waitFor(t, func() bool {
		seq, err := ts.Store.RollupCursor(ctx, acc)
		return err == nil && seq >= last[0].Seq
	}, func() string {
		seq, _ := ts.Store.RollupCursor(ctx, acc)
		return fmt.Sprintf("cursor %d of %d", seq, last[0].Seq)
	})

	to := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-24 * time.Hour)
	var got struct {
		Totals analytics.Totals `json:"totals"`
	}
	path := "/api/v1/metrics?" + url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}.Encode()
	if code := ts.login(t, b.supervisor).do("GET", path, nil, &got); code != 200 {
		t.Fatalf("GET metrics: %d", code)
	}
	want, err := analytics.ComputeFromLog(ctx, ts.Store, acc, analytics.Query{From: from, To: to, Bucket: "hour"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got.Totals)
	wantJSON, _ := json.Marshal(want.Totals)
	if string(gotJSON) != string(wantJSON) || got.Totals.Opened != 3 || got.Totals.Closed != 2 || got.Totals.MessagesPerConversation != 4 {
		t.Fatalf("dashboard %s\nlog       %s", gotJSON, wantJSON)
	}
	// The other brand's rollup has its own rows: none of these.
	rows := 0
	if err := ts.Store.ScanRollup(ctx, other.account.ID, from, to, func(*parley.RollupRow) error { rows++; return nil }); err != nil || rows != 0 {
		t.Fatalf("the other brand's rollup has %d rows (%v)", rows, err)
	}
}
