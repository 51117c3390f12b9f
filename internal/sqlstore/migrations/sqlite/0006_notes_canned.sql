-- Private notes (staff only) and canned responses.
CREATE TABLE notes (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    author_id        TEXT NOT NULL,
    author_name      TEXT NOT NULL,
    text             TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX notes_conversation ON notes(account_id, conversation_id, id);

CREATE TABLE canned_responses (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    shortcut    TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX canned_shortcut ON canned_responses(account_id, shortcut);
