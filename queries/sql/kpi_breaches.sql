-- SLA deadlines missed in each hour (breached or still open), for the breaches sparkline. Each
-- missed deadline is put in its hour once (n = $hours - whole hours before $at), not tested
-- against every bucket.
WITH {{sla_judged}}, {{kpi_hours}},
deadlines AS (
    SELECT status, epoch($at) - epoch(from_at + to_seconds(within_s)) AS before_at
    FROM judged
),
missed AS (
    SELECT $hours - CAST(floor(before_at / 3600) AS BIGINT) AS n, count(*) AS missed
    FROM deadlines
    WHERE status IN ('breached', 'open') AND before_at >= 0 AND before_at < $hours * 3600
    GROUP BY ALL
)
SELECT b.n, coalesce(m.missed, 0) AS missed,
       (SELECT count(*) FROM deadlines WHERE status = 'open') AS open_now
FROM buckets b LEFT JOIN missed m USING (n)
ORDER BY b.n;
