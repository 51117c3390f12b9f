-- The rollup now keeps each conversation's fields, for the report's
-- breakdown by a field's value (docs/data.md): it reads the event log
-- again from the start (events are never deleted, so nothing is lost;
-- reports read the log meanwhile).
DELETE FROM metrics_rollup;
DELETE FROM metrics_rollup_cursors;
