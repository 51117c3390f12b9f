package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleychat/parley"
)

const messageColumns = `conversation_id, seq, id, account_id, sender_kind, sender_id, sender_name, client_id, type, text, rich, created_at`

// rich is how choices, cards, attachments, a bot's rendered HTML and a
// system message's notice are stored: one JSON column.
type rich struct {
	HTML       string             `json:"html,omitempty"`
	Choices    []parley.Choice    `json:"choices,omitempty"`
	Card       *parley.Card       `json:"card,omitempty"`
	Attachment *parley.Attachment `json:"attachment,omitempty"`
	Notice     *parley.Notice     `json:"notice,omitempty"`
	Redacted   *parley.Redaction  `json:"redacted,omitempty"`
}

// AppendMessage stores m with the conversation's next seq and writes
// message.created, or returns the original when m.ClientID was seen before.
func (db *DB) AppendMessage(ctx context.Context, m *parley.Message) (*parley.Message, bool, error) {
	op, err := db.appendOp(ctx, m)
	if err != nil {
		return nil, false, err
	}
	if err := db.queue(ctx, op); err != nil {
		return nil, false, err
	}
	a := op.pipe.(*pendingAppend)
	return a.stored, a.duplicate, nil
}

// appendOp is the writer's op for AppendMessage.
func (db *DB) appendOp(ctx context.Context, m *parley.Message) (*writeOp, error) {
	richJSON, err := richOf(m) // encoded here, off the writer goroutine
	if err != nil {
		return nil, err
	}
	a := &pendingAppend{m: m, rich: richJSON}
	op := &writeOp{ctx: ctx, done: make(chan error, 1), besideAppends: true, pipe: a}
	op.fn = func(tx *writeTx) (err error) {
		a.stored, a.duplicate, err = db.appendMessage(tx, m, richJSON)
		return err
	}
	return op, nil
}

// pendingAppend is an AppendMessage waiting for the writer; on PostgreSQL
// it is pipelined (pipeline.go).
type pendingAppend struct {
	m         *parley.Message
	rich      any
	stored    *parley.Message
	duplicate bool
}

// appendMessageSQL stores a message on PostgreSQL in one statement: the
// conversation's next seq, if it is open, (for a visitor) theirs, and the
// client ID is new in it (the row stays locked to the commit), and the
// message with it. No row back: a resend, or a conversation that takes
// none.
const appendMessageSQL = `WITH c AS (UPDATE conversations c SET last_seq = c.last_seq + 1, updated_at = ?
		WHERE c.account_id = ? AND c.id = ? AND c.state <> 'closed' AND (? = '' OR c.consumer_id = ?)
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.client_id = ? AND m.conversation_id = c.id AND m.client_id <> '')
		RETURNING c.last_seq)
	INSERT INTO messages (` + messageColumns + `) SELECT ?, c.last_seq, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM c RETURNING seq`

// appendArgs are appendMessageSQL's arguments for a message.
func appendArgs(msg *parley.Message, richJSON any, owner string, now time.Time) []any {
	return []any{micros(now), msg.AccountID, msg.ConversationID, owner, owner, msg.ClientID,
		msg.ConversationID, msg.ID, msg.AccountID, string(msg.SenderKind), msg.SenderID, msg.SenderName, msg.ClientID, string(msg.Type), msg.Text, richJSON, micros(msg.CreatedAt)}
}

func (a *pendingAppend) queue(tx *writeTx, b *pgx.Batch) {
	owner := ""
	if a.m.SenderKind == parley.SenderConsumer {
		owner = a.m.SenderID
	}
	msg := *a.m
	msg.ID = parley.NewID("msg")
	msg.CreatedAt = tx.now
	a.stored = &msg
	b.Queue(tx.db.write.sql(appendMessageSQL), appendArgs(&msg, a.rich, owner, tx.now)...)
}

func (a *pendingAppend) read(r pgx.BatchResults) (bool, error) {
	err := r.QueryRow().Scan(&a.stored.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		a.stored = nil // op.fn finds out why
		return false, nil
	}
	return err == nil, err
}

func (a *pendingAppend) finish(tx *writeTx) error {
	msg := a.stored
	return tx.eventSeq(msg.AccountID, parley.EventMessageCreated, msg.ConversationID, msg.Seq, msg)
}

