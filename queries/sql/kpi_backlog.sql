-- Orders not yet settled (or refund-settled) at the end of each hour, and now by current state.
WITH {{kpi_hours}},
lifetimes AS (
    SELECT o.order_id, o.state, o.first_at,
           min(s.first_at) FILTER (s.state IN ('settled', 'refund_settled')) AS done_at
    FROM orders o LEFT JOIN order_states s USING (order_id)
    WHERE o.first_at <= $at
    GROUP BY o.order_id, o.state, o.first_at
)
SELECT b.n,
       count(l.order_id) FILTER (l.first_at <= b.bucket_end AND (l.done_at IS NULL OR l.done_at > b.bucket_end)) AS open_orders
FROM buckets b CROSS JOIN lifetimes l
GROUP BY b.n
ORDER BY b.n;
