-- Email replies (docs/email.md): agents' replies mailed to visitors who
-- did not read them. One pending email per conversation at most; the
-- cursor is how far each account's event log has been read for them.
CREATE TABLE reply_emails (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    conversation_id  TEXT NOT NULL,
    from_seq         BIGINT NOT NULL,
    state            TEXT NOT NULL,
    due_at           BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    through_seq      BIGINT NOT NULL DEFAULT 0,
    messages         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE UNIQUE INDEX reply_emails_pending ON reply_emails(conversation_id) WHERE state = 'pending';
CREATE INDEX reply_emails_due ON reply_emails(due_at) WHERE state = 'pending';
CREATE INDEX reply_emails_conversation ON reply_emails(account_id, conversation_id, created_at);

CREATE TABLE reply_email_cursors (
    account_id  TEXT PRIMARY KEY REFERENCES accounts(id),
    seq         BIGINT NOT NULL
);
