-- Every (order, rule) in scope, with its status and, for breaches, the slowest hop.
WITH {{sla_judged}},
points AS (
    SELECT j.order_id, j.rule, k.state, k.first_at AS reached_at
    FROM judged j
    JOIN known k ON k.order_id = j.order_id
                AND k.first_at >= j.from_at AND k.first_at <= coalesce(j.to_at, $at)
    WHERE j.status IN ('breached', 'open')
    UNION ALL
    SELECT order_id, rule, '(still waiting)', $at FROM judged WHERE status = 'open'
),
hops AS (
    SELECT order_id, rule,
           lag(state) OVER w || ' -> ' || state AS hop,
           epoch(reached_at) - epoch(lag(reached_at) OVER w) AS hop_seconds
    FROM points
    WINDOW w AS (PARTITION BY order_id, rule ORDER BY reached_at, state)
),
slowest AS (
    SELECT order_id, rule, arg_max(hop, hop_seconds) AS slowest_hop, max(hop_seconds) AS slowest_hop_seconds
    FROM hops WHERE hop IS NOT NULL
    GROUP BY order_id, rule
)
SELECT j.order_id, j.order_name, j.channel, j.store_id, j.rule, j.status,
       j.from_at, j.to_at, j.elapsed_seconds, j.within_s AS within_seconds,
       coalesce(j.to_at < j.from_at, false) AS clock_skew, s.slowest_hop, s.slowest_hop_seconds
FROM judged j LEFT JOIN slowest s USING (order_id, rule)
WHERE $statuses IS NULL OR list_contains($statuses, j.status)
ORDER BY j.rule, j.status, j.elapsed_seconds DESC, j.order_id;
