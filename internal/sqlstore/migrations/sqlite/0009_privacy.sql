-- Privacy: erased content and the audit log.
ALTER TABLE conversations ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conversations_expiry ON conversations(account_id, erased, closed_at) WHERE state = 'closed';
ALTER TABLE consumers ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    at          INTEGER NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    ip          TEXT NOT NULL,
    status      INTEGER NOT NULL
);
CREATE INDEX audit_account ON audit_log(account_id, id);
