-- A note's client ID (docs/routing.md, Notes): a retried request — an
-- agent's note, a macro's note step — writes the note once. Unique per
-- conversation, like a message's.
ALTER TABLE notes ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX notes_client_id ON notes(conversation_id, client_id) WHERE client_id <> '';
