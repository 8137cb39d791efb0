-- The canonical tables of DESIGN.md. Times are TIMESTAMPTZ (UTC); ids are lower-case hex text.

CREATE SEQUENCE IF NOT EXISTS ingest_seq START 1;

CREATE TABLE IF NOT EXISTS ingest_log (
    ingest_id          BIGINT PRIMARY KEY,
    source             VARCHAR NOT NULL,      -- file path, URL or live source name
    format             VARCHAR NOT NULL,      -- otlp, jaeger, events, rabbitmq-dlq, kafka-dlq, sqs-dlq
    identity           VARCHAR,               -- what makes this source the same file again (size + head hash)
    offset_from        BIGINT,
    offset_to          BIGINT,                -- bytes consumed up to here (for --follow checkpoints)
    lines              BIGINT,
    rows_written       JSON,                  -- {"spans": n, "events": n, "dlq_messages": n}
    rejects            BIGINT NOT NULL DEFAULT 0,
    skipped_duplicates BIGINT NOT NULL DEFAULT 0,
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS rejects (
    ingest_id   BIGINT,
    source      VARCHAR NOT NULL,
    line        BIGINT,                       -- 1-based line (or record) number in the source
    byte_offset BIGINT,
    reason      VARCHAR NOT NULL,
    excerpt     VARCHAR,                      -- first bytes of the record, control characters escaped
    rejected_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS spans (
    trace_id        VARCHAR NOT NULL,
    span_id         VARCHAR NOT NULL,
    parent_span_id  VARCHAR,
    service         VARCHAR,
    name            VARCHAR,
    kind            UTINYINT,                 -- OTLP SpanKind integer
    start_time      TIMESTAMPTZ,
    end_time        TIMESTAMPTZ,
    duration_ms     DOUBLE,
    status_code     UTINYINT,                 -- 0 unset, 1 ok, 2 error
    status_message  VARCHAR,
    scope           VARCHAR,
    attributes      JSON,                     -- flattened {"key": value}
    resource        JSON,                     -- flattened resource attributes
    span_events     JSON,                     -- [{"time", "name", "attributes"}]
    links           JSON,                     -- [{"trace_id", "span_id", "attributes"}]
    order_id        VARCHAR,
    message_id      VARCHAR,
    ingest_id       BIGINT,
    PRIMARY KEY (trace_id, span_id)
);

CREATE TABLE IF NOT EXISTS events (
    event_id          VARCHAR NOT NULL,       -- CloudEvents id
    source            VARCHAR NOT NULL,       -- CloudEvents source; (source, event_id) is the dedup key
    type              VARCHAR NOT NULL,
    state             VARCHAR,                -- canonical state from the policy, NULL when the type maps to none
    system            VARCHAR,                -- pos, ecommerce, erp, wms, payment, middleware
    channel           VARCHAR,                -- pos, ecommerce, bopis, marketplace
    order_id          VARCHAR,
    order_name        VARCHAR,
    customer_email    VARCHAR,
    store_id          VARCHAR,
    sku               VARCHAR,
    quantity          INTEGER,
    amount            DECIMAL(18, 2),
    currency          VARCHAR,
    movement_id       VARCHAR,
    movement_kind     VARCHAR,                -- sale, return, adjustment, transfer
    applied_system    VARCHAR,                -- on inventory.applied: erp, ecommerce, wms
    occurred_at       TIMESTAMPTZ,            -- CloudEvents time: when it happened at the source
    recorded_at       TIMESTAMPTZ,            -- extension recordedtime: when the middleware or target saw it
    trace_id          VARCHAR,
    parent_span_id    VARCHAR,
    traceparent       VARCHAR,                -- kept verbatim, even when malformed
    traceparent_valid BOOLEAN,
    payload           JSON,                   -- the whole CloudEvent as received
    ingest_id         BIGINT,
    PRIMARY KEY (source, event_id)
);

CREATE TABLE IF NOT EXISTS dlq_messages (
    id                   VARCHAR PRIMARY KEY, -- stable: same dead letter seen twice gives the same id
    broker               VARCHAR NOT NULL,    -- rabbitmq, kafka, sqs
    queue                VARCHAR NOT NULL,    -- the dead-letter queue or topic it sits in
    vhost                VARCHAR,
    original_exchange    VARCHAR,
    original_routing_key VARCHAR,
    original_queue       VARCHAR,             -- the queue (or topic) it died in
    reason               VARCHAR,             -- rejected, expired, maxlen, delivery_limit, or the error class
    death_count          INTEGER,
    first_death_at       TIMESTAMPTZ,
    last_death_at        TIMESTAMPTZ,
    message_id           VARCHAR,
    content_type         VARCHAR,
    properties           JSON,
    headers              JSON,
    body                 BLOB,                -- exact bytes, for replay
    body_sha256          VARCHAR,
    error_text           VARCHAR,
    order_id             VARCHAR,
    trace_id             VARCHAR,
    fingerprint          VARCHAR,             -- groups like failures: reason + original queue + normalised error
    status               VARCHAR NOT NULL DEFAULT 'dead',  -- dead, replayed, rerouted, discarded
    history              JSON,                -- the x-death (or equivalent) entries
    seen_at              TIMESTAMPTZ,
    ingest_id            BIGINT
);

CREATE TABLE IF NOT EXISTS actions (
    action_id   VARCHAR PRIMARY KEY,
    "at"        TIMESTAMPTZ NOT NULL,
    who         VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,             -- replay, reroute, edit, discard
    message_ids VARCHAR[],
    target      VARCHAR,
    dry_run     BOOLEAN NOT NULL,
    outcome     VARCHAR NOT NULL,
    detail      JSON,
    trace_id    VARCHAR
);

-- Parquet spool segments already imported (SCALE.md: a crash between commit and delete must not double-import).
CREATE TABLE IF NOT EXISTS ingested_segments (
    name        VARCHAR PRIMARY KEY,
    imported_at TIMESTAMPTZ NOT NULL
);

-- Facts about the store itself, e.g. origin = 'demo' for a store built by `backroom demo`.
CREATE TABLE IF NOT EXISTS store_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
