package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/parleychat/parley"
)

const consumerColumns = `id, account_id, external_id, name, email, attributes, created_at`

// consumerRead is what scanConsumer reads: the columns a consumer is
// created with, then those changed later.
const consumerRead = consumerColumns + `, blocked, merged_into`

// CreateConsumer stores a consumer and writes consumer.created.
func (db *DB) CreateConsumer(ctx context.Context, c *parley.Consumer) error {
	if c.ID == "" {
		c.ID = parley.NewID("con")
	}
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return err
	}
	if c.Attributes == nil {
		attrs = []byte("{}")
	}
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.accountExists(c.AccountID); err != nil {
			return err
		}
		c.CreatedAt = tx.now
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO consumers (`+consumerColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.AccountID, c.ExternalID, c.Name, c.Email, string(attrs), micros(c.CreatedAt))
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "a consumer with external_id %q exists", c.ExternalID)
		}
		if err != nil {
			return err
		}
		return tx.event(c.AccountID, parley.EventConsumerCreated, "", c)
	})
}

// UpdateConsumer replaces name, email and attributes and writes consumer.updated.
func (db *DB) UpdateConsumer(ctx context.Context, c *parley.Consumer) error {
	return db.do(ctx, func(tx *writeTx) error { return updateConsumer(tx, c) })
}

// updateConsumer is UpdateConsumer inside a write transaction.
func updateConsumer(tx *writeTx, c *parley.Consumer) error {
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return err
	}
	if c.Attributes == nil {
		attrs = []byte("{}")
	}
	res, err := tx.ExecContext(tx.ctx, `UPDATE consumers SET name = ?, email = ?, attributes = ? WHERE account_id = ? AND id = ?`,
		c.Name, c.Email, string(attrs), c.AccountID, c.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return parley.Errorf(parley.ENOTFOUND, "consumer %q not found", c.ID)
	}
	return tx.event(c.AccountID, parley.EventConsumerUpdated, "", c)
}

// ChangeConsumer edits a consumer in one transaction (see parley.Store).
func (db *DB) ChangeConsumer(ctx context.Context, accountID, id string, change func(*parley.Consumer) error) (*parley.Consumer, error) {
	var out *parley.Consumer
	err := db.do(ctx, func(tx *writeTx) error {
		c, err := scanConsumer(tx.QueryRowContext(tx.ctx, `SELECT `+consumerRead+` FROM consumers WHERE account_id = ? AND id = ?`+tx.forUpdate(), accountID, id))
		if err != nil {
			return notFound(err, "consumer %q not found", id)
		}
		before, _ := json.Marshal(c)
		if err := change(c); err != nil {
			return err
		}
		c.ID, c.AccountID = id, accountID
		out = c
		if after, _ := json.Marshal(c); string(after) == string(before) {
			return nil
		}
		return updateConsumer(tx, c)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListConsumers lists the account's contacts, newest first.
func (db *DB) ListConsumers(ctx context.Context, accountID string, f parley.ConsumerFilter) ([]*parley.Contact, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	where := []string{`c.account_id = ?`}
	args := []any{accountID}
	if f.Before != "" {
		where = append(where, `c.id < ?`)
		args = append(args, f.Before)
	}
	if f.Query != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Query) + "%"
		search := `(c.name LIKE ? ESCAPE '\' OR c.email LIKE ? ESCAPE '\' OR c.external_id LIKE ? ESCAPE '\')`
		if db.postgres { // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does
			search = strings.ReplaceAll(search, " LIKE ", " ILIKE ")
		}
		where = append(where, search)
		args = append(args, like, like, like)
	}
	args = append(args, f.Limit)
	// Newest first along consumers(account_id, id), keeping those with a
	// conversation (an index probe each); the counts are read only for the
	// rows returned. Most visitors never write: they are not contacts.
	const ofConsumer = `FROM conversations v WHERE v.account_id = c.account_id AND v.consumer_id = c.id`
	rows, err := db.read.QueryContext(ctx, `SELECT `+prefixed("c.", consumerRead)+`, (SELECT COUNT(*) `+ofConsumer+`), (SELECT MAX(v.updated_at) `+ofConsumer+`)
		FROM consumers c WHERE `+strings.Join(where, " AND ")+` AND EXISTS (SELECT 1 `+ofConsumer+`) ORDER BY c.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Contact{}
	for rows.Next() {
		var ct parley.Contact
		var last int64
		c, err := scanConsumer(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &ct.Conversations, &last)...) }))
		if err != nil {
			return nil, err
		}
		ct.Consumer, ct.LastActivityAt = c, fromMicros(last)
		out = append(out, &ct)
	}
	return out, rows.Err()
}

// scanFunc lets a scanner add columns of its own after another's.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// prefixed qualifies each column of a list with a table's alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = alias + p
	}
	return strings.Join(parts, ", ")
}

// BlockConsumer sets the consumer's blocked flag and writes its event.
func (db *DB) BlockConsumer(ctx context.Context, accountID, id string, blocked bool, by string) (*parley.Consumer, error) {
	var out *parley.Consumer
	err := db.do(ctx, func(tx *writeTx) error {
		c, err := scanConsumer(tx.QueryRowContext(tx.ctx, `SELECT `+consumerRead+` FROM consumers WHERE account_id = ? AND id = ?`, accountID, id))
		if err != nil {
			return notFound(err, "consumer %q not found", id)
		}
		out = c
		if c.Blocked == blocked {
			return nil
		}
		flag := 0
		if blocked {
			flag = 1
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE consumers SET blocked = ? WHERE account_id = ? AND id = ?`, flag, accountID, id); err != nil {
			return err
		}
		c.Blocked = blocked
		if blocked {
			return tx.event(accountID, parley.EventConsumerBlocked, "", map[string]string{"consumer_id": id, "blocked_by": by})
		}
		return tx.event(accountID, parley.EventConsumerUnblocked, "", map[string]string{"consumer_id": id, "unblocked_by": by})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MergeConsumer merges from into into (see parley.Store).
func (db *DB) MergeConsumer(ctx context.Context, accountID, fromID, intoID, by string) (*parley.Consumer, error) {
	if fromID == intoID {
		return nil, parley.Errorf(parley.EINVALID, "a contact cannot be merged into itself")
	}
	var out *parley.Consumer
	err := db.do(ctx, func(tx *writeTx) error {
		load := func(id string) (*parley.Consumer, bool, error) {
			var erased bool
			c, err := scanConsumer(scanFunc(func(dest ...any) error {
				return tx.QueryRowContext(tx.ctx, `SELECT `+consumerRead+`, erased FROM consumers WHERE account_id = ? AND id = ?`+tx.forUpdate(), accountID, id).Scan(append(dest, &erased)...)
			}))
			if err != nil {
				return nil, false, notFound(err, "consumer %q not found", id)
			}
			return c, erased, nil
		}
		from, fromErased, err := load(fromID)
		if err != nil {
			return err
		}
		into, intoErased, err := load(intoID)
		if err != nil {
			return err
		}
		switch {
		case from.MergedInto != "" || into.MergedInto != "":
			return parley.Errorf(parley.ECONFLICT, "a contact merged into another cannot be merged again")
		case fromErased || intoErased:
			return parley.Errorf(parley.ECONFLICT, "an erased contact cannot be merged")
		case from.ExternalID != "" && into.ExternalID != "" && from.ExternalID != into.ExternalID:
			return parley.Errorf(parley.ECONFLICT, "the two contacts are two people to your site (external IDs %q and %q)", from.ExternalID, into.ExternalID)
		}
		// The moved conversations, and the visitor's messages in them.
		var moved []string
		rows, err := tx.QueryContext(tx.ctx, `SELECT id FROM conversations WHERE account_id = ? AND consumer_id = ?`, accountID, fromID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			moved = append(moved, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE conversations SET consumer_id = ? WHERE account_id = ? AND consumer_id = ?`,
			`UPDATE consumers SET merged_into = ? WHERE account_id = ? AND merged_into = ?`, // earlier merges into from
		} {
			if _, err := tx.ExecContext(tx.ctx, q, intoID, accountID, fromID); err != nil {
				return err
			}
		}
		for _, id := range moved {
			if _, err := tx.ExecContext(tx.ctx, `UPDATE messages SET sender_id = ? WHERE conversation_id = ? AND sender_kind = 'consumer' AND sender_id = ?`, intoID, id, fromID); err != nil {
				return err
			}
		}
		// into keeps what it has and takes what it lacks.
		if into.Name == "" {
			into.Name = from.Name
		}
		if into.Email == "" {
			into.Email = from.Email
		}
		for k, v := range from.Attributes {
			if _, ok := into.Attributes[k]; !ok {
				if into.Attributes == nil {
					into.Attributes = map[string]string{}
				}
				into.Attributes[k] = v
			}
		}
		external := into.ExternalID
		if external == "" {
			external = from.ExternalID
		}
		into.Blocked = into.Blocked || from.Blocked
		if _, err := tx.ExecContext(tx.ctx, `UPDATE consumers SET name = '', email = '', external_id = '', attributes = '{}', merged_into = ? WHERE account_id = ? AND id = ?`,
			intoID, accountID, fromID); err != nil {
			return err
		}
		attrs, _ := json.Marshal(into.Attributes)
		if into.Attributes == nil {
			attrs = []byte("{}")
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE consumers SET name = ?, email = ?, external_id = ?, attributes = ?, blocked = ? WHERE account_id = ? AND id = ?`,
			into.Name, into.Email, external, string(attrs), into.Blocked, accountID, intoID); err != nil {
			return err
		}
		into.ExternalID = external
		out = into
		return tx.event(accountID, parley.EventConsumerMerged, "", parley.ConsumerMerged{ConsumerID: intoID, MergedID: fromID, MergedBy: by, Conversations: len(moved)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindConsumer returns a consumer of the account.
func (db *DB) FindConsumer(ctx context.Context, accountID, id string) (*parley.Consumer, error) {
	c, err := scanConsumer(db.read.QueryRowContext(ctx, `SELECT `+consumerRead+` FROM consumers WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "consumer %q not found", id)
	}
	return c, nil
}

// ConsumerNames maps the account's named consumers among ids to their names.
func (db *DB) ConsumerNames(ctx context.Context, accountID string, ids []string) (map[string]string, error) {
	names := map[string]string{}
	err := db.queryIn(ctx, `SELECT id, name FROM consumers WHERE account_id = ? AND name <> '' AND id IN `, accountID, ids, func(rows *sql.Rows) error {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		names[id] = name
		return nil
	})
	return names, err
}

// FindConsumerByExternalID returns the account's consumer known to the brand
// by externalID.
func (db *DB) FindConsumerByExternalID(ctx context.Context, accountID, externalID string) (*parley.Consumer, error) {
	if externalID == "" {
		return nil, parley.Errorf(parley.ENOTFOUND, "consumer not found")
	}
	c, err := scanConsumer(db.read.QueryRowContext(ctx, `SELECT `+consumerRead+` FROM consumers WHERE account_id = ? AND external_id = ?`, accountID, externalID))
	if err != nil {
		return nil, notFound(err, "consumer with external_id %q not found", externalID)
	}
	return c, nil
}

func scanConsumer(s scanner) (*parley.Consumer, error) {
	var c parley.Consumer
	var attrs string
	var created int64
	if err := s.Scan(&c.ID, &c.AccountID, &c.ExternalID, &c.Name, &c.Email, &attrs, &created, &c.Blocked, &c.MergedInto); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return nil, err
	}
	if len(c.Attributes) == 0 {
		c.Attributes = nil
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}
