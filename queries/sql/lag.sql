-- Inventory lag: from each inventory.movement to its inventory.applied by every downstream system,
-- grouped by store, SKU or system ($by). A movement not applied by a system after $stale_seconds
-- is open. Only what had been recorded by $at counts.
WITH movements AS (
    SELECT movement_id,
           arg_min(store_id, occurred_at) AS store_id,
           arg_min(sku, occurred_at)      AS sku,
           min(occurred_at)               AS moved_at
    FROM events
    WHERE type = 'inventory.movement' AND movement_id IS NOT NULL
      AND coalesce(recorded_at, occurred_at) <= $at
    GROUP BY movement_id
),
applied AS (
    SELECT movement_id, applied_system AS system, min(occurred_at) AS applied_at
    FROM events
    WHERE type = 'inventory.applied' AND movement_id IS NOT NULL
      AND coalesce(recorded_at, occurred_at) <= $at
    GROUP BY movement_id, applied_system
),
pairs AS (
    SELECT m.movement_id, m.store_id, m.sku, s.system, m.moved_at, a.applied_at,
           epoch(a.applied_at) - epoch(m.moved_at) AS lag_seconds
    FROM movements m
    CROSS JOIN (SELECT unnest($systems) AS system) s
    LEFT JOIN applied a ON a.movement_id = m.movement_id AND a.system = s.system
    WHERE ($from_ts IS NULL OR m.moved_at >= $from_ts)
      AND ($store_id IS NULL OR m.store_id = $store_id)
)
SELECT CASE $by WHEN 'store' THEN store_id WHEN 'sku' THEN sku ELSE system END AS key,
       system,
       count(*)                                                                  AS movements,
       count(*) FILTER (applied_at IS NULL AND epoch($at) - epoch(moved_at) > $stale_seconds) AS open,
       quantile_cont(lag_seconds, 0.5) FILTER (applied_at IS NOT NULL)          AS p50_seconds,
       quantile_cont(lag_seconds, 0.95) FILTER (applied_at IS NOT NULL)         AS p95_seconds,
       max(lag_seconds) FILTER (applied_at IS NOT NULL)                         AS max_seconds,
       max(epoch($at) - epoch(moved_at)) FILTER (applied_at IS NULL)           AS oldest_open_seconds
FROM pairs
GROUP BY ALL
ORDER BY open DESC, p95_seconds DESC NULLS LAST, key, system
LIMIT $limit;
