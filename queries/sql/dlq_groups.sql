-- Dead letters grouped by failure fingerprint: how many, where, since when, how many orders.
-- The group's reason, queue and sample error are its first death's; a death without a time
-- (an x-death written by hand, some dumps) counts as the latest, not as none (arg_min skips a
-- NULL key, which left such a group with no reason and no error at all).
SELECT fingerprint                          AS "group",
       arg_min(reason, coalesce(first_death_at, 'infinity'::TIMESTAMPTZ)) FILTER (reason IS NOT NULL) AS reason,
       arg_min(original_queue, coalesce(first_death_at, 'infinity'::TIMESTAMPTZ))
           FILTER (original_queue IS NOT NULL) AS original_queue,
       string_agg(DISTINCT queue, ', ' ORDER BY queue) AS queue,
       count(*)                             AS count,
       count(DISTINCT order_id)             AS orders,
       min(first_death_at)                  AS first_seen,
       max(coalesce(last_death_at, first_death_at)) AS last_seen,
       arg_min(error_text, coalesce(first_death_at, 'infinity'::TIMESTAMPTZ))
           FILTER (error_text IS NOT NULL AND error_text <> '') AS sample_error
FROM dlq_messages
WHERE ($statuses IS NULL OR list_contains($statuses, status))
GROUP BY fingerprint
ORDER BY count DESC, last_seen DESC, "group"
LIMIT $limit;
