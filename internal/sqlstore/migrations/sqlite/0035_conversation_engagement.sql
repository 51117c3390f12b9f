-- The proactive engagement a conversation started from (docs/widget.md),
-- '' for the others: the console names it, reports count it.
ALTER TABLE conversations ADD COLUMN engagement TEXT NOT NULL DEFAULT '';

-- The rollup now counts each engagement's teasers and conversations: it
-- reads the event log again from the start (events are never deleted, so
-- nothing is lost; reports read the log meanwhile).
DELETE FROM metrics_rollup;
DELETE FROM metrics_rollup_cursors;
