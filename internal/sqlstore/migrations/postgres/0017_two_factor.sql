-- Two-factor authentication of staff (docs/security.md): the TOTP seed, the
-- seed being set up, the last time step a code was accepted for (no code
-- counts twice), and the hashes of the unused recovery codes (a JSON array).
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';
