-- Dead letters to replay, by id or message id, or a whole failure group still dead.
SELECT id, broker, vhost, queue, original_exchange, original_routing_key, original_queue,
       message_id, order_id, content_type, properties, headers, body, body_sha256, status,
       fingerprint AS "group", death_count, first_death_at, last_death_at, trace_id
FROM dlq_messages
WHERE (list_contains($keys, id) OR list_contains($keys, message_id))
   OR ($group IS NOT NULL AND fingerprint = $group AND status = 'dead')
ORDER BY coalesce(first_death_at, last_death_at), id;
