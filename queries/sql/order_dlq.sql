-- The order's dead letters.
SELECT id, queue, reason, death_count AS count, status, fingerprint AS "group", error_text,
       message_id, first_death_at, last_death_at, trace_id
FROM dlq_messages
WHERE order_id = $order_id
ORDER BY first_death_at, id;
