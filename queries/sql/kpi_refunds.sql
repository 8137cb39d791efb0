-- Per hour: refunds issued, and how many of them failed (a dead letter for the order after the
-- refund was issued, or no refund settlement a day later).
WITH {{kpi_hours}},
refunds AS (
    SELECT r.order_id, r.first_at AS issued_at,
           (SELECT min(t.first_at) FROM order_states t
             WHERE t.order_id = r.order_id AND t.state = 'refund_settled' AND t.first_at <= $at) AS settled_at,
           EXISTS (SELECT 1 FROM dlq_messages d WHERE d.order_id = r.order_id
                    AND d.first_death_at >= r.first_at AND d.first_death_at <= $at) AS dead_lettered
    FROM order_states r
    WHERE r.state = 'refund_issued' AND r.first_at > $at - to_hours($hours) AND r.first_at <= $at
)
SELECT b.n,
       count(r.order_id) AS issued,
       count(r.order_id) FILTER (r.dead_lettered OR (r.settled_at IS NULL AND $at - r.issued_at > INTERVAL 1 DAY)) AS failed
FROM buckets b
LEFT JOIN refunds r ON r.issued_at > b.bucket_start AND r.issued_at <= b.bucket_end
GROUP BY b.n
ORDER BY b.n;
