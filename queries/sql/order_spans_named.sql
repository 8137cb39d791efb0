-- The spans that name the order (pruned by the order id's zone maps); their traces are the order's.
SELECT trace_id, span_id, parent_span_id, service, name, kind, start_time, end_time, duration_ms,
       status_code, status_message, message_id, ingest_id
FROM spans
WHERE order_id = $order_id;
