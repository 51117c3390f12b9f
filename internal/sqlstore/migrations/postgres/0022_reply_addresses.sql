-- Email replies coming back (docs/email.md): each conversation mailed
-- gets an address of its own, a random token, that the visitor's answer
-- by email is sent to and that names the conversation.
CREATE TABLE reply_addresses (
    token            TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    conversation_id  TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX reply_addresses_conversation ON reply_addresses(conversation_id);
