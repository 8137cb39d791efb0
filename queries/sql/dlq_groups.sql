-- Dead letters grouped by failure fingerprint: how many, where, since when, how many orders.
SELECT fingerprint                          AS "group",
       arg_min(reason, first_death_at)      AS reason,
       arg_min(original_queue, first_death_at) AS original_queue,
       string_agg(DISTINCT queue, ', ' ORDER BY queue) AS queue,
       count(*)                             AS count,
       count(DISTINCT order_id)             AS orders,
       min(first_death_at)                  AS first_seen,
       max(coalesce(last_death_at, first_death_at)) AS last_seen,
       arg_min(error_text, first_death_at)  AS sample_error
FROM dlq_messages
WHERE ($statuses IS NULL OR list_contains($statuses, status))
GROUP BY fingerprint
ORDER BY count DESC, last_seen DESC, "group"
LIMIT $limit;
