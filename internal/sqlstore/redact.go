package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/parleychat/parley"
	"github.com/tidwall/gjson"
)

// RedactMessage removes what a message says (see parley.Store).
func (db *DB) RedactMessage(ctx context.Context, accountID, conversationID string, seq int64, r parley.Redaction) (*parley.Message, error) {
	var out *parley.Message
	var files []string
	err := db.do(ctx, func(tx *writeTx) error {
		out, files = nil, nil
		m, err := scanMessage(tx.QueryRowContext(tx.ctx, `SELECT `+messageColumns+` FROM messages WHERE account_id = ? AND conversation_id = ? AND seq = ?`,
			accountID, conversationID, seq))
		if err != nil {
			return notFound(err, "message %d of conversation %q not found", seq, conversationID)
		}
		switch {
		case m.SenderKind == parley.SenderSystem:
			return parley.Errorf(parley.EINVALID, "message %d is Parley's own notice: it says nothing of anyone", seq)
		case m.Redacted != nil:
			return parley.Errorf(parley.ECONFLICT, "message %d was removed already, by %s", seq, m.Redacted.ByName)
		}
		said := m.Text
		if m.Attachment != nil {
			files = append(files, m.Attachment.ID)
			if _, err := tx.ExecContext(tx.ctx, `DELETE FROM attachments WHERE account_id = ? AND id = ?`, accountID, m.Attachment.ID); err != nil {
				return err
			}
		}
		r.At = tx.now
		m.Text, m.HTML, m.Choices, m.Card, m.Attachment, m.Redacted = "", "", nil, nil, nil, &r
		richJSON, err := richOf(m)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE messages SET text = '', rich = ? WHERE account_id = ? AND conversation_id = ? AND seq = ?`,
			richJSON, accountID, conversationID, seq); err != nil {
			return err
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		// The events that carried what it said: its message.created, and
		// a bot.missed that quotes it (the question the bot did not know).
		var touched []any
		rows, err := tx.QueryContext(tx.ctx, `SELECT seq, type, data FROM events WHERE account_id = ? AND conversation_id = ?
			AND ((type = ? AND message_seq = ?) OR type = ?)`, accountID, conversationID, parley.EventMessageCreated, seq, parley.EventBotMissed)
		if err != nil {
			return err
		}
		rewrite := map[int64][]byte{}
		for rows.Next() {
			var evSeq int64
			var typ, evData string
			if err := rows.Scan(&evSeq, &typ, &evData); err != nil {
				rows.Close()
				return err
			}
			switch {
			case typ == parley.EventMessageCreated:
				rewrite[evSeq] = data
			case said != "" && gjson.Get(evData, "question").Str == said:
				var d map[string]any
				if json.Unmarshal([]byte(evData), &d) == nil {
					delete(d, "question")
					d["question_removed"] = true
					b, _ := json.Marshal(d)
					rewrite[evSeq] = b
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for evSeq, b := range rewrite {
			if _, err := tx.ExecContext(tx.ctx, `UPDATE events SET data = ? WHERE account_id = ? AND seq = ?`, string(b), accountID, evSeq); err != nil {
				return err
			}
			touched = append(touched, evSeq)
		}
		if len(touched) > 0 {
			in := `(?` + strings.Repeat(", ?", len(touched)-1) + `)`
			if err := tx.rewritePayloads(`d.event_seq IN `+in, append([]any{accountID}, touched...)...); err != nil {
				return err
			}
		}
		out = m
		return tx.event(accountID, parley.EventMessageRedacted, conversationID, json.RawMessage(data))
	})
	if err != nil {
		return nil, err
	}
	db.removeBlobs(accountID, files)
	return out, nil
}

// RedactNote removes what a note says (see parley.Store).
func (db *DB) RedactNote(ctx context.Context, accountID, conversationID, noteID string, r parley.Redaction) (*parley.Note, error) {
	var out *parley.Note
	err := db.do(ctx, func(tx *writeTx) error {
		out = nil
		n, err := scanNote(tx.QueryRowContext(tx.ctx, `SELECT `+noteColumns+` FROM notes WHERE account_id = ? AND conversation_id = ? AND id = ?`,
			accountID, conversationID, noteID))
		if err != nil {
			return notFound(err, "note %q of conversation %q not found", noteID, conversationID)
		}
		if n.Redacted != nil {
			return parley.Errorf(parley.ECONFLICT, "the note was removed already, by %s", n.Redacted.ByName)
		}
		r.At = tx.now
		n.Text, n.Mentions, n.Redacted = "", nil, &r
		mark, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE notes SET text = '', mentions = '', redacted = ? WHERE account_id = ? AND id = ?`, string(mark), accountID, noteID); err != nil {
			return err
		}
		// Its mentions are withdrawn: no email, no unread count.
		if _, err := tx.ExecContext(tx.ctx, `DELETE FROM note_mentions WHERE account_id = ? AND note_id = ?`, accountID, noteID); err != nil {
			return err
		}
		data, err := json.Marshal(n)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(tx.ctx, `SELECT seq, data FROM events WHERE account_id = ? AND conversation_id = ? AND type = ?`,
			accountID, conversationID, parley.EventNoteCreated)
		if err != nil {
			return err
		}
		var touched []any
		for rows.Next() {
			var seq int64
			var evData string
			if err := rows.Scan(&seq, &evData); err != nil {
				rows.Close()
				return err
			}
			if gjson.Get(evData, "id").Str == noteID {
				touched = append(touched, seq)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, seq := range touched {
			if _, err := tx.ExecContext(tx.ctx, `UPDATE events SET data = ? WHERE account_id = ? AND seq = ?`, string(data), accountID, seq); err != nil {
				return err
			}
		}
		if len(touched) > 0 {
			in := `(?` + strings.Repeat(", ?", len(touched)-1) + `)`
			if err := tx.rewritePayloads(`d.event_seq IN `+in, append([]any{accountID}, touched...)...); err != nil {
				return err
			}
		}
		out = n
		return tx.event(accountID, parley.EventNoteRedacted, conversationID, json.RawMessage(data))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
