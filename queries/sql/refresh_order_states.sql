-- Recompute the state rollup of every order named by events of the given ingests.
INSERT OR REPLACE INTO order_states
SELECT order_id,
       state,
       min(occurred_at)                              AS first_at,
       min(coalesce(recorded_at, occurred_at))       AS first_recorded_at,
       max(occurred_at)                              AS last_at,
       count(*)                                      AS times,
       arg_min(system, occurred_at)                  AS system
FROM events
WHERE state IS NOT NULL
  AND occurred_at IS NOT NULL
  AND order_id IN (SELECT DISTINCT order_id FROM events WHERE ingest_id >= $since_ingest)
GROUP BY order_id, state
ORDER BY order_id, state;
