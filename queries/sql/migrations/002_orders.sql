-- Per-order rollups, maintained by the writer after each ingest, so that journeys, SLA and the
-- console read a few rows per order instead of rescanning every event (PERF-LIMITS.md: at 20M
-- events a raw scan is ~1 s, a per-order table ~0.1 s).

CREATE TABLE IF NOT EXISTS order_states (
    order_id          VARCHAR NOT NULL,
    state             VARCHAR NOT NULL,
    first_at          TIMESTAMPTZ NOT NULL,   -- when it was first reached, at the source
    first_recorded_at TIMESTAMPTZ,            -- when the middleware first recorded that
    last_at           TIMESTAMPTZ NOT NULL,
    times             INTEGER NOT NULL,       -- events that reached it (a state reached twice)
    system            VARCHAR,                -- the system that first reported it
    PRIMARY KEY (order_id, state)
);

CREATE TABLE IF NOT EXISTS orders (
    order_id       VARCHAR PRIMARY KEY,
    order_name     VARCHAR,
    channel        VARCHAR,
    customer_email VARCHAR,
    store_id       VARCHAR,
    state          VARCHAR,                   -- the furthest canonical state reached
    state_at       TIMESTAMPTZ,               -- when it was reached
    first_at       TIMESTAMPTZ,
    last_at        TIMESTAMPTZ,
    events         INTEGER NOT NULL,
    amount         DECIMAL(18, 2),
    currency       VARCHAR
);
