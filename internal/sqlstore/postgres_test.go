package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/pgtest"
	"github.com/parleychat/parley/internal/sqlstore"
	"github.com/parleychat/parley/internal/storetest"
)

// openPostgres opens a store on a new PostgreSQL database of its own.
func openPostgres(t *testing.T, bus parley.Bus) parley.Store {
	t.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), pgtest.Database(t), sqlstore.Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformanceOnPostgres(t *testing.T) { storetest.Run(t, openPostgres) }

// TestTwoNodesNeverTakeTheSameDelivery: two stores on one database (two
// nodes' writers) asking for due webhook deliveries at the same time each
// get their own: every delivery is handed out once.
func TestTwoNodesNeverTakeTheSameDelivery(t *testing.T) {
	ctx := context.Background()
	nodes := twoNodes(t)
	a := &parley.Account{Name: "Acme"}
	if err := nodes[0].CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	w := &parley.Webhook{AccountID: a.ID, URL: "https://hooks.example/in", Secret: "whsec_x"}
	if err := nodes[0].CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var ds []*parley.WebhookDelivery
	for i := 0; i < n; i++ { // no conversation: all due at once
		ds = append(ds, &parley.WebhookDelivery{EventSeq: int64(i + 1), EventType: parley.EventAccountUpdated, Payload: []byte(`{}`)})
	}
	if err := nodes[0].EnqueueDeliveries(ctx, w, ds, n); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	for _, node := range nodes {
		for range 4 {
			wg.Go(func() {
				for {
					due, err := node.DueDeliveries(ctx, time.Now(), time.Hour, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(due) == 0 {
						return
					}
					mu.Lock()
					for _, d := range due {
						taken[d.ID]++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(taken) != n {
		t.Fatalf("%d of %d deliveries handed out", len(taken), n)
	}
	for id, times := range taken {
		if times != 1 {
			t.Fatalf("delivery %s handed out %d times", id, times)
		}
	}
}

// TestTwoNodesNeverDoubleAssignOrOverfill: two nodes' writers claiming the
// same queued conversations for the same agents at once: each conversation
// gets one agent, and no agent more than their capacity.
func TestTwoNodesNeverDoubleAssignOrOverfill(t *testing.T) {
	ctx := context.Background()
	nodes := twoNodes(t)
	s := nodes[0]
	a := &parley.Account{Name: "Acme"}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	var agents []*parley.User
	for i := range 2 {
		u := &parley.User{AccountID: a.ID, Email: fmt.Sprintf("agent%d@acme.test", i), Role: parley.RoleAgent, MaxConcurrent: 3, Active: true}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, u)
	}
	var convs []*parley.Conversation
	for range 10 {
		c := &parley.Consumer{AccountID: a.ID}
		if err := s.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
		conv, err := s.OpenConversation(ctx, a.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, conv)
	}
	var wg sync.WaitGroup
	for _, node := range nodes {
		for _, u := range agents {
			wg.Go(func() {
				for _, c := range convs {
					if _, err := node.ClaimConversation(ctx, a.ID, c.ID, u.ID); err != nil && parley.ErrorCode(err) != parley.ECONFLICT {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	assigned, _ := s.ListEvents(ctx, a.ID, parley.EventFilter{Types: []string{parley.EventConversationAssigned}, Limit: 100})
	if len(assigned) != 6 {
		t.Fatalf("%d assignments, want 6 (two agents with room for 3)", len(assigned))
	}
	load := map[string]int{}
	for _, c := range convs {
		got, _ := s.FindConversation(ctx, a.ID, c.ID)
		if got.State == parley.StateAssigned {
			load[got.AssigneeID]++
		}
	}
	if load[agents[0].ID] != 3 || load[agents[1].ID] != 3 {
		t.Fatalf("loads %v, want 3 each", load)
	}
}

// TestTwoNodesShareOneAccountsEventLog: two nodes' writers appending to
// one account at once (each to its own conversations) give the account
// one gap-free event log, and nobody an error.
func TestTwoNodesShareOneAccountsEventLog(t *testing.T) {
	ctx := context.Background()
	nodes := twoNodes(t)
	a := &parley.Account{Name: "Acme"}
	if err := nodes[0].CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		node := nodes[w%2]
		c := &parley.Consumer{AccountID: a.ID}
		if err := node.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
		conv, err := node.OpenConversation(ctx, a.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := range each {
				m := &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer, SenderID: c.ID,
					Type: parley.MessageText, Text: "hi", ClientID: fmt.Sprintf("w%d-%d", w, i)}
				if _, _, err := node.AppendMessage(ctx, m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	events, err := nodes[1].ListEvents(ctx, a.ID, parley.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	// Per writer: consumer.created, conversation.opened, then its messages.
	if len(events) != writers*(2+each) {
		t.Fatalf("%d events, want %d", len(events), writers*(2+each))
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: the log has a gap or a repeat", i+1, e.Seq)
		}
	}
}

// twoNodes opens two stores on one new database: two nodes' writers.
func twoNodes(t *testing.T) []*sqlstore.DB {
	t.Helper()
	url := pgtest.Database(t)
	nodes := make([]*sqlstore.DB, 2)
	for i := range nodes {
		db, err := sqlstore.OpenPostgres(context.Background(), url, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		nodes[i] = db
	}
	return nodes
}

// TestNodesStartingAtOnceMigrateOnce: several nodes starting together on a
// new database all start; the schema is made once.
func TestNodesStartingAtOnceMigrateOnce(t *testing.T) {
	url := pgtest.Database(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			db, err := sqlstore.OpenPostgres(context.Background(), url, sqlstore.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			db.Close()
		})
	}
	wg.Wait()
	db, err := sqlstore.OpenPostgres(context.Background(), url, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Each of the files, recorded once.
	files, err := os.ReadDir("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, "migrations/"+f.Name())
	}
	if applied, err := db.AppliedMigrations(context.Background()); err != nil || !slices.Equal(applied, want) {
		t.Fatalf("migrations: %v %v; want %v", applied, err, want)
	}
}

// TestTheWriterOutlivesItsConnection: PostgreSQL ending the writer's
// connection (a restart, a failover, an administrator) costs nothing but
// a new connection: the next writes succeed.
func TestTheWriterOutlivesItsConnection(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	db, err := sqlstore.OpenPostgres(ctx, url, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := &parley.Account{Name: "A"}
	if err := db.CreateAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	visitor := &parley.Consumer{AccountID: acc.ID}
	if err := db.CreateConsumer(ctx, visitor); err != nil {
		t.Fatal(err)
	}
	conv, err := db.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	text := func(body string) *parley.Message {
		return &parley.Message{AccountID: acc.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer,
			SenderID: visitor.ID, Type: parley.MessageText, Text: body}
	}
	if _, _, err := db.AppendMessage(ctx, text("before")); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var ended int
	if err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&ended); err != nil || ended == 0 {
		t.Fatalf("ended %d connections: %v", ended, err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := db.AppendMessage(ctx, text("after")); err != nil {
				t.Errorf("append after the connection ended: %v", err)
			}
		}()
	}
	wg.Wait()
	if msgs, err := db.ListMessages(ctx, acc.ID, conv.ID, 0, 100); err != nil || len(msgs) != 21 {
		t.Fatalf("%d messages (%v), want 21", len(msgs), err)
	}
}
