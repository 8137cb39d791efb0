-- For each candidate, a newer dead letter for the same order (and SKU, when both carry one) bound
-- for the same destination: replaying the older one after it would move the order backwards.
SELECT old.id, arg_max(newer.id, newer.first_death_at) AS newer_id
FROM dlq_messages AS old
JOIN dlq_messages AS newer
  ON newer.order_id = old.order_id
 AND newer.id <> old.id
 AND coalesce(newer.original_routing_key, newer.queue) = coalesce(old.original_routing_key, old.queue)
 AND newer.first_death_at > old.first_death_at
 AND coalesce(json_extract_string(newer.headers, '$."x-sku"'), '') =
     coalesce(json_extract_string(old.headers, '$."x-sku"'), '')
WHERE list_contains($ids, old.id) AND old.order_id IS NOT NULL
GROUP BY old.id
ORDER BY old.id;
