-- The spans of all the order's traces, stitched into one timeline (asynchronous hops included).
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id
FROM spans
WHERE trace_id IN (SELECT unnest($trace_ids)) OR order_id = $order_id
ORDER BY start_time, trace_id, span_id
LIMIT $limit;
