-- Single sign-on (docs/security.md): a brand's OpenID Connect provider.
-- client_secret is sealed by internal/auth before it is stored; domains is
-- a JSON array of email domains.
CREATE TABLE sso_providers (
    account_id     TEXT PRIMARY KEY REFERENCES accounts(id),
    issuer         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    client_secret  TEXT NOT NULL,
    required       INTEGER NOT NULL DEFAULT 0,
    provision_role TEXT NOT NULL DEFAULT '',
    domains        TEXT NOT NULL DEFAULT '[]',
    updated_at     BIGINT NOT NULL
);
