-- Passkeys and security keys of staff (docs/security.md, Passkeys). id is
-- the WebAuthn credential ID (base64url), unique in the installation;
-- credential is internal/auth's record of it (public key, signature
-- counter, flags). users.passkeys counts a user's, so that reading a user
-- says whether a password alone may sign them in.
CREATE TABLE passkeys (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    rp_id        TEXT NOT NULL,
    credential   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user ON passkeys (account_id, user_id, created_at);
ALTER TABLE users ADD COLUMN passkeys INTEGER NOT NULL DEFAULT 0;
