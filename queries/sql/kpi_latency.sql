-- Per hour: p95 inventory lag (movement -> applied, any system) and p95 store sync latency
-- (a POS event's recorded time minus its occurred time), by when the movement or event happened.
WITH {{kpi_hours}},
applied AS (
    SELECT m.occurred_at AS happened_at, epoch(a.occurred_at) - epoch(m.occurred_at) AS seconds
    FROM events m
    JOIN events a ON a.movement_id = m.movement_id AND a.type = 'inventory.applied'
    WHERE m.type = 'inventory.movement' AND m.occurred_at > $at - to_hours($hours)
      AND m.occurred_at <= $at AND coalesce(a.recorded_at, a.occurred_at) <= $at
),
synced AS (
    SELECT occurred_at AS happened_at, epoch(recorded_at) - epoch(occurred_at) AS seconds
    FROM events
    WHERE system = 'pos' AND recorded_at IS NOT NULL
      AND occurred_at > $at - to_hours($hours) AND recorded_at <= $at
)
SELECT b.n,
       (SELECT quantile_cont(seconds, 0.95) FROM applied WHERE happened_at > b.bucket_start AND happened_at <= b.bucket_end) AS lag_p95,
       (SELECT quantile_cont(seconds, 0.95) FROM synced WHERE happened_at > b.bucket_start AND happened_at <= b.bucket_end) AS sync_p95
FROM buckets b
ORDER BY b.n;
