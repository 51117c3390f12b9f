-- Visitors a brand blocked (docs/routing.md, Blocking a visitor).
ALTER TABLE consumers ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
