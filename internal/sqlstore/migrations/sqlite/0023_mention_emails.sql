-- Mentions by email (docs/email.md, Staff): a person mentioned in a note
-- who has not looked at their mentions gets an email; mentions_emailed is
-- the newest note an email told them of, mention_emails_off their choice.
ALTER TABLE users ADD COLUMN mentions_emailed TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mention_emails_off INTEGER NOT NULL DEFAULT 0;
-- The sweep reads only recent mentions: by note ID, which starts with
-- the time.
CREATE INDEX note_mentions_note ON note_mentions(note_id);
