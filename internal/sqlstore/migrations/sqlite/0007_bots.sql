-- Bots: one configuration document per account, and where the bot is in
-- each conversation it serves.
CREATE TABLE bots (
    account_id  TEXT PRIMARY KEY REFERENCES accounts(id),
    config      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE bot_sessions (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id),
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    state            TEXT NOT NULL,
    updated_at       INTEGER NOT NULL
);
