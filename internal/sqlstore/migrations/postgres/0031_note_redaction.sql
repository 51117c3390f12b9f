-- Removed notes (docs/data.md, Removing a message): who removed what the
-- note said, and when, as JSON ('' while it stands).
ALTER TABLE notes ADD COLUMN redacted TEXT NOT NULL DEFAULT '';
