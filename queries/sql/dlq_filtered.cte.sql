-- Dead letters matching the list filters (status, failure group, queue, order).
filtered AS (
    SELECT * FROM dlq_messages
    WHERE ($statuses IS NULL OR list_contains($statuses, status))
      AND ($group IS NULL OR fingerprint = $group)
      AND ($queue IS NULL OR queue = $queue OR original_queue = $queue)
      AND ($order_id IS NULL OR order_id = $order_id)
)
