-- Which brand's single sign-on an email domain belongs to (docs/security.md):
-- someone the brand does not have yet, typing their email at the login,
-- is sent to the provider of their domain. One brand per domain.
CREATE TABLE sso_domains (
    domain     TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id)
);
CREATE INDEX sso_domains_account ON sso_domains (account_id);
INSERT INTO sso_domains (domain, account_id)
    SELECT j.value, p.account_id FROM sso_providers p, json_each(p.domains) j WHERE true
    ON CONFLICT (domain) DO NOTHING;
