-- The rollup now keeps each conversation's list and checkbox fields, for
-- the report's breakdown by their values, and counts agents' invitations
-- to visitors (docs/data.md): it reads the event log again from the start (events are never deleted, so nothing is lost;
-- reports read the log meanwhile).
DELETE FROM metrics_rollup;
DELETE FROM metrics_rollup_cursors;
