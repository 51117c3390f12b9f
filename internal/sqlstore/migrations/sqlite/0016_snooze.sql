-- Snoozed conversations (docs/routing.md, Snooze): hidden from the inbox
-- until snoozed_until, or until anything happens to them after snoozed_at.
ALTER TABLE conversations ADD COLUMN snoozed_until INTEGER;
ALTER TABLE conversations ADD COLUMN snoozed_at INTEGER;
