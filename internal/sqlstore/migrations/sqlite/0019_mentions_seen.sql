-- Unread mentions (docs/routing.md, Mentions): the newest note mentioning
-- the user when they last looked; notes after it are new to them.
ALTER TABLE users ADD COLUMN mentions_seen TEXT NOT NULL DEFAULT '';
