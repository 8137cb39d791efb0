-- The spans of all the order's traces, stitched into one timeline (asynchronous hops included):
-- the spans that name the order, and every span of a trace the order touched. Two scans, each
-- with its own filter: the first pruned by the order id's zone maps, the second by the traces'
-- time window (order_trace_window.sql), since trace ids are random and prune nothing.
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id
FROM (
    SELECT * FROM spans WHERE order_id = $order_id
    UNION
    SELECT * FROM spans
    WHERE start_time BETWEEN $first_start AND $last_start AND trace_id = ANY($trace_ids)
    UNION
    SELECT * FROM spans WHERE $untimed AND start_time IS NULL AND trace_id = ANY($trace_ids)
)
ORDER BY start_time, trace_id, span_id
LIMIT $limit;
