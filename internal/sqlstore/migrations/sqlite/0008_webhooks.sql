-- Webhook subscriptions and their durable outbox.
CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    url              TEXT NOT NULL,
    types            TEXT NOT NULL,          -- JSON array; [] is every type
    secret           TEXT NOT NULL,
    active           INTEGER NOT NULL,
    disabled_reason  TEXT NOT NULL DEFAULT '',
    cursor           INTEGER NOT NULL,       -- last event seq put into the outbox
    created_at       INTEGER NOT NULL
);
CREATE INDEX webhooks_account ON webhooks(account_id, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_seq        INTEGER NOT NULL,
    event_type       TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE UNIQUE INDEX deliveries_event ON webhook_deliveries(webhook_id, event_seq);
CREATE INDEX deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX deliveries_order ON webhook_deliveries(webhook_id, conversation_id, state, event_seq);
CREATE INDEX deliveries_log ON webhook_deliveries(account_id, webhook_id, event_seq);
