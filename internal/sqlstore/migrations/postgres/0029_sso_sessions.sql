-- Sessions begun by a single sign-on (docs/security.md): the brand's
-- identity provider checked the person's second factor, so the brand's
-- requirement of Parley's own does not hold them.
ALTER TABLE sessions ADD COLUMN sso INTEGER NOT NULL DEFAULT 0;
