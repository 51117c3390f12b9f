package sqlstore

import (
	"context"
	"time"

	"github.com/parleychat/parley"
)

// exportPage is how many rows an export reads at a time: each page is its
// own short read, so an export of millions of rows holds neither memory
// nor a long read transaction.
const exportPage = 1000

// ScanEvents calls fn for each event of the account created in [from, to),
// in seq order.
func (db *DB) ScanEvents(ctx context.Context, accountID string, from, to time.Time, fn func(*parley.Event) error) error {
	after, err := db.seqBefore(ctx, accountID, from.Add(-scanSlack))
	if err != nil {
		return err
	}
	for {
		rows, err := db.read.QueryContext(ctx, `SELECT account_id, seq, type, conversation_id, message_seq, data, created_at FROM events
			WHERE account_id = ? AND seq > ? AND created_at >= ? AND created_at < ? ORDER BY seq LIMIT ?`,
			accountID, after, micros(from), micros(to), exportPage)
		if err != nil {
			return err
		}
		var page []*parley.Event
		for rows.Next() {
			var e parley.Event
			var data string
			var created int64
			if err := rows.Scan(&e.AccountID, &e.Seq, &e.Type, &e.ConversationID, &e.MessageSeq, &data, &created); err != nil {
				rows.Close()
				return err
			}
			e.Data, e.CreatedAt = []byte(data), fromMicros(created)
			page = append(page, &e)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// scanConversationPages calls fn for the account's conversations matching
// where (after "account_id = ? AND id > ?"), in ID order, a page at a time.
func (db *DB) scanConversationPages(ctx context.Context, accountID, where string, args []any, fn func(*parley.Conversation) error) error {
	after := ""
	for {
		q := `SELECT ` + conversationColumns + ` FROM conversations WHERE account_id = ? AND id > ? AND ` + where + ` ORDER BY id LIMIT ?`
		rows, err := db.read.QueryContext(ctx, q, append(append([]any{accountID, after}, args...), exportPage)...)
		if err != nil {
			return err
		}
		var page []*parley.Conversation
		for rows.Next() {
			c, err := scanConversation(rows)
			if err != nil {
				rows.Close()
				return err
			}
			page = append(page, c)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// ScanConversations calls fn for each conversation of the account opened
// in [from, to), in ID (creation) order.
func (db *DB) ScanConversations(ctx context.Context, accountID string, from, to time.Time, fn func(*parley.Conversation) error) error {
	return db.scanConversationPages(ctx, accountID, `created_at >= ? AND created_at < ?`, []any{micros(from), micros(to)}, fn)
}

// ScanMessages calls fn for each message of the account written in
// [from, to), conversation by conversation, in seq order. Only
// conversations active in the range are read (a message bumps its
// conversation's updated_at).
func (db *DB) ScanMessages(ctx context.Context, accountID string, from, to time.Time, fn func(*parley.Message) error) error {
	return db.scanConversationPages(ctx, accountID, `updated_at >= ? AND created_at < ?`, []any{micros(from), micros(to)}, func(c *parley.Conversation) error {
		afterSeq := int64(0)
		for {
			rows, err := db.read.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq > ? AND account_id = ?
				AND created_at >= ? AND created_at < ? ORDER BY seq LIMIT ?`, c.ID, afterSeq, accountID, micros(from), micros(to), exportPage)
			if err != nil {
				return err
			}
			var page []*parley.Message
			for rows.Next() {
				m, err := scanMessage(rows)
				if err != nil {
					rows.Close()
					return err
				}
				page = append(page, m)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for _, m := range page {
				if err := fn(m); err != nil {
					return err
				}
			}
			if len(page) < exportPage {
				return nil
			}
			afterSeq = page[len(page)-1].Seq
		}
	})
}

// scanSlack is how far before a range's start a scan of events begins, in
// case the clock was stepped back between two commits: events are in seq
// order, and their times follow it unless the clock moved back.
const scanSlack = time.Hour

// seqBefore finds where a scan of the account's events from t may start:
// a seq such that every event created at or after t comes after it. Events
// are appended with their commit's time, so created_at grows with seq and
// a binary search over seq finds it in a few reads of the primary key,
// instead of a scan from the first event of the account's whole history.
func (db *DB) seqBefore(ctx context.Context, accountID string, t time.Time) (int64, error) {
	var lo, hi int64 // the answer is in [lo, hi]
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE account_id = ?`, accountID).Scan(&hi); err != nil {
		return 0, err
	}
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		var seq, created int64
		err := db.read.QueryRowContext(ctx, `SELECT seq, created_at FROM events WHERE account_id = ? AND seq >= ? ORDER BY seq LIMIT 1`,
			accountID, mid).Scan(&seq, &created)
		if err != nil {
			return 0, err
		}
		if created < micros(t) {
			lo = seq // this one and all before it are older than t
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}
