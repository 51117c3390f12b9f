package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleychat/parley"
)

const conversationColumns = `id, account_id, consumer_id, channel, state, skill, assignee_id, priority, last_seq,
	close_reason, closed_by, consumer_delivered_seq, consumer_read_seq, agent_delivered_seq, agent_read_seq,
	created_at, updated_at, assigned_at, closed_at, queued_at, labels, csat_score, csat_comment, snoozed_until, snoozed_at, queue_entered_at, engagement, fields, followers`

// OpenConversation starts a conversation and writes conversation.opened.
func (db *DB) OpenConversation(ctx context.Context, accountID string, o parley.ConversationOpen) (*parley.Conversation, error) {
	if o.State != parley.StateBot && o.State != parley.StateQueued {
		return nil, parley.Errorf(parley.EINVALID, "a conversation opens with the bot or in a queue, not %q", o.State)
	}
	if o.AssigneeID != "" && o.State != parley.StateQueued {
		return nil, parley.Errorf(parley.EINVALID, "a conversation opened for a person opens in a queue, not with the bot")
	}
	c := &parley.Conversation{
		ID: parley.NewID("conv"), AccountID: accountID, ConsumerID: o.ConsumerID,
		Channel: o.Channel, State: o.State, Skill: o.Skill, Priority: o.Priority,
	}
	if o.Engagement != nil {
		c.Engagement = o.Engagement.ID
	}
	err := db.do(ctx, func(tx *writeTx) error {
		var one int
		err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM consumers WHERE account_id = ? AND id = ?`, accountID, o.ConsumerID).Scan(&one)
		if err == sql.ErrNoRows {
			return parley.Errorf(parley.ENOTFOUND, "consumer %q not found", o.ConsumerID)
		} else if err != nil {
			return err
		}
		if o.Skill != "" {
			if err := tx.skillsExist(accountID, []string{o.Skill}); err != nil {
				return err
			}
		}
		c.CreatedAt, c.UpdatedAt = tx.now, tx.now
		if c.State == parley.StateQueued {
			now := tx.now
			c.QueuedAt, c.QueueEnteredAt = &now, &now
		}
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO conversations (id, account_id, consumer_id, channel, state, skill, priority, created_at, updated_at, queued_at, queue_entered_at, engagement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, accountID, c.ConsumerID, c.Channel, string(c.State), c.Skill, c.Priority, micros(tx.now), micros(tx.now), nullMicros(c.QueuedAt), nullMicros(c.QueueEnteredAt), c.Engagement); err != nil {
			return err
		}
		if err := tx.event(accountID, parley.EventConversationOpened, c.ID, c); err != nil {
			return err
		}
		// The invitation the visitor answered opens the conversation, so
		// the agent reads what the visitor replied to.
		var m *parley.Message
		if e := o.Engagement; e != nil {
			m = &parley.Message{AccountID: accountID, ConversationID: c.ID, SenderKind: parley.SenderSystem, ClientID: "engagement",
				Type: parley.MessageText, Text: e.Text, Notice: &parley.Notice{Code: parley.NoticeEngagement, Args: map[string]string{"id": e.ID, "name": e.Label()}}}
		} else if inv := o.Invitation; inv != nil {
			m = &parley.Message{AccountID: accountID, ConversationID: c.ID, SenderKind: parley.SenderSystem, ClientID: "invitation",
				Type: parley.MessageText, Text: inv.Text, Notice: &parley.Notice{Code: parley.NoticeInvitation, Args: map[string]string{"id": inv.ID, "name": inv.AgentName}}}
		}
		if m != nil {
			rich, err := richOf(m)
			if err != nil {
				return err
			}
			if _, _, err := db.appendMessage(tx, m, rich); err != nil {
				return err
			}
			c.LastSeq = 1
		}
		if o.AssigneeID == "" {
			return nil
		}
		// Opened by the person who will answer it: theirs in the same
		// transaction, so no router can give it to someone else between.
		assigned, err := tx.assign(accountID, c.ID, "", o.AssigneeID)
		if err != nil {
			return err
		}
		c = assigned
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindConversation returns a conversation of the account.
func (db *DB) FindConversation(ctx context.Context, accountID, id string) (*parley.Conversation, error) {
	c, err := scanConversation(db.read.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "conversation %q not found", id)
	}
	return c, nil
}

// ListConversations returns the account's conversations matching f, newest first.
func (db *DB) ListConversations(ctx context.Context, accountID string, f parley.ConversationFilter) ([]*parley.Conversation, error) {
	where := []string{"account_id = ?"}
	args := []any{accountID}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.State != "" {
		add("state = ?", string(f.State))
	}
	if f.Skill != "" {
		add("skill = ?", f.Skill)
	}
	if f.AssigneeID != "" {
		add("assignee_id = ?", f.AssigneeID)
	}
	if f.ConsumerID != "" {
		add("consumer_id = ?", f.ConsumerID)
	}
	if f.MentionedUserID != "" {
		where = append(where, "id IN (SELECT conversation_id FROM note_mentions WHERE account_id = ? AND user_id = ?)")
		args = append(args, accountID, f.MentionedUserID)
	}
	switch f.Snoozed {
	case "":
	case "only":
		where = append(where, "snoozed_until > ? AND updated_at <= snoozed_at")
		args = append(args, micros(f.Now))
	case "hide":
		where = append(where, "(snoozed_until IS NULL OR snoozed_until <= ? OR updated_at > snoozed_at)")
		args = append(args, micros(f.Now))
	default:
		return nil, parley.Errorf(parley.EINVALID, "snoozed must be only or hide, not %q", f.Snoozed)
	}
	if f.Label != "" {
		where = append(where, "id IN (SELECT conversation_id FROM conversation_labels WHERE account_id = ? AND label = ?)")
		args = append(args, accountID, f.Label)
	}
	if f.FollowedBy != "" {
		where = append(where, "id IN (SELECT conversation_id FROM conversation_followers WHERE account_id = ? AND user_id = ?)")
		args = append(args, accountID, f.FollowedBy)
	}
	if f.After != "" {
		add("id < ?", f.After)
	}
	// A field's value, or NULL: fields is a JSON object of strings, or ''
	// when the conversation has none. Keys are a-z, 0-9 and _.
	fieldValue := `json_extract(NULLIF(fields, ''), '$.' || ?)`
	if db.postgres {
		fieldValue = `(NULLIF(fields, '')::jsonb ->> ?)`
	}
	for _, k := range slices.Sorted(maps.Keys(f.Fields)) {
		where = append(where, fieldValue+" = ?")
		args = append(args, k, f.Fields[k])
	}
	if f.Query != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Query) + "%"
		search := `(consumer_id IN (SELECT id FROM consumers WHERE account_id = ? AND (name LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\' OR external_id LIKE ? ESCAPE '\'))
			OR id IN (SELECT conversation_id FROM messages WHERE account_id = ? AND text LIKE ? ESCAPE '\')`
		args = append(args, accountID, like, like, like, accountID, like)
		if f.SearchFields {
			values := `json_each(NULLIF(fields, ''))`
			if db.postgres {
				values = `jsonb_each_text(NULLIF(fields, '')::jsonb)`
			}
			search += ` OR EXISTS (SELECT 1 FROM ` + values + ` AS f WHERE f.value LIKE ? ESCAPE '\')`
			args = append(args, like)
		}
		search += `)`
		if db.postgres { // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does
			search = strings.ReplaceAll(search, " LIKE ", " ILIKE ")
		}
		where = append(where, search)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	args = append(args, f.Limit)
	order := "id DESC"
	if f.QueueOrder {
		if f.After != "" {
			return nil, parley.Errorf(parley.EINVALID, "the queue's order has no cursor: ask for more at once (limit)")
		}
		order = "priority DESC, COALESCE(queued_at, created_at), id"
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimConversation assigns a queued conversation to a user below capacity.
func (db *DB) ClaimConversation(ctx context.Context, accountID, id, userID string) (*parley.Conversation, error) {
	return db.assign(ctx, accountID, id, "", userID)
}

// ReassignConversation moves a conversation from one user to another.
func (db *DB) ReassignConversation(ctx context.Context, accountID, id, from, to string) (*parley.Conversation, error) {
	if from == to {
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is already %q's", id, to)
	}
	return db.assign(ctx, accountID, id, from, to)
}

// assign gives the conversation to userID if it is queued (from == "") or
// assigned to from, and userID is active with room — all in one transaction.
func (db *DB) assign(ctx context.Context, accountID, id, from, userID string) (*parley.Conversation, error) {
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) (err error) {
		out, err = tx.assign(accountID, id, from, userID)
		return err
	})
	return out, err
}

// assign is the assignment inside a transaction; it writes
// conversation.assigned.
func (tx *writeTx) assign(accountID, id, from, userID string) (*parley.Conversation, error) {
	c, err := tx.findConversation(accountID, id)
	if err != nil {
		return nil, err
	}
	switch {
	case from == "" && c.State == parley.StateAssigned:
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is already taken", id)
	case from == "" && c.State != parley.StateQueued && c.State != parley.StateBot: // an agent may take over from the bot
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is not waiting in a queue (%s)", id, c.State)
	case from != "" && (c.State != parley.StateAssigned || c.AssigneeID != from):
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is no longer %q's", id, from)
	}
	var active bool
	var max int
	err = tx.QueryRowContext(tx.ctx, `SELECT active, max_concurrent FROM users WHERE account_id = ? AND id = ?`+tx.forUpdate(), accountID, userID).Scan(&active, &max)
	if err != nil {
		return nil, notFound(err, "user %q not found", userID)
	}
	if !active {
		return nil, parley.Errorf(parley.ECONFLICT, "user %q is deactivated", userID)
	}
	var load int
	if err := tx.QueryRowContext(tx.ctx, `SELECT count(*) FROM conversations WHERE account_id = ? AND assignee_id = ? AND state = 'assigned'`, accountID, userID).Scan(&load); err != nil {
		return nil, err
	}
	if load >= max {
		return nil, parley.Errorf(parley.ECONFLICT, "user %q is at capacity (%d of %d)", userID, load, max)
	}
	now := tx.now
	c.State, c.AssigneeID, c.AssignedAt, c.UpdatedAt = parley.StateAssigned, userID, &now, now
	if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET state = ?, assignee_id = ?, assigned_at = ?, updated_at = ? WHERE id = ?`,
		string(c.State), userID, micros(now), micros(now), id); err != nil {
		return nil, err
	}
	return c, tx.event(accountID, parley.EventConversationAssigned, id, c)
}

// RequeueConversation puts a conversation back in a queue and writes
// conversation.requeued.
func (db *DB) RequeueConversation(ctx context.Context, accountID, id string, r parley.Requeue) (*parley.Conversation, error) {
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) (err error) {
		out, err = requeueConversation(tx, accountID, id, r)
		return err
	})
	return out, err
}

// requeueConversation is RequeueConversation inside a write transaction.
func requeueConversation(tx *writeTx, accountID, id string, r parley.Requeue) (*parley.Conversation, error) {
	c, err := tx.findConversation(accountID, id)
	if err != nil {
		return nil, err
	}
	if c.State == parley.StateClosed {
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is closed", id)
	}
	if r.ExpectAssignee != "" && c.AssigneeID != r.ExpectAssignee {
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is not assigned to %q", id, r.ExpectAssignee)
	}
	if r.ExpectQueuedIn != "" && (c.State != parley.StateQueued || c.Skill != r.ExpectQueuedIn) {
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is no longer waiting in skill %q", id, r.ExpectQueuedIn)
	}
	if r.ChangeSkill && r.Skill != "" {
		if err := tx.skillsExist(accountID, []string{r.Skill}); err != nil {
			return nil, err
		}
		c.Skill = r.Skill
	} else if r.ChangeSkill {
		c.Skill = ""
	}
	now := tx.now
	if c.QueuedAt == nil {
		c.QueuedAt = &now
	}
	c.State, c.AssigneeID, c.AssignedAt, c.UpdatedAt, c.QueueEnteredAt = parley.StateQueued, "", nil, now, &now
	if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET state = 'queued', assignee_id = '', assigned_at = NULL, skill = ?, queued_at = ?, updated_at = ?, queue_entered_at = ? WHERE id = ?`,
		c.Skill, micros(*c.QueuedAt), micros(now), micros(now), id); err != nil {
		return nil, err
	}
	// The event is the conversation, plus why it went back.
	return c, tx.event(accountID, parley.EventConversationRequeued, id, struct {
		*parley.Conversation
		Reason string `json:"requeue_reason"`
	}{c, r.Reason})
}

// RateConversation records the CSAT answer and writes csat.submitted.
func (db *DB) RateConversation(ctx context.Context, accountID, id string, score int, comment string) error {
	if score < 1 || score > 5 {
		return parley.Errorf(parley.EINVALID, "score must be from 1 to 5")
	}
	return db.do(ctx, func(tx *writeTx) error {
		var state, currentComment string
		var current int
		err := tx.QueryRowContext(tx.ctx, `SELECT state, csat_score, csat_comment FROM conversations WHERE account_id = ? AND id = ?`+tx.forUpdate(), accountID, id).Scan(&state, &current, &currentComment)
		if err != nil {
			return notFound(err, "conversation %q not found", id)
		}
		if parley.ConversationState(state) != parley.StateClosed {
			return parley.Errorf(parley.ECONFLICT, "a conversation is rated once it is closed")
		}
		addsComment := current == score && currentComment == "" && comment != ""
		if current != 0 && !addsComment {
			return parley.Errorf(parley.ECONFLICT, "this conversation was already rated")
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET csat_score = ?, csat_comment = ? WHERE id = ?`, score, comment, id); err != nil {
			return err
		}
		return tx.event(accountID, parley.EventCSATSubmitted, id, map[string]any{"conversation_id": id, "score": score, "comment": comment})
	})
}

// CloseConversation ends the conversation and writes conversation.closed.
func (db *DB) CloseConversation(ctx context.Context, accountID, id string, cl parley.ConversationClose) (*parley.Conversation, error) {
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) (err error) {
		out, err = closeConversation(tx, accountID, id, cl)
		return err
	})
	return out, err
}

// closeConversation is CloseConversation inside a write transaction.
func closeConversation(tx *writeTx, accountID, id string, cl parley.ConversationClose) (*parley.Conversation, error) {
	c, err := tx.findConversation(accountID, id)
	if err != nil {
		return nil, err
	}
	if c.State == parley.StateClosed {
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q is already closed", id)
	}
	if !cl.IdleSince.IsZero() && !c.UpdatedAt.Equal(cl.IdleSince) {
		return nil, parley.Errorf(parley.ECONFLICT, "conversation %q changed since %s", id, cl.IdleSince.Format(time.RFC3339Nano))
	}
	now := tx.now
	c.State, c.CloseReason, c.ClosedBy, c.ClosedAt, c.UpdatedAt = parley.StateClosed, cl.Reason, cl.ClosedBy, &now, now
	if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET state = ?, close_reason = ?, closed_by = ?, closed_at = ?, updated_at = ? WHERE id = ?`,
		string(c.State), cl.Reason, cl.ClosedBy, micros(now), micros(now), id); err != nil {
		return nil, err
	}
	return c, tx.event(accountID, parley.EventConversationClosed, id, c)
}

// SetConversationFields changes the values of the conversation's fields
// ("" clears one) in one transaction, so two people filling in different
// fields at once keep both, and writes conversation.fields_changed when
// any changed.
func (db *DB) SetConversationFields(ctx context.Context, accountID, id string, changes map[string]string, categories []string, by string) (*parley.Conversation, error) {
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) error {
		c, err := tx.findConversation(accountID, id)
		if err != nil {
			return err
		}
		out = c
		fields := maps.Clone(c.Fields)
		if fields == nil {
			fields = map[string]string{}
		}
		var changed []string
		for k, v := range changes {
			if fields[k] == v {
				continue
			}
			changed = append(changed, k)
			if v == "" {
				delete(fields, k)
			} else {
				fields[k] = v
			}
		}
		if len(changed) == 0 {
			return nil
		}
		slices.Sort(changed)
		stored := ""
		if len(fields) > 0 {
			b, _ := json.Marshal(fields)
			stored = string(b)
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET fields = ? WHERE account_id = ? AND id = ?`, stored, accountID, id); err != nil {
			return err
		}
		c.Fields = maps.Clone(fields)
		if len(c.Fields) == 0 {
			c.Fields = nil
		}
		change := parley.FieldChange{Conversation: c, Changed: changed, ChangedBy: by}
		for _, k := range categories {
			if v, ok := fields[k]; ok {
				if change.Categories == nil {
					change.Categories = map[string]string{}
				}
				change.Categories[k] = v
			}
		}
		return tx.event(accountID, parley.EventConversationFields, id, change)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LabelConversation replaces the conversation's labels.
func (db *DB) LabelConversation(ctx context.Context, accountID, id string, labels []string, by string) (*parley.Conversation, error) {
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) error {
		c, err := tx.findConversation(accountID, id)
		if err != nil {
			return err
		}
		change := parley.LabelChange{Conversation: c, Added: []string{}, Removed: []string{}, LabeledBy: by}
		for _, l := range labels {
			if !slices.Contains(c.Labels, l) {
				change.Added = append(change.Added, l)
			}
		}
		for _, l := range c.Labels {
			if !slices.Contains(labels, l) {
				change.Removed = append(change.Removed, l)
			}
		}
		out = c
		if len(change.Added) == 0 && len(change.Removed) == 0 {
			return nil
		}
		stored := ""
		if len(labels) > 0 {
			b, _ := json.Marshal(labels)
			stored = string(b)
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET labels = ? WHERE account_id = ? AND id = ?`, stored, accountID, id); err != nil {
			return err
		}
		for _, l := range change.Removed {
			if _, err := tx.ExecContext(tx.ctx, `DELETE FROM conversation_labels WHERE account_id = ? AND label = ? AND conversation_id = ?`, accountID, l, id); err != nil {
				return err
			}
		}
		for _, l := range change.Added {
			if _, err := tx.ExecContext(tx.ctx, `INSERT INTO conversation_labels (account_id, label, conversation_id) VALUES (?, ?, ?)`, accountID, l, id); err != nil {
				return err
			}
		}
		c.Labels = slices.Clone(labels)
		if len(c.Labels) == 0 {
			c.Labels = nil
		}
		return tx.event(accountID, parley.EventConversationLabeled, id, change)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SnoozeConversation puts an open conversation aside, or back.
func (db *DB) SnoozeConversation(ctx context.Context, accountID, id string, until *time.Time, by string) (*parley.Conversation, error) {
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) error {
		c, err := tx.findConversation(accountID, id)
		if err != nil {
			return err
		}
		if until != nil && c.State != parley.StateAssigned {
			return parley.Errorf(parley.ECONFLICT, "conversation %q is %s: only a conversation someone holds is snoozed (a queued one waits for the next agent)", id, c.State)
		}
		if until == nil {
			c.SnoozedUntil, c.SnoozedAt = nil, nil
		} else {
			u, now := until.UTC().Truncate(time.Microsecond), tx.now
			c.SnoozedUntil, c.SnoozedAt = &u, &now
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET snoozed_until = ?, snoozed_at = ? WHERE account_id = ? AND id = ?`,
			nullMicros(c.SnoozedUntil), nullMicros(c.SnoozedAt), accountID, id); err != nil {
			return err
		}
		out = c
		return tx.event(accountID, parley.EventConversationSnoozed, id, struct {
			*parley.Conversation
			By string `json:"snoozed_by"`
		}{c, by})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetPriority changes an open conversation's priority.
func (db *DB) SetPriority(ctx context.Context, accountID, id string, priority int, by string) (*parley.Conversation, error) {
	if priority < parley.MinPriority || priority > parley.MaxPriority {
		return nil, parley.Errorf(parley.EINVALID, "priority must be from %d to %d", parley.MinPriority, parley.MaxPriority)
	}
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) error {
		c, err := tx.findConversation(accountID, id)
		if err != nil {
			return err
		}
		out = c
		if c.State == parley.StateClosed {
			return parley.Errorf(parley.ECONFLICT, "conversation %q is closed", id)
		}
		if c.Priority == priority {
			return nil
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET priority = ? WHERE account_id = ? AND id = ?`, priority, accountID, id); err != nil {
			return err
		}
		from := c.Priority
		c.Priority = priority
		return tx.event(accountID, parley.EventConversationPriority, id, parley.PriorityChange{Conversation: c, FromPriority: from, ChangedBy: by})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FollowConversation adds or removes a follower (see parley.Store).
func (db *DB) FollowConversation(ctx context.Context, accountID, id, userID string, follow bool, by string) (*parley.Conversation, error) {
	var out *parley.Conversation
	err := db.do(ctx, func(tx *writeTx) error {
		c, err := tx.findConversation(accountID, id)
		if err != nil {
			return err
		}
		out = c
		var active bool
		if err := tx.QueryRowContext(tx.ctx, `SELECT active FROM users WHERE account_id = ? AND id = ?`, accountID, userID).Scan(&active); err != nil {
			return notFound(err, "user %q not found", userID)
		}
		if follow == slices.Contains(c.Followers, userID) {
			return nil
		}
		if follow {
			if c.State == parley.StateClosed {
				return parley.Errorf(parley.ECONFLICT, "conversation %q is closed", id)
			}
			if !active {
				return parley.Errorf(parley.ECONFLICT, "user %q is not active", userID)
			}
			if len(c.Followers) >= parley.MaxFollowers {
				return parley.Errorf(parley.ECONFLICT, "conversation %q has %d followers, the most it may have", id, parley.MaxFollowers)
			}
			c.Followers = append(c.Followers, userID)
			_, err = tx.ExecContext(tx.ctx, `INSERT INTO conversation_followers (account_id, user_id, conversation_id, since) VALUES (?, ?, ?, ?)`, accountID, userID, id, micros(tx.now))
		} else {
			c.Followers = slices.DeleteFunc(c.Followers, func(u string) bool { return u == userID })
			_, err = tx.ExecContext(tx.ctx, `DELETE FROM conversation_followers WHERE account_id = ? AND user_id = ? AND conversation_id = ?`, accountID, userID, id)
		}
		if err != nil {
			return err
		}
		stored := ""
		if len(c.Followers) > 0 {
			b, _ := json.Marshal(c.Followers)
			stored = string(b)
		} else {
			c.Followers = nil
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE conversations SET followers = ? WHERE account_id = ? AND id = ?`, stored, accountID, id); err != nil {
			return err
		}
		return tx.event(accountID, parley.EventConversationFollowed, id, parley.FollowChange{Conversation: c, UserID: userID, Following: follow, By: by})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// IdleConversations lists conversations in a state untouched since before
// whose last message that is not the system's is not the visitor's. It
// reads the account's conversations in that state (the open ones are few)
// rather than keep an index on updated_at, which every message would move.
func (db *DB) IdleConversations(ctx context.Context, accountID string, state parley.ConversationState, before time.Time, limit int) ([]parley.IdleConversation, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT c.id, c.updated_at,
		  COALESCE((SELECT CASE WHEN m.sender_kind = 'system' THEN m.client_id ELSE '' END FROM messages m
		      WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1), ''),
		  c.snoozed_until, c.snoozed_at
		FROM conversations c
		WHERE c.account_id = ? AND c.state = ? AND c.updated_at < ?
		  AND COALESCE((SELECT m.sender_kind FROM messages m WHERE m.conversation_id = c.id AND m.sender_kind <> 'system'
		      ORDER BY m.seq DESC LIMIT 1), '') <> 'consumer'
		ORDER BY c.updated_at, c.id LIMIT ?`,
		accountID, string(state), micros(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []parley.IdleConversation{}
	for rows.Next() {
		var ic parley.IdleConversation
		var updated int64
		var snoozedUntil, snoozedAt sql.NullInt64
		if err := rows.Scan(&ic.ID, &updated, &ic.LastSystemClientID, &snoozedUntil, &snoozedAt); err != nil {
			return nil, err
		}
		ic.UpdatedAt = fromMicros(updated)
		ic.SnoozedUntil, ic.SnoozedAt = fromNullMicros(snoozedUntil), fromNullMicros(snoozedAt)
		out = append(out, ic)
	}
	return out, rows.Err()
}

// UpdateReceipt raises a delivered or read seq and writes receipt.updated.
func (db *DB) UpdateReceipt(ctx context.Context, accountID string, r parley.Receipt) (bool, error) {
	op, err := db.receiptOp(ctx, accountID, r)
	if err != nil {
		return false, err
	}
	err = db.queue(ctx, op)
	return op.pipe.(*pendingReceipt).changed, err
}

// receiptOp is the writer's op for UpdateReceipt.
func (db *DB) receiptOp(ctx context.Context, accountID string, r parley.Receipt) (*writeOp, error) {
	var column string
	switch {
	case r.Side == parley.SideConsumer && r.Kind == parley.ReceiptDelivered:
		column = "consumer_delivered_seq"
	case r.Side == parley.SideConsumer && r.Kind == parley.ReceiptRead:
		column = "consumer_read_seq"
	case r.Side == parley.SideAgent && r.Kind == parley.ReceiptDelivered:
		column = "agent_delivered_seq"
	case r.Side == parley.SideAgent && r.Kind == parley.ReceiptRead:
		column = "agent_read_seq"
	default:
		return nil, parley.Errorf(parley.EINVALID, "unknown receipt %s/%s", r.Side, r.Kind)
	}
	// One statement when the receipt moves (the usual case), pipelined
	// with a batch's messages on PostgreSQL; only when it does not is the
	// conversation read, to say why.
	p := &pendingReceipt{accountID: accountID, r: r, column: column}
	op := &writeOp{ctx: ctx, done: make(chan error, 1), besideAppends: true, pipe: p}
	op.fn = func(tx *writeTx) error {
		p.changed = false
		res, err := tx.ExecContext(tx.ctx, p.sql(), p.args()...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return p.finish(tx)
		}
		var lastSeq int64
		var consumerID string
		err = tx.QueryRowContext(tx.ctx, `SELECT last_seq, consumer_id FROM conversations WHERE account_id = ? AND id = ?`, accountID, r.ConversationID).Scan(&lastSeq, &consumerID)
		if err != nil || (r.ConsumerID != "" && consumerID != r.ConsumerID) {
			return notFound(orNoRows(err), "conversation %q not found", r.ConversationID)
		}
		if r.Seq > lastSeq {
			return parley.Errorf(parley.EINVALID, "seq %d is beyond the last message (%d)", r.Seq, lastSeq)
		}
		return nil // already there
	}
	return op, nil
}

// pendingReceipt is an UpdateReceipt waiting for the writer.
type pendingReceipt struct {
	accountID string
	r         parley.Receipt
	column    string
	changed   bool
}

// sql moves the receipt if the conversation is the account's (and the
// visitor's, for theirs) and the seq is higher than the receipt's and not
// beyond the last message.
func (p *pendingReceipt) sql() string {
	return `UPDATE conversations SET ` + p.column + ` = ?
		WHERE account_id = ? AND id = ? AND (? = '' OR consumer_id = ?) AND ` + p.column + ` < ? AND last_seq >= ?`
}

func (p *pendingReceipt) args() []any {
	return []any{p.r.Seq, p.accountID, p.r.ConversationID, p.r.ConsumerID, p.r.ConsumerID, p.r.Seq, p.r.Seq}
}

func (p *pendingReceipt) queue(tx *writeTx, b *pgx.Batch) {
	b.Queue(tx.db.write.sql(p.sql()), p.args()...)
}

func (p *pendingReceipt) read(r pgx.BatchResults) (bool, error) {
	tag, err := r.Exec()
	return err == nil && tag.RowsAffected() == 1, err
}

func (p *pendingReceipt) finish(tx *writeTx) error {
	p.changed = true
	return tx.event(p.accountID, parley.EventReceiptUpdated, p.r.ConversationID, p.r)
}

// orNoRows is err, or sql.ErrNoRows when err is nil: a row was found but
// is not the caller's, which it reports as not found.
func orNoRows(err error) error {
	if err == nil {
		return sql.ErrNoRows
	}
	return err
}

func (tx *writeTx) findConversation(accountID, id string) (*parley.Conversation, error) {
	c, err := scanConversation(tx.QueryRowContext(tx.ctx, `SELECT `+conversationColumns+` FROM conversations WHERE account_id = ? AND id = ?`+tx.forUpdate(), accountID, id))
	if err != nil {
		return nil, notFound(err, "conversation %q not found", id)
	}
	return c, nil
}

func scanConversation(s scanner) (*parley.Conversation, error) {
	var c parley.Conversation
	var state string
	var created, updated int64
	var assigned, closed, queued, snoozedUntil, snoozedAt, entered sql.NullInt64
	var labels, fields, followers string
	if err := s.Scan(&c.ID, &c.AccountID, &c.ConsumerID, &c.Channel, &state, &c.Skill, &c.AssigneeID, &c.Priority, &c.LastSeq,
		&c.CloseReason, &c.ClosedBy, &c.ConsumerDeliveredSeq, &c.ConsumerReadSeq, &c.AgentDeliveredSeq, &c.AgentReadSeq,
		&created, &updated, &assigned, &closed, &queued, &labels, &c.CSATScore, &c.CSATComment, &snoozedUntil, &snoozedAt, &entered, &c.Engagement, &fields, &followers); err != nil {
		return nil, err
	}
	if followers != "" {
		if err := json.Unmarshal([]byte(followers), &c.Followers); err != nil {
			return nil, fmt.Errorf("conversation %s: followers: %w", c.ID, err)
		}
	}
	if labels != "" {
		if err := json.Unmarshal([]byte(labels), &c.Labels); err != nil {
			return nil, fmt.Errorf("conversation %s: labels: %w", c.ID, err)
		}
	}
	if fields != "" {
		if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
			return nil, fmt.Errorf("conversation %s: fields: %w", c.ID, err)
		}
	}
	c.State = parley.ConversationState(state)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.AssignedAt, c.ClosedAt, c.QueuedAt = fromNullMicros(assigned), fromNullMicros(closed), fromNullMicros(queued)
	c.SnoozedUntil, c.SnoozedAt = fromNullMicros(snoozedUntil), fromNullMicros(snoozedAt)
	if c.State == parley.StateQueued {
		c.QueueEnteredAt = fromNullMicros(entered)
		if c.QueueEnteredAt == nil {
			c.QueueEnteredAt = c.QueuedAt // queued before the column was added
		}
	}
	return &c, nil
}
