-- Attachments: the description here, the bytes in files under the data
-- directory (attachments/<account>/<id>).
CREATE TABLE attachments (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    uploader_id      TEXT NOT NULL,
    name             TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size             INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX attachments_conversation ON attachments(account_id, conversation_id);
