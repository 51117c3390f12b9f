-- The schema as SQLite's migrations 0001–0011 leave it, for PostgreSQL.
-- Same tables, columns and indexes; every later migration comes as a pair,
-- one file in each dialect's folder, under the same name. Times are
-- microseconds since the epoch (BIGINT); flags are 0 or 1, as in SQLite.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    settings      TEXT NOT NULL DEFAULT '{}',
    event_seq     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    identity_alg  TEXT NOT NULL DEFAULT '',
    identity_key  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    email           TEXT NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    skills          TEXT NOT NULL DEFAULT '[]',
    max_concurrent  BIGINT NOT NULL,
    active          BIGINT NOT NULL DEFAULT 1,
    password_hash   TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users(email);
CREATE INDEX users_account ON users(account_id);

CREATE TABLE skills (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX skills_account_name ON skills(account_id, name);

CREATE TABLE sessions (
    token_hash  BYTEA PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL,
    revoked      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE consumers (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    external_id  TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    attributes   TEXT NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL,
    erased       BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX consumers_external ON consumers(account_id, external_id) WHERE external_id <> '';

CREATE TABLE conversations (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts(id),
    consumer_id             TEXT NOT NULL REFERENCES consumers(id),
    channel                 TEXT NOT NULL,
    state                   TEXT NOT NULL,
    skill                   TEXT NOT NULL DEFAULT '',
    assignee_id             TEXT NOT NULL DEFAULT '',
    priority                BIGINT NOT NULL DEFAULT 0,
    last_seq                BIGINT NOT NULL DEFAULT 0,
    close_reason            TEXT NOT NULL DEFAULT '',
    closed_by               TEXT NOT NULL DEFAULT '',
    consumer_delivered_seq  BIGINT NOT NULL DEFAULT 0,
    consumer_read_seq       BIGINT NOT NULL DEFAULT 0,
    agent_delivered_seq     BIGINT NOT NULL DEFAULT 0,
    agent_read_seq          BIGINT NOT NULL DEFAULT 0,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    assigned_at             BIGINT,
    closed_at               BIGINT,
    queued_at               BIGINT,
    csat_score              BIGINT NOT NULL DEFAULT 0,
    csat_comment            TEXT NOT NULL DEFAULT '',
    erased                  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_account ON conversations(account_id, id);
CREATE INDEX conversations_account_state ON conversations(account_id, state, id);
CREATE INDEX conversations_consumer ON conversations(account_id, consumer_id, id);
CREATE INDEX conversations_assignee ON conversations(account_id, assignee_id, state);
CREATE INDEX conversations_expiry ON conversations(account_id, erased, closed_at) WHERE state = 'closed';

CREATE TABLE messages (
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    seq              BIGINT NOT NULL,
    id               TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    sender_kind      TEXT NOT NULL,
    sender_id        TEXT NOT NULL DEFAULT '',
    sender_name      TEXT NOT NULL DEFAULT '',
    client_id        TEXT NOT NULL DEFAULT '',
    type             TEXT NOT NULL,
    text             TEXT NOT NULL DEFAULT '',
    rich             TEXT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages(client_id, conversation_id) WHERE client_id <> '';

CREATE TABLE events (
    account_id       TEXT NOT NULL,
    seq              BIGINT NOT NULL,
    type             TEXT NOT NULL,
    conversation_id  TEXT NOT NULL DEFAULT '',
    message_seq      BIGINT NOT NULL DEFAULT 0,
    data             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (account_id, seq)
);

-- Attachments: unlike SQLite's, the bytes are here too (content), so that
-- every node of a cluster serves them.
CREATE TABLE attachments (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    uploader_id      TEXT NOT NULL,
    name             TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size             BIGINT NOT NULL,
    sha256           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    content          BYTEA
);
CREATE INDEX attachments_conversation ON attachments(account_id, conversation_id);

CREATE TABLE notes (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    author_id        TEXT NOT NULL,
    author_name      TEXT NOT NULL,
    text             TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX notes_conversation ON notes(account_id, conversation_id, id);

CREATE TABLE canned_responses (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    shortcut    TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX canned_shortcut ON canned_responses(account_id, shortcut);

CREATE TABLE bots (
    account_id  TEXT PRIMARY KEY REFERENCES accounts(id),
    config      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE bot_sessions (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id),
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    state            TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    last_trigger     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    url              TEXT NOT NULL,
    types            TEXT NOT NULL,
    secret           TEXT NOT NULL,
    active           BIGINT NOT NULL,
    disabled_reason  TEXT NOT NULL DEFAULT '',
    cursor           BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX webhooks_account ON webhooks(account_id, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_seq        BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_status      BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT
);
CREATE UNIQUE INDEX deliveries_event ON webhook_deliveries(webhook_id, event_seq);
CREATE INDEX deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX deliveries_order ON webhook_deliveries(webhook_id, conversation_id, state, event_seq);
CREATE INDEX deliveries_log ON webhook_deliveries(account_id, webhook_id, event_seq);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    at          BIGINT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    ip          TEXT NOT NULL,
    status      BIGINT NOT NULL
);
CREATE INDEX audit_account ON audit_log(account_id, id);
