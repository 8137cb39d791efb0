-- SLA deadlines missed in each hour (breached or still open), for the breaches sparkline.
WITH {{sla_judged}}, {{kpi_hours}}
SELECT b.n,
       count(j.order_id) FILTER (j.status IN ('breached', 'open')
                                 AND j.from_at + to_seconds(j.within_s) > b.bucket_start
                                 AND j.from_at + to_seconds(j.within_s) <= b.bucket_end) AS missed,
       count(j.order_id) FILTER (j.status = 'open') AS open_now
FROM buckets b LEFT JOIN judged j ON true
GROUP BY b.n
ORDER BY b.n;
