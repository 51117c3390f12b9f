-- Routing: when a conversation first waited for a person (the queue's
-- order), and an index to count an agent's load inside a claim.
ALTER TABLE conversations ADD COLUMN queued_at INTEGER;
UPDATE conversations SET queued_at = created_at WHERE state = 'queued';
CREATE INDEX conversations_assignee ON conversations(account_id, assignee_id, state);
