-- The spans of all the order's traces, stitched into one timeline (asynchronous hops included):
-- the spans that name the order, and every span of a trace the order touched. Two scans, each
-- with its own filter, so that DuckDB prunes by the order id's zone maps in the first.
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id
FROM (
    SELECT * FROM spans WHERE order_id = $order_id
    UNION
    SELECT * FROM spans WHERE list_contains($trace_ids, trace_id)
)
ORDER BY start_time, trace_id, span_id
LIMIT $limit;
