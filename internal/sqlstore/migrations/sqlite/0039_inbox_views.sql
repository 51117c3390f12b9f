-- A person's saved inbox views (docs/routing.md, Saved views): a JSON
-- list of named filters, theirs alone.
ALTER TABLE users ADD COLUMN views TEXT NOT NULL DEFAULT '[]';
