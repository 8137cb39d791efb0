-- One dead letter, whole, by its id or its message id.
SELECT id, broker, queue, vhost, original_exchange, original_routing_key, original_queue, reason,
       death_count AS count, first_death_at, last_death_at, message_id, content_type,
       properties, headers, body, body_sha256, error_text, order_id, trace_id,
       fingerprint AS "group", status, history, seen_at
FROM dlq_messages
WHERE id = $key OR message_id = $key
ORDER BY id = $key DESC, coalesce(last_death_at, first_death_at) DESC, id
LIMIT 2;
