-- Signing out at the identity provider (docs/security.md, Single sign-on):
-- a session begun with a single sign-on keeps the provider's ID token
-- (sealed) to hand back at logout, and a brand turns it on.
ALTER TABLE sessions ADD COLUMN id_token TEXT NOT NULL DEFAULT '';
ALTER TABLE sso_providers ADD COLUMN sign_out INTEGER NOT NULL DEFAULT 0;
