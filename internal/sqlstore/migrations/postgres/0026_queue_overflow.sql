-- Queue overflow (docs/routing.md, Overflow): a skill may send the
-- conversations that have waited in its queue for overflow_after seconds
-- to another queue (overflow_to: a skill, or '' for the general queue);
-- 0 is never; overflow_unstaffed moves them at once while no one with
-- the skill is online. queue_entered_at is when a conversation entered the queue
-- it is in (queued_at stays the first time it waited: its place in line).
ALTER TABLE skills ADD COLUMN overflow_to TEXT NOT NULL DEFAULT '';
ALTER TABLE skills ADD COLUMN overflow_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE skills ADD COLUMN overflow_unstaffed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN queue_entered_at BIGINT;
