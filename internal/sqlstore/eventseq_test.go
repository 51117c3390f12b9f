package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/parleychat/parley"
)

// TestAnEventWrittenBehindTheWritersBackIsNotOverwritten: the writer
// remembers each account's last event seq between batches (db.eventSeqs).
// Should anything else add an event to the file meanwhile, the next
// write's event must not take its seq: the batch that collides fails,
// the writer forgets what it remembered, and the write goes through with
// the seq after it — nothing acknowledged is lost, nothing overwritten.
func TestAnEventWrittenBehindTheWritersBackIsNotOverwritten(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, conv := openConversation(t, db)
	say := func(text string) *parley.Message {
		t.Helper()
		m, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderAgent,
			Type: parley.MessageText, Text: text, ClientID: parley.NewID("c")})
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		return m
	}
	say("first")
	var last int64
	if err := db.read.QueryRow(`SELECT max(seq) FROM events WHERE account_id = ?`, a.ID).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.eventSeqs[a.ID]; !ok {
		t.Fatal("the writer does not remember the account's last event seq; the test cannot see what it looks for")
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`INSERT INTO events (account_id, seq, type, conversation_id, message_seq, data, created_at) VALUES (?, ?, 'note.created', ?, 0, '{"by":"another process"}', 0)`,
		a.ID, last+1, conv.ID); err != nil {
		t.Fatal(err)
	}
	say("second")
	var n int
	var data string
	if err := db.read.QueryRow(`SELECT count(*), max(CASE WHEN seq = ? THEN data END) FROM events WHERE account_id = ? AND seq > ?`, last+1, a.ID, last).Scan(&n, &data); err != nil {
		t.Fatal(err)
	}
	if n != 2 || data != `{"by":"another process"}` {
		t.Fatalf("after the other writer's event (seq %d): %d events, that one now %q", last+1, n, data)
	}
	var seq int64
	if err := db.read.QueryRow(`SELECT seq FROM events WHERE account_id = ? AND type = ? ORDER BY seq DESC LIMIT 1`, a.ID, parley.EventMessageCreated).Scan(&seq); err != nil || seq != last+2 {
		t.Fatalf("the second message's event has seq %d (%v), want %d", seq, err, last+2)
	}
}
