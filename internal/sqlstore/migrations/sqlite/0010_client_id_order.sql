-- Retry detection looks a message up by (client_id, conversation_id). With
-- the client ID first, time-ordered client IDs (what Parley's own clients
-- send) put each new entry at the end of the index instead of in every
-- conversation's own corner of it: a batch of messages from many
-- conversations dirties one or two index pages, not one per conversation.
-- Same uniqueness as before. (docs/performance.md, item 10.)
DROP INDEX messages_client_id;
CREATE UNIQUE INDEX messages_client_id ON messages(client_id, conversation_id) WHERE client_id <> '';
