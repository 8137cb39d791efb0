-- Which canonical states each of these orders reached (for the state-aware dry run).
SELECT order_id, state, first_at
FROM order_states
WHERE list_contains($order_ids, order_id)
ORDER BY order_id, first_at, state;
