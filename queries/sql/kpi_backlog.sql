-- Orders not yet settled (or refund-settled) at the end of each hour. Each order counts from the
-- first bucket whose end is at or after its start to the last bucket whose end is before it was
-- done: +1 and -1 at those buckets, summed over the hours (not tested against every bucket).
WITH {{kpi_hours}},
done AS (
    -- the done states alone, grouped before the join: half the time of grouping every state
    SELECT order_id, min(first_at) AS done_at FROM order_states
    WHERE state IN ('settled', 'refund_settled') GROUP BY order_id
),
lifetimes AS (
    SELECT o.first_at, d.done_at
    FROM orders o LEFT JOIN done d USING (order_id)
    WHERE o.first_at <= $at
),
ranges AS (
    SELECT greatest(1, $hours - CAST(floor((epoch($at) - epoch(first_at)) / 3600) AS BIGINT)) AS from_n,
           CASE WHEN done_at IS NULL OR done_at > $at THEN $hours
                ELSE $hours - CAST(floor((epoch($at) - epoch(done_at)) / 3600) AS BIGINT) - 1 END AS to_n
    FROM lifetimes
),
steps AS (
    SELECT from_n AS n, count(*) AS step FROM ranges WHERE from_n <= to_n AND from_n <= $hours GROUP BY ALL
    UNION ALL
    SELECT to_n + 1, -count(*) FROM ranges WHERE from_n <= to_n AND from_n <= $hours GROUP BY ALL
)
SELECT b.n, CAST(coalesce(sum(sum(s.step)) OVER (ORDER BY b.n), 0) AS BIGINT) AS open_orders
FROM buckets b LEFT JOIN steps s USING (n)
GROUP BY b.n
ORDER BY b.n;
