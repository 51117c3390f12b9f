-- Rating requests by email (docs/email.md, Ratings by email): an email
-- owed is of a kind — the agent's unread replies, or a request to rate a
-- conversation that closed unrated — and a conversation has at most one
-- pending of each kind.
ALTER TABLE reply_emails ADD COLUMN kind TEXT NOT NULL DEFAULT 'replies';
DROP INDEX reply_emails_pending;
CREATE UNIQUE INDEX reply_emails_pending ON reply_emails(conversation_id, kind) WHERE state = 'pending';
