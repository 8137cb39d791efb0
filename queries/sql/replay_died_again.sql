-- Dead letters (not in the replayed set) carrying one of these message ids: a replay died again.
SELECT message_id FROM dlq_messages
WHERE list_contains($message_ids, message_id) AND NOT list_contains($ids, id) AND status = 'dead'
ORDER BY message_id
LIMIT 1;
