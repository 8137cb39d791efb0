-- The (order, rule) evaluations in scope as of $at with the chosen statuses (and rule), in report
-- order (rule, status, longest first) or, with $by_age, longest first across rules; one page of
-- them ($limit NULL: all), each breach with its slowest hop. Hops are worked out for the page only.
WITH {{sla_judged}},
chosen AS (
    SELECT * FROM judged
    WHERE ($statuses IS NULL OR list_contains($statuses, status))
      AND ($rule IS NULL OR rule = $rule)
    ORDER BY CASE WHEN $by_age THEN NULL ELSE rule END, CASE WHEN $by_age THEN NULL ELSE status END,
             elapsed_seconds DESC, order_id, rule
    LIMIT $limit OFFSET $offset
),
points AS (
    SELECT j.order_id, j.rule, k.state, k.first_at AS reached_at
    FROM chosen j
    JOIN known k ON k.order_id = j.order_id
                AND k.first_at >= j.from_at AND k.first_at <= coalesce(j.to_at, $at)
    WHERE j.status IN ('breached', 'open')
    UNION ALL
    SELECT order_id, rule, '(still waiting)', $at FROM chosen WHERE status = 'open'
),
hops AS (
    SELECT order_id, rule, reached_at,
           lag(state) OVER w || ' -> ' || state AS hop,
           epoch(reached_at) - epoch(lag(reached_at) OVER w) AS hop_seconds
    FROM points
    WINDOW w AS (PARTITION BY order_id, rule ORDER BY reached_at, state)
),
slowest AS (
    -- of two hops that took as long, the earlier (as queries/sla.py's evaluate_order picks)
    SELECT order_id, rule, first(hop ORDER BY hop_seconds DESC, reached_at) AS slowest_hop,
           max(hop_seconds) AS slowest_hop_seconds
    FROM hops WHERE hop IS NOT NULL
    GROUP BY order_id, rule
)
SELECT j.order_id, o.order_name, o.channel, o.store_id, j.rule, j.status,
       j.from_at, j.to_at, j.elapsed_seconds, j.within_s AS within_seconds,
       coalesce(j.to_at < j.from_at, false) AS clock_skew, s.slowest_hop, s.slowest_hop_seconds
FROM chosen j LEFT JOIN slowest s USING (order_id, rule)
JOIN orders o ON o.order_id = j.order_id
ORDER BY CASE WHEN $by_age THEN NULL ELSE j.rule END, CASE WHEN $by_age THEN NULL ELSE j.status END,
         j.elapsed_seconds DESC, j.order_id, j.rule;
