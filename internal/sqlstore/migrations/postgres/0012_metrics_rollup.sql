-- The metrics rollup (internal/analytics/rollup.go): what the event log
-- says about each conversation and each hour, read once, so that a report
-- reads a row per conversation instead of all its events. A row's seq is
-- the last event read into it; end_at is far in the future while a
-- conversation can still change.
CREATE TABLE metrics_rollup (
    account_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    item        TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    start_at    BIGINT NOT NULL,
    end_at      BIGINT NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, item)
);
CREATE INDEX metrics_rollup_end ON metrics_rollup(account_id, end_at, kind, item);

-- How far each account's rollup has read its event log.
CREATE TABLE metrics_rollup_cursors (
    account_id  TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL
);
