-- People following a conversation (docs/routing.md, Following). The
-- conversation keeps them as a JSON array for reading; conversation_followers
-- has a row per person for their Following list.
ALTER TABLE conversations ADD COLUMN followers TEXT NOT NULL DEFAULT '';
CREATE TABLE conversation_followers (
    account_id       TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    PRIMARY KEY (account_id, user_id, conversation_id)
) WITHOUT ROWID;
