-- A skill's own business hours, as JSON (docs/routing.md, A skill's own
-- hours); '' follows the brand's.
ALTER TABLE skills ADD COLUMN hours TEXT NOT NULL DEFAULT '';
