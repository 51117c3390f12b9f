-- People the brand's identity provider deleted over SCIM (docs/security.md):
-- they stay, deactivated, so their conversations keep naming them, but to
-- SCIM they are gone (404), as RFC 7644 asks.
ALTER TABLE users ADD COLUMN deprovisioned INTEGER NOT NULL DEFAULT 0;
