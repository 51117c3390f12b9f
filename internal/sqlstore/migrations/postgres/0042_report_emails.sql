-- A person who does not want the brand's weekly report (docs/email.md,
-- Weekly report).
ALTER TABLE users ADD COLUMN report_emails_off BIGINT NOT NULL DEFAULT 0;
