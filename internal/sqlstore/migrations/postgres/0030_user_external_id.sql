-- People provisioned over SCIM (docs/security.md): the identity
-- provider's own ID for each, which it looks people up by.
ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
