-- Dead letters that arrived in each hour.
WITH {{kpi_hours}}
SELECT b.n, count(d.id) AS arrived
FROM buckets b
LEFT JOIN dlq_messages d
       ON coalesce(d.last_death_at, d.first_death_at) > b.bucket_start
      AND coalesce(d.last_death_at, d.first_death_at) <= b.bucket_end
GROUP BY b.n
ORDER BY b.n;
