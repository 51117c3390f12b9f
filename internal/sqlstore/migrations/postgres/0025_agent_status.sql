-- Agent status (docs/routing.md, Agent status): each person's spans of
-- online, away (with a reason) and offline, for the supervisors' view and
-- the reports' time online. A span that lasts has no ended_at; a person
-- has at most one.
CREATE TABLE agent_status (
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    cause       TEXT NOT NULL,
    by_user     TEXT NOT NULL DEFAULT '',
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT
);
CREATE UNIQUE INDEX agent_status_current ON agent_status(account_id, user_id) WHERE ended_at IS NULL;
CREATE INDEX agent_status_ended ON agent_status(account_id, ended_at) WHERE ended_at IS NOT NULL;
