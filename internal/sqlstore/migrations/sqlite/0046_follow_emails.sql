-- Emails to followers while they are away (docs/email.md, Followers): who
-- does not want them, the last message each person was emailed about, and
-- since when each follower follows (what came before is not news to them;
-- rows from before this migration take everything of the last day).
ALTER TABLE users ADD COLUMN follow_emails_off INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN follows_emailed TEXT NOT NULL DEFAULT '';
ALTER TABLE conversation_followers ADD COLUMN since BIGINT NOT NULL DEFAULT 0;
