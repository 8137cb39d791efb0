-- Dead letters, filtered and paged, newest death first.
WITH {{dlq_filtered}}
SELECT id, queue, reason, death_count AS count, order_id, status, fingerprint AS "group",
       error_text, message_id, original_queue, first_death_at, last_death_at
FROM filtered
ORDER BY coalesce(last_death_at, first_death_at) DESC NULLS LAST, id
LIMIT $limit OFFSET $offset;
