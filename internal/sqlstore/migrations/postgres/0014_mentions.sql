-- Mentions of colleagues in notes (docs/routing.md, Mentions). The note
-- keeps its mentioned user IDs as a JSON array for reading; note_mentions
-- has a row per mentioned user, for each user's "Mentions" list.
ALTER TABLE notes ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
CREATE TABLE note_mentions (
    account_id       TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id),
    note_id          TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id, note_id)
);
