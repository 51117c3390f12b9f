-- Keys brands use to sign their visitors' identity tokens (JWT). Kept out
-- of the settings JSON so they never reach public config or event payloads.
ALTER TABLE accounts ADD COLUMN identity_alg TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN identity_key TEXT NOT NULL DEFAULT '';
