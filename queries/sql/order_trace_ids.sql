-- Every trace the order touched: named by its events, its spans and its dead letters.
SELECT DISTINCT trace_id FROM (
    SELECT trace_id FROM events WHERE order_id = $order_id
    UNION ALL SELECT trace_id FROM spans WHERE order_id = $order_id
    UNION ALL SELECT trace_id FROM dlq_messages WHERE order_id = $order_id
)
WHERE trace_id IS NOT NULL
ORDER BY trace_id;
