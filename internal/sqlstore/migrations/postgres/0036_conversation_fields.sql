-- The values of the account's conversation fields (docs/routing.md,
-- Conversation fields), a JSON object by key; '' when none.
ALTER TABLE conversations ADD COLUMN fields TEXT NOT NULL DEFAULT '';
