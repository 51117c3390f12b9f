-- Post-conversation satisfaction survey (CSAT): one answer per conversation.
ALTER TABLE conversations ADD COLUMN csat_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN csat_comment TEXT NOT NULL DEFAULT '';
