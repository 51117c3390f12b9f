-- Browsers a person trusted at a login with their second factor
-- (docs/security.md, Trusted browsers) hold this number; raising it
-- forgets them all.
ALTER TABLE users ADD COLUMN browser_trust INTEGER NOT NULL DEFAULT 0;
