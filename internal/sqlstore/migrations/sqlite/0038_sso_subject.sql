-- The account at the brand's identity provider a person signed in with
-- first (issuer, a space, the ID token's subject; '' before any): a later
-- sign-in from another account with the same email is refused
-- (docs/security.md, Single sign-on). One provider account links to one
-- person of a brand.
ALTER TABLE users ADD COLUMN sso_subject TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_sso_subject ON users(account_id, sso_subject) WHERE sso_subject <> '';
