-- Core schema: accounts, users, skills, credentials, consumers,
-- conversations, messages and the per-account event log.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    event_seq   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    email           TEXT NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    skills          TEXT NOT NULL DEFAULT '[]',
    max_concurrent  INTEGER NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    password_hash   TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users(email);
CREATE INDEX users_account ON users(account_id);

CREATE TABLE skills (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX skills_account_name ON skills(account_id, name);

CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE consumers (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    external_id  TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    attributes   TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL
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
    priority                INTEGER NOT NULL DEFAULT 0,
    last_seq                INTEGER NOT NULL DEFAULT 0,
    close_reason            TEXT NOT NULL DEFAULT '',
    closed_by               TEXT NOT NULL DEFAULT '',
    consumer_delivered_seq  INTEGER NOT NULL DEFAULT 0,
    consumer_read_seq       INTEGER NOT NULL DEFAULT 0,
    agent_delivered_seq     INTEGER NOT NULL DEFAULT 0,
    agent_read_seq          INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    assigned_at             INTEGER,
    closed_at               INTEGER
);
CREATE INDEX conversations_account ON conversations(account_id, id);
CREATE INDEX conversations_account_state ON conversations(account_id, state, id);
CREATE INDEX conversations_consumer ON conversations(account_id, consumer_id, id);

CREATE TABLE messages (
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    seq              INTEGER NOT NULL,
    id               TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    sender_kind      TEXT NOT NULL,
    sender_id        TEXT NOT NULL DEFAULT '',
    sender_name      TEXT NOT NULL DEFAULT '',
    client_id        TEXT NOT NULL DEFAULT '',
    type             TEXT NOT NULL,
    text             TEXT NOT NULL DEFAULT '',
    rich             TEXT,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_client_id ON messages(conversation_id, client_id) WHERE client_id <> '';

CREATE TABLE events (
    account_id       TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    type             TEXT NOT NULL,
    conversation_id  TEXT NOT NULL DEFAULT '',
    message_seq      INTEGER NOT NULL DEFAULT 0,
    data             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;
