-- The contacts list (docs/routing.md, Contacts) walks an account's consumers
-- newest first.
CREATE INDEX consumers_account ON consumers(account_id, id);
