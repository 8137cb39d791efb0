-- Per SLA rule: orders in scope, met, breached, open, pending, and p50/p95 of the measured time.
WITH {{sla_judged}}
SELECT rule,
       count(*)                                   AS orders,
       count(*) FILTER (status = 'met')           AS met,
       count(*) FILTER (status = 'breached')      AS breached,
       count(*) FILTER (status = 'open')          AS open,
       count(*) FILTER (status = 'pending')       AS pending,
       quantile_cont(elapsed_seconds, 0.5) FILTER (to_at IS NOT NULL)  AS p50_seconds,
       quantile_cont(elapsed_seconds, 0.95) FILTER (to_at IS NOT NULL) AS p95_seconds
FROM judged
GROUP BY rule
ORDER BY rule;
