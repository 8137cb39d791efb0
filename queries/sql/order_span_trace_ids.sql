-- The traces whose spans name the order (its events and dead letters name the others).
SELECT DISTINCT trace_id FROM spans WHERE order_id = $order_id AND trace_id IS NOT NULL;
