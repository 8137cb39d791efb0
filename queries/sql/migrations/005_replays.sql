-- Replays, reroutes, edits and discards per dead letter (issue #6). The fsync'd journal file is the
-- crash record while a replay runs; this table is the queryable history once a run has ended.
CREATE TABLE IF NOT EXISTS replays (
    replay_id    VARCHAR PRIMARY KEY,        -- stable per (dead letter, attempt): the Idempotency-Key
    run_id       VARCHAR NOT NULL,
    dlq_id       VARCHAR NOT NULL,
    action       VARCHAR NOT NULL,           -- replay, reroute, edit, discard
    target       VARCHAR,                    -- credentials never stored
    outcome      VARCHAR NOT NULL,           -- acknowledged, confirmed, refused, unknown
    cause        VARCHAR,
    replay_count INTEGER,
    trace_id     VARCHAR,
    span_id      VARCHAR,
    "at"         TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS dlq_status_notes (
    dlq_id    VARCHAR PRIMARY KEY,           -- why and when a dead letter left 'dead'
    status    VARCHAR NOT NULL,
    reason    VARCHAR,
    "at"      TIMESTAMPTZ NOT NULL
);