// richOf is the rich column of a message: nil, or its choices, card,
// attachment, HTML and notice as JSON.
func richOf(m *parley.Message) (any, error) {
	if len(m.Choices) == 0 && m.Card == nil && m.Attachment == nil && m.HTML == "" && m.Notice == nil && m.Redacted == nil {
		return nil, nil
	}
	b, err := json.Marshal(rich{HTML: m.HTML, Choices: m.Choices, Card: m.Card, Attachment: m.Attachment, Notice: m.Notice, Redacted: m.Redacted})
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// appendMessage is AppendMessage inside a write transaction.
func (db *DB) appendMessage(tx *writeTx, m *parley.Message, richJSON any) (stored *parley.Message, duplicate bool, err error) {
	owner := "" // a visitor writes only into their own conversations
	if m.SenderKind == parley.SenderConsumer {
		owner = m.SenderID
	}
	// original finds a retry's first copy (same sender, same client ID),
	// or nil.
	original := func() (*parley.Message, error) {
		if m.ClientID == "" {
			return nil, nil
		}
		orig, err := scanMessage(tx.stmt(db.stmts.messageByClient).QueryRowContext(tx.ctx, m.ConversationID, m.ClientID, m.AccountID, string(m.SenderKind), m.SenderID))
		if err == sql.ErrNoRows {
			return nil, nil
		}
		return orig, err
	}
	if db.postgres {
		return db.appendMessagePostgres(tx, m, richJSON, owner, original)
	}
	conv, err := db.appendTarget(tx, m.AccountID, m.ConversationID, owner)
	if err == sql.ErrNoRows {
		// A retry gets its original back even once the conversation is closed.
		if orig, err := original(); orig != nil || err != nil {
			return orig, orig != nil, err
		}
		return nil, false, db.whyNoAppend(tx, m.AccountID, m.ConversationID, owner)
	}
	if err != nil {
		return nil, false, err
	}
	msg := *m
	msg.ID = parley.NewID("msg")
	msg.Seq = conv.lastSeq + 1
	msg.CreatedAt = tx.now
	n, err := tx.exec(qInsertMessage, msg.ConversationID, msg.Seq, msg.ID, msg.AccountID,
		string(msg.SenderKind), msg.SenderID, msg.SenderName, msg.ClientID, string(msg.Type), msg.Text, richJSON, micros(msg.CreatedAt))
	if err != nil {
		return nil, false, err
	}
	if n == 0 {
		// The client ID is taken: a retry, found without a lookup on
		// every first send. The conversation has not been touched: the
		// message goes in before its seq and activity time are written.
		if orig, err := original(); orig != nil || err != nil {
			return orig, orig != nil, err
		}
		return nil, false, parley.Errorf(parley.ECONFLICT, "client_id %q is already used in conversation %q by another sender", m.ClientID, m.ConversationID)
	}
	if _, err := tx.exec(qSetConvSeq, msg.Seq, micros(tx.now), conv.rowid); err != nil {
		return nil, false, err
	}
	conv.lastSeq = msg.Seq
	return &msg, false, tx.eventSeq(msg.AccountID, parley.EventMessageCreated, msg.ConversationID, msg.Seq, json.RawMessage(msg.AppendJSON(make([]byte, 0, msg.JSONSize()))))
}

// appendMessagePostgres is appendMessage's core on PostgreSQL, in one
// round trip (writeStmts.appendMessage); its event is written with the
// batch's others (flushEvents). Only when it stores nothing does it look
// for why: a resend's original, or a conversation closed, missing or
// another visitor's.
func (db *DB) appendMessagePostgres(tx *writeTx, m *parley.Message, richJSON any, owner string, original func() (*parley.Message, error)) (*parley.Message, bool, error) {
	msg := *m
	msg.ID = parley.NewID("msg")
	msg.CreatedAt = tx.now
	err := tx.stmt(db.stmts.appendMessage).QueryRowContext(tx.ctx, appendArgs(&msg, richJSON, owner, tx.now)...).Scan(&msg.Seq)
	if err == sql.ErrNoRows {
		if orig, err := original(); orig != nil || err != nil {
			return orig, orig != nil, err
		}
		if m.ClientID != "" {
			var one int
			err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM messages WHERE client_id = ? AND conversation_id = ?`, m.ClientID, m.ConversationID).Scan(&one)
			if err == nil {
				return nil, false, parley.Errorf(parley.ECONFLICT, "client_id %q is already used in conversation %q by another sender", m.ClientID, m.ConversationID)
			}
		}
		return nil, false, db.whyNoAppend(tx, m.AccountID, m.ConversationID, owner)
	}
	if err != nil {
		return nil, false, err
	}
	return &msg, false, tx.eventSeq(msg.AccountID, parley.EventMessageCreated, msg.ConversationID, msg.Seq, json.RawMessage(msg.AppendJSON(make([]byte, 0, msg.JSONSize()))))
}

// appendTarget is the conversation a message goes into if it is open and
// (for a visitor, owner ≠ "") the owner's: from the writer's cache, or
// read and cached; sql.ErrNoRows when there is none.
func (db *DB) appendTarget(tx *writeTx, accountID, conversationID, owner string) (*appendConv, error) {
	if c := db.appending.get(conversationID); c != nil && c.accountID == accountID && (owner == "" || owner == c.consumerID) {
		return c, nil
	}
	c := &appendConv{accountID: accountID}
	if err := tx.stmt(db.stmts.convToAppend).QueryRowContext(tx.ctx, accountID, conversationID, owner, owner).Scan(&c.lastSeq, &c.rowid, &c.consumerID); err != nil {
		return nil, err
	}
	if !db.postgres { // another node may change the row between two appends
		db.appending.put(conversationID, c)
	}
	return c, nil
}

// whyNoAppend explains why a conversation took no message: it does not
// exist in the account, it is another visitor's (which looks the same), or
// it is closed.
func (db *DB) whyNoAppend(tx *writeTx, accountID, conversationID, owner string) error {
	var state, consumerID string
	err := tx.stmt(db.stmts.convForAppend).QueryRowContext(tx.ctx, accountID, conversationID).Scan(&state, &consumerID)
	switch {
	case err != nil:
		return notFound(err, "conversation %q not found", conversationID)
	case owner != "" && owner != consumerID:
		return parley.Errorf(parley.ENOTFOUND, "conversation %q not found", conversationID)
	case parley.ConversationState(state) == parley.StateClosed:
		return parley.Errorf(parley.ECONFLICT, "conversation %q is closed", conversationID)
	}
	return fmt.Errorf("conversation %q took no message (state %s)", conversationID, state)
}

// ListMessages returns up to limit messages with seq > afterSeq, in order.
func (db *DB) ListMessages(ctx context.Context, accountID, conversationID string, afterSeq int64, limit int) ([]*parley.Message, error) {
	if limit <= 0 {
		limit = 100
	}
	var one int
	err := db.read.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE account_id = ? AND id = ?`, accountID, conversationID).Scan(&one)
	if err != nil {
		return nil, notFound(err, "conversation %q not found", conversationID)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq > ? AND account_id = ? ORDER BY seq LIMIT ?`,
		conversationID, afterSeq, accountID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// LastMessages maps the account's conversations among conversationIDs to
// their last message.
func (db *DB) LastMessages(ctx context.Context, accountID string, conversationIDs []string) (map[string]*parley.Message, error) {
	last := map[string]*parley.Message{}
	err := db.queryIn(ctx, `SELECT `+qualified("m", messageColumns)+` FROM conversations c JOIN messages m ON m.conversation_id = c.id
		AND m.seq = (SELECT max(l.seq) FROM messages l WHERE l.conversation_id = c.id AND l.sender_kind <> 'system')
		WHERE c.account_id = ? AND m.account_id = c.account_id AND c.id IN `, accountID, conversationIDs, func(rows *sql.Rows) error {
		m, err := scanMessage(rows)
		if err == nil {
			last[m.ConversationID] = m
		}
		return err
	})
	return last, err
}

// UnansweredByBot lists the visitor messages the bot still owes an
// answer: each the last of a conversation in state bot.
func (db *DB) UnansweredByBot(ctx context.Context, accountID string, before time.Time, after string, limit int) ([]*parley.Message, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+qualified("m", messageColumns)+` FROM conversations c JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
		WHERE c.account_id = ? AND c.state = 'bot' AND c.id > ? AND m.account_id = c.account_id AND m.sender_kind = 'consumer' AND m.created_at < ?
		ORDER BY c.id LIMIT ?`, accountID, after, micros(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*parley.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// qualified prefixes each of a column list's names with a table alias.
func qualified(alias, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = alias + "." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}

func scanMessage(s scanner) (*parley.Message, error) {
	var m parley.Message
	var sender, typ string
	var richJSON sql.NullString
	var created int64
	if err := s.Scan(&m.ConversationID, &m.Seq, &m.ID, &m.AccountID, &sender, &m.SenderID, &m.SenderName, &m.ClientID, &typ, &m.Text, &richJSON, &created); err != nil {
		return nil, err
	}
	m.SenderKind, m.Type = parley.SenderKind(sender), parley.MessageType(typ)
	if richJSON.Valid {
		var r rich
		if err := json.Unmarshal([]byte(richJSON.String), &r); err != nil {
			return nil, err
		}
		m.HTML, m.Choices, m.Card, m.Attachment, m.Notice, m.Redacted = r.HTML, r.Choices, r.Card, r.Attachment, r.Notice, r.Redacted
	}
	m.CreatedAt = fromMicros(created)
	return &m, nil
}
